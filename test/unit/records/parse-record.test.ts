import { describe, expect, it } from 'vitest';
import { RECORD_SCHEMAS } from '../../../src/records/archive-record.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import { formatIssuePath } from '../../../src/records/record-issue-path.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { REMOVE, validCallLog, validChat, validContact, withChanges } from './record-fixtures.js';

const VALID: Record<RecordType, () => object> = {
  'call-logs': validCallLog,
  chats: validChat,
  contacts: validContact,
};

type Row = [type: RecordType, label: string, path: string, changes: [(string | number)[], unknown][]];

const INVALID_ROWS: Row[] = [
  ['call-logs', 'E.164 without +', 'from.e164', [[['from', 'e164'], '12125550100']]],
  ['call-logs', 'E.164 too long', 'to.e164', [[['to', 'e164'], '+1234567890123456']]],
  ['call-logs', 'E.164 too short', 'to.e164', [[['to', 'e164'], '+1234567']]],
  ['call-logs', 'E.164 country code 0', 'callerId', [[['callerId'], '+0123456789']]],
  ['call-logs', 'impossible calendar date', 'startedAt', [[['startedAt'], '2024-02-30T10:00:00Z']]],
  ['call-logs', 'timestamp with an offset instead of Z', 'createdAt', [[['createdAt'], '2024-05-01T12:05:01+02:00']]],
  ['call-logs', 'timestamp without time', 'endedAt', [[['endedAt'], '2024-05-01']]],
  ['call-logs', 'updatedAt before createdAt', 'updatedAt', [[['updatedAt'], '2024-05-01T10:05:00.999Z']]],
  ['call-logs', 'unknown outcome', 'outcome', [[['outcome'], 'exploded']]],
  ['call-logs', 'unknown direction', 'direction', [[['direction'], 'sideways']]],
  ['call-logs', 'negative talk seconds', 'agents[0].talkSec', [[['agents', 0, 'talkSec'], -1]]],
  ['call-logs', 'negative queue wait', 'queue.waitSec', [[['queue', 'waitSec'], -3]]],
  ['call-logs', 'seconds as a string', 'durationSec', [[['durationSec'], '300']]],
  [
    'call-logs',
    'endedAt before startedAt',
    'endedAt',
    [
      [['endedAt'], '2024-05-01T09:59:59.000Z'],
      [['answeredAt'], '2024-05-01T09:59:59.000Z'],
    ],
  ],
  ['call-logs', 'answeredAt on a missed call', 'answeredAt', [[['outcome'], 'missed']]],
  ['call-logs', 'answered call without answeredAt', 'answeredAt', [[['answeredAt'], REMOVE]]],
  ['call-logs', 'answeredAt after endedAt', 'answeredAt', [[['answeredAt'], '2024-05-01T10:06:00.000Z']]],
  ['call-logs', 'sha256 not 64 hex', 'recordings[0].sha256', [[['recordings', 0, 'sha256'], 'abc']]],
  ['call-logs', 'recording uri not a URI', 'recordings[0].uri', [[['recordings', 0, 'uri'], 'recording.wav']]],
  ['call-logs', 'wrong schemaVersion', 'schemaVersion', [[['schemaVersion'], 2]]],
  ['call-logs', 'tenantId with ..', 'tenantId', [[['tenantId'], 'acme..co']]],
  ['call-logs', 'tenantId with a slash', 'tenantId', [[['tenantId'], '../acme']]],
  ['call-logs', 'tenantId upper case', 'tenantId', [[['tenantId'], 'ACME']]],
  ['call-logs', 'missing id', 'id', [[['id'], REMOVE]]],
  ['call-logs', 'empty id', 'id', [[['id'], '']]],
  ['call-logs', 'id too long', 'id', [[['id'], 'x'.repeat(201)]]],
  ['call-logs', 'unknown field in an agent', 'agents[0].skill', [[['agents', 0, 'skill'], 'sales']]],
  ['call-logs', 'party with contactId and staffId', 'from.staffId', [[['from', 'staffId'], 'staff-001']]],
  ['call-logs', 'transfer without a target', 'transfer.toE164', [[['transfer', 'toQueueId'], REMOVE]]],
  ['call-logs', 'too many tags', 'tags', [[['tags'], Array.from({ length: 51 }, (_, index) => `t${index}`)]]],
  ['call-logs', 'tag too long', 'tags[0]', [[['tags', 0], 'x'.repeat(65)]]],
  ['call-logs', 'attributes not an object', 'attributes', [[['attributes'], 'nope']]],
  ['chats', 'senderId not a participant', 'messages[3].senderId', [[['messages', 3, 'senderId'], 'p9']]],
  ['chats', 'senderRole differs from the participant role', 'messages[0].senderRole', [[['messages', 0, 'senderRole'], 'agent']]],
  ['chats', 'seq not strictly increasing', 'messages[3].seq', [[['messages', 3, 'seq'], 5]]],
  ['chats', 'negative seq', 'messages[0].seq', [[['messages', 0, 'seq'], -1]]],
  ['chats', 'duplicate message id', 'messages[1].id', [[['messages', 1, 'id'], 'm1']]],
  ['chats', 'message before startedAt', 'messages[0].sentAt', [[['messages', 0, 'sentAt'], '2024-05-01T09:59:59.000Z']]],
  ['chats', 'text message without text', 'messages[0].text', [[['messages', 0, 'text'], REMOVE]]],
  ['chats', 'attachment message without attachments', 'messages[2].attachments', [[['messages', 2, 'attachments'], []]]],
  ['chats', 'event message without event', 'messages[1].event', [[['messages', 1, 'event'], REMOVE]]],
  ['chats', 'unknown event kind', 'messages[1].event.kind', [[['messages', 1, 'event', 'kind'], 'exploded']]],
  ['chats', 'bad attachment MIME type', 'messages[2].attachments[0].mimeType', [[['messages', 2, 'attachments', 0, 'mimeType'], 'jpeg']]],
  ['chats', 'rating above 5', 'rating', [[['rating'], 6]]],
  ['chats', 'rating not whole', 'rating', [[['rating'], 4.5]]],
  ['chats', 'unknown channel', 'channel', [[['channel'], 'carrier-pigeon']]],
  ['chats', 'unknown status', 'status', [[['status'], 'exploded']]],
  ['chats', 'closed chat without closedAt', 'closedAt', [[['closedAt'], REMOVE]]],
  ['chats', 'open chat with closedAt', 'closedAt', [[['status'], 'open']]],
  ['chats', 'duplicate participant id', 'participants[2].id', [[['participants', 2, 'id'], 'p2']]],
  [
    'chats',
    'no participants',
    'participants',
    [
      [['participants'], []],
      [['messages'], []],
    ],
  ],
  ['chats', 'participant left before joining', 'participants[1].leftAt', [[['participants', 1, 'leftAt'], '2024-05-01T10:00:30.000Z']]],
  ['chats', 'unknown participant role', 'participants[0].role', [[['participants', 0, 'role'], 'ghost']]],
  ['chats', 'bad visitor locale', 'visitor.locale', [[['visitor', 'locale'], 'not a locale']]],
  ['chats', 'wrong schemaVersion', 'schemaVersion', [[['schemaVersion'], '1']]],
  ['contacts', 'bad email', 'emails[0].value', [[['emails', 0, 'value'], 'not-an-email']]],
  ['contacts', 'email without domain dot', 'emails[1].value', [[['emails', 1, 'value'], 'mohammed@localhost']]],
  ['contacts', 'unknown email type', 'emails[0].type', [[['emails', 0, 'type'], 'pager']]],
  ['contacts', 'bad phone', 'phones[1].e164', [[['phones', 1, 'e164'], '+1 212 555 0100']]],
  ['contacts', 'unknown IANA time zone', 'timezone', [[['timezone'], 'Mars/Olympus_Mons']]],
  ['contacts', 'offset instead of an IANA zone', 'timezone', [[['timezone'], '+02:00']]],
  ['contacts', 'bad BCP 47 language', 'language', [[['language'], 'english!']]],
  ['contacts', 'lower-case country code', 'address.country', [[['address', 'country'], 'sa']]],
  ['contacts', 'custom field holding an object', 'customFields.tier', [[['customFields', 'tier'], { level: 'gold' }]]],
  ['contacts', 'custom field key with a space', 'customFields["bad key"]', [[['customFields', 'bad key'], 1]]],
  ['contacts', 'mergedInto itself', 'mergedInto', [[['mergedInto'], 'contact-0001']]],
  ['contacts', 'deletedAt after updatedAt', 'deletedAt', [[['deletedAt'], '2024-05-02T08:00:00.000Z']]],
  ['contacts', 'deletedAt before createdAt', 'deletedAt', [[['deletedAt'], '2024-03-01T08:00:00.000Z']]],
  ['contacts', 'missing displayName', 'displayName', [[['displayName'], REMOVE]]],
  ['contacts', 'unknown social network', 'social[0].network', [[['social', 0, 'network'], 'myspace']]],
  [
    'contacts',
    'updatedAt before createdAt',
    'updatedAt',
    [
      [['createdAt'], '2024-06-01T08:00:00.000Z'],
      [['deletedAt'], REMOVE],
    ],
  ],
  ['contacts', 'tenantId too short', 'tenantId', [[['tenantId'], 'ab']]],
];

