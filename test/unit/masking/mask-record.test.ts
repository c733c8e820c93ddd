import { describe, expect, it } from 'vitest';
import { callingCodeOf } from '../../../src/masking/calling-codes.js';
import { maskPage, maskRecord, type MaskableType } from '../../../src/masking/mask-record.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { validCallLog, validChat, validContact } from '../records/record-fixtures.js';

const MASKED = { unmasked: false };

/** Every E.164 number and email address anywhere in a value. */
function personalData(value: unknown): { numbers: string[]; emails: string[] } {
  const json = JSON.stringify(value);
  return { numbers: json.match(/\+[1-9]\d{7,14}/g) ?? [], emails: json.match(/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu) ?? [] };
}

function expectNoneSurvives(original: unknown, masked: unknown): void {
  const json = JSON.stringify(masked);
  const { numbers, emails } = personalData(original);
  for (const number of numbers) {
    const digits = number.slice(1);
    const hidden = digits.slice(callingCodeOf(digits).length, -2);
    expect(json).not.toContain(hidden);
  }
  for (const email of emails) {
    expect(json).not.toContain(email);
    const local = email.slice(0, email.lastIndexOf('@'));
    if (local.length > 3) expect(json).not.toContain(local);
  }
  expect(personalData(masked)).toEqual({ numbers: [], emails: [] });
}

describe('maskRecord', () => {
  it.each(RECORD_TYPES)('returns %s itself when unmasked, and never changes its input', (type) => {
    const record = { 'call-logs': validCallLog, chats: validChat, contacts: validContact }[type]();
    const before = structuredClone(record);
    const shown = maskRecord(type, record, { unmasked: true });
    expect(shown).toBe(record);
    expect(record).toEqual(before);
    maskRecord(type, record, MASKED);
    expect(record).toEqual(before);
  });

  it('masks the numbers and free text of a call log, keeping ids and references', () => {
    const call: CallLog = {
      ...validCallLog(),
      from: { e164: '+819012345678', displayName: '+81 90 1234 5678', contactId: 'contact-0001' },
      transfer: { toE164: '+12125550191', type: 'warm' },
      notes: 'call back on 0171 2345678 or mail a.b@example.com',
      attributes: { ivr: { lastInput: 'sato@example.jp' }, digits: ['+44 20 7946 0958'] },
    };
    const masked = maskRecord('call-logs', call, MASKED);
    expect(masked.from).toEqual({ e164: '+81 ••• ••• ••78', displayName: '+81 ••• ••• ••78', contactId: 'contact-0001' });
    expect(masked.to.e164).toBe('+1 ••• ••• ••91');
    expect(masked.callerId).toBe('+81 ••• ••• ••78');
    expect(masked.transfer?.toE164).toBe('+1 ••• ••• ••91');
    expect(masked.notes).toBe('call back on ••• ••• ••78 or mail a•••@e•••.com');
    expect(masked.attributes).toEqual({ ivr: { lastInput: 's•••@e•••.jp' }, digits: ['+44 ••• ••• ••58'] });
    expect(masked.recordings).toEqual(call.recordings);
    expect(masked.agents).toEqual(call.agents);
    expect(masked.id).toBe(call.id);
    expectNoneSurvives(call, masked);
  });

  it('masks participants, visitor and message texts of a chat', () => {
    const chat: Chat = validChat();
    chat.visitor = { name: 'joao@example.com', location: 'São Paulo, BR' };
    (chat.participants[0] as Chat['participants'][number]).displayName = '+55 11 91234-5678';
    chat.messages.push({
      id: 'm5',
      seq: 7,
      sentAt: '2024-05-01T10:04:00.000Z',
      senderId: 'p1',
      senderRole: 'customer',
      type: 'text',
      text: 'Meu número é +55 11 91234-5678 e o email joao.silva@exemplo.com.br; o outro 011 3456-7890',
      attachments: [],
    });
    const masked = maskRecord('chats', chat, MASKED);
    expect(masked.visitor.name).toBe('j•••@e•••.com');
    expect(masked.participants[0]?.displayName).toBe('+55 ••• ••• ••78');
    expect(masked.participants[1]?.displayName).toBe('Ana');
    expect(masked.messages.at(-1)?.text).toBe('Meu número é +55 ••• ••• ••78 e o email j•••@e•••.br; o outro ••• ••• ••90');
    expect(masked.messages[0]?.text).toBe('Oi! 👋');
    expectNoneSurvives(chat, masked);
  });

  it('masks a single transcript message', () => {
    const message = { chatId: 'chat-1', ...validChat().messages[0], text: 'ring me: +33 6 12 34 56 78' } as Chat['messages'][number] & { chatId: string };
    expect(maskRecord('chat-messages', message, MASKED).text).toBe('ring me: +33 ••• ••• ••78');
  });

  it('masks emails, phones, handles, external ids and custom fields of a contact', () => {
    const contact: Contact = {
      ...validContact(),
      social: [
        { network: 'twitter', handle: '@m_alotaibi' },
        { network: 'whatsapp', handle: '+966 51 234 5678' },
        { network: 'other', handle: 'mobile.owner@example.org' },
      ],
      externalIds: { crm: 'CRM-123456', whatsapp: '+966512345678' },
      customFields: { tier: 'gold', backupEmail: 'mo.backup@example.org', score: 12345678 },
    };
    const masked = maskRecord('contacts', contact, MASKED);
    expect(masked.emails).toEqual([
      { type: 'work', value: 'm•••@e•••.com' },
      { type: 'home', value: 'm•••@e•••.net' },
    ]);
    expect(masked.phones).toEqual([
      { type: 'mobile', e164: '+966 ••• ••• ••78' },
      { type: 'work', e164: '+1 ••• ••• ••00' },
    ]);
    expect(masked.social.map((s) => s.handle)).toEqual(['@•••', '+966 ••• ••• ••78', 'm•••@e•••.org']);
    expect(masked.externalIds).toEqual({ crm: 'CRM-123456', whatsapp: '+966 ••• ••• ••78' });
    expect(masked.customFields).toEqual({ tier: 'gold', backupEmail: 'm•••@e•••.org', score: 12345678 });
    expect(masked.displayName).toBe(contact.displayName);
    expectNoneSurvives(contact, masked);
  });

  it.each(RECORD_TYPES)('leaves no number or address of generated %s records', (type) => {
    const records = [
      ...generateRecords({
        seed: 11,
        tenantId: 'acme',
        type,
        from: new Date('2026-05-04T08:00:00Z'),
        to: new Date('2026-05-04T14:00:00Z'),
        ratesPerHour: { [type]: 20 },
      }),
    ];
    expect(records.length).toBeGreaterThan(50);
    for (const record of records) expectNoneSurvives(record, maskRecord(type as MaskableType, record as never, MASKED));
  });

  it('masks every item of a page and keeps its cursor', () => {
    const page = maskPage('contacts', { items: [validContact(), validContact()], nextCursor: 'abc' }, MASKED);
    expect(page.nextCursor).toBe('abc');
    expect(page.items.map((c) => c.phones[0]?.e164)).toEqual(['+966 ••• ••• ••78', '+966 ••• ••• ••78']);
  });
});
