import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';

/** A complete, valid call log; each call returns a fresh copy. */
export function validCallLog(): CallLog {
  return {
    id: 'call-0001',
    tenantId: 'acme-co',
    createdAt: '2024-05-01T10:05:01.000Z',
    updatedAt: '2024-05-01T10:05:01.000Z',
    schemaVersion: 1,
    attributes: {},
    direction: 'inbound',
    initiation: 'inbound',
    from: { e164: '+819012345678', displayName: '佐藤 陽菜', contactId: 'contact-0001' },
    to: { e164: '+12125550191', displayName: 'Technical Support' },
    callerId: '+819012345678',
    queue: { id: 'q-support', name: 'Technical Support', waitSec: 20 },
    agents: [{ staffId: 'staff-001', name: 'Ana Silva', talkSec: 240, holdSec: 10, wrapUpSec: 30 }],
    startedAt: '2024-05-01T10:00:00.000Z',
    answeredAt: '2024-05-01T10:00:30.000Z',
    endedAt: '2024-05-01T10:05:00.000Z',
    durationSec: 300,
    ringSec: 10,
    outcome: 'answered',
    disconnectReason: 'customer-disconnect',
    transfer: { toQueueId: 'q-billing', type: 'warm' },
    wrapUpCode: 'resolved',
    recordings: [
      {
        id: 'rec-1',
        uri: 's3://recordings/acme-co/call-0001.wav',
        durationSec: 250,
        sizeBytes: 4_000_044,
        sha256: 'a'.repeat(64),
      },
    ],
    tags: ['vip'],
    notes: 'Customer asked for a callback 📞',
  };
}

/** A complete, valid chat with a customer, an agent and a system participant; fresh copy per call. */
export function validChat(): Chat {
  return {
    id: 'chat-0001',
    tenantId: 'acme-co',
    createdAt: '2024-05-01T10:00:00.000Z',
    updatedAt: '2024-05-01T10:10:00.000Z',
    schemaVersion: 1,
    attributes: {},
    channel: 'whatsapp',
    status: 'closed',
    visitor: { name: 'João Silva', locale: 'pt-BR', location: 'São Paulo, BR' },
    participants: [
      { id: 'p1', role: 'customer', contactId: 'contact-0001', displayName: 'João Silva', joinedAt: '2024-05-01T10:00:00.000Z' },
      { id: 'p2', role: 'agent', staffId: 'staff-001', displayName: 'Ana', joinedAt: '2024-05-01T10:01:00.000Z', leftAt: '2024-05-01T10:10:00.000Z' },
      { id: 'p0', role: 'system', displayName: 'System', joinedAt: '2024-05-01T10:01:00.000Z' },
    ],
    startedAt: '2024-05-01T10:00:00.000Z',
    closedAt: '2024-05-01T10:10:00.000Z',
    messages: [
      { id: 'm1', seq: 1, sentAt: '2024-05-01T10:00:05.000Z', senderId: 'p1', senderRole: 'customer', type: 'text', text: 'Oi! 👋', attachments: [] },
      {
        id: 'm2',
        seq: 2,
        sentAt: '2024-05-01T10:01:00.000Z',
        senderId: 'p0',
        senderRole: 'system',
        type: 'event',
        attachments: [],
        event: { kind: 'participant-joined', detail: 'Ana' },
      },
      {
        id: 'm3',
        seq: 5,
        sentAt: '2024-05-01T10:02:00.000Z',
        senderId: 'p1',
        senderRole: 'customer',
        type: 'attachment',
        attachments: [{ id: 'a1', name: 'foto.jpg', mimeType: 'image/jpeg', sizeBytes: 12_345, uri: 'https://files.example.com/a1' }],
      },
      {
        id: 'm4',
        seq: 6,
        sentAt: '2024-05-01T10:03:00.000Z',
        senderId: 'p2',
        senderRole: 'agent',
        type: 'text',
        text: 'Olá, como posso ajudar?',
        attachments: [],
      },
    ],
    tags: [],
    rating: 5,
  };
}

/** A complete, valid contact; fresh copy per call. */
export function validContact(): Contact {
  return {
    id: 'contact-0001',
    tenantId: 'acme-co',
    createdAt: '2024-04-01T08:00:00.000Z',
    updatedAt: '2024-05-01T08:00:00.000Z',
    schemaVersion: 1,
    attributes: {},
    displayName: 'محمد العتيبي',
    firstName: 'محمد',
    lastName: 'العتيبي',
    title: 'مدير المشتريات',
    organization: 'شركة النخيل للتجارة',
    emails: [
      { type: 'work', value: 'mohammed.alotaibi@example.com' },
      { type: 'home', value: 'mohammed@example.net' },
    ],
    phones: [
      { type: 'mobile', e164: '+966512345678' },
      { type: 'work', e164: '+12125550100' },
    ],
    address: { street: 'طريق الملك فهد 12', city: 'الرياض', region: 'منطقة الرياض', postalCode: '11564', country: 'SA' },
    timezone: 'Asia/Riyadh',
    language: 'ar-SA',
    social: [{ network: 'twitter', handle: '@m_alotaibi' }],
    externalIds: { crm: 'CRM-123456' },
    customFields: { tier: 'gold', lifetimeValue: 1234.5, vip: true, lastSurveyScore: null },
    tags: ['vip'],
    ownerStaffId: 'staff-007',
    deletedAt: '2024-05-01T08:00:00.000Z',
  };
}

/** Marks a field for removal in {@link withChanges}. */
export const REMOVE = Symbol('remove');

/** A deep copy of `record` with values set (or removed) at the given paths. */
export function withChanges(record: object, changes: readonly (readonly [path: readonly (string | number)[], value: unknown])[]): Record<string, unknown> {
  const copy = structuredClone(record) as Record<string, unknown>;
  for (const [path, value] of changes) {
    let node = copy as Record<string | number, unknown>;
    for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    if (value === REMOVE) delete node[last];
    else node[last] = value;
  }
  return copy;
}