describe('parseRecord', () => {
  it.each(Object.keys(VALID) as RecordType[])('accepts the valid %s fixture unchanged', (type) => {
    const record = VALID[type]();
    expect(parseRecord(type, record)).toEqual({ ok: true, record });
  });

  it.each(INVALID_ROWS)('%s: rejects %s with an issue at %s', (type, _label, path, changes) => {
    const result = parseRecord(type, withChanges(VALID[type](), changes));
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    const issue = issues.find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message.startsWith(`${path}: `)).toBe(true);
  });

  it('says "is required" for a missing field', () => {
    const result = parseRecord('contacts', withChanges(validContact(), [[['displayName'], REMOVE]]));
    expect(result).toEqual({ ok: false, issues: [{ path: 'displayName', message: 'displayName: is required' }] });
  });

  it('moves unknown top-level fields into attributes, keeping the ones already there', () => {
    const raw = { ...validCallLog(), attributes: { region: 'eu-west-1' }, crmCaseId: 'CASE-9', sentiment: { score: 0.8 } };
    const result = parseRecord('call-logs', raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.record.attributes).toEqual({ region: 'eu-west-1', crmCaseId: 'CASE-9', sentiment: { score: 0.8 } });
    expect(result.record).not.toHaveProperty('crmCaseId');
  });

  it('creates attributes for unknown fields when the record has none', () => {
    const raw: Record<string, unknown> = { ...validContact(), loyaltyId: 'L-1' };
    delete raw['attributes'];
    const result = parseRecord('contacts', raw);
    expect(result.ok && result.record.attributes).toEqual({ loyaltyId: 'L-1' });
  });

  it('fills defaults for omitted arrays and maps', () => {
    const raw = withChanges(validContact(), [
      [['emails'], REMOVE],
      [['tags'], REMOVE],
      [['customFields'], REMOVE],
      [['attributes'], REMOVE],
    ]);
    const result = parseRecord('contacts', raw);
    expect(result.ok).toBe(true);
    if (result.ok) expect([result.record.emails, result.record.tags, result.record.customFields, result.record.attributes]).toEqual([[], [], {}, {}]);
  });

  it('refuses an unknown field whose name already exists in attributes rather than dropping either value', () => {
    const raw = { ...validChat(), attributes: { source: 'a' }, source: 'b' };
    expect(parseRecord('chats', raw)).toEqual({
      ok: false,
      issues: [{ path: 'attributes.source', message: expect.stringMatching(/^attributes\.source: .*"source"/) }],
    });
  });

  it('refuses a __proto__ key instead of losing it', () => {
    const raw: unknown = JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(validContact()).slice(1)}`);
    const result = parseRecord('contacts', raw);
    expect(result.ok ? [] : result.issues.map((issue) => issue.path)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([null, 'text', 42, [validContact()], undefined])('refuses %j as not a JSON object', (raw) => {
    expect(parseRecord('contacts', raw)).toEqual({
      ok: false,
      issues: [{ path: '(record)', message: '(record): must be a JSON object' }],
    });
  });

  it('reports every bad field of a record, not just the first', () => {
    const raw = withChanges(validCallLog(), [
      [['outcome'], 'x'],
      [['agents', 0, 'holdSec'], -1],
      [['tenantId'], 'A'],
    ]);
    const result = parseRecord('call-logs', raw);
    expect(result.ok ? [] : result.issues.map((issue) => issue.path).sort()).toEqual(['agents[0].holdSec', 'outcome', 'tenantId']);
  });

  it('exposes the schema of every record type', () => {
    expect(Object.keys(RECORD_SCHEMAS).sort()).toEqual(['call-logs', 'chats', 'contacts']);
    expect(RECORD_SCHEMAS.chats.safeParse(validChat()).success).toBe(true);
    expect(RECORD_SCHEMAS.chats.safeParse({ ...validChat(), extra: 1 }).success).toBe(false);
  });
});

describe('formatIssuePath', () => {
  it.each([
    [[], '(record)'],
    [['id'], 'id'],
    [['agents', 0, 'talkSec'], 'agents[0].talkSec'],
    [['customFields', 'a b'], 'customFields["a b"]'],
    [['messages', 12, 'attachments', 0, 'uri'], 'messages[12].attachments[0].uri'],
  ] as const)('renders %j as %s', (path, text) => {
    expect(formatIssuePath(path)).toBe(text);
  });
});
