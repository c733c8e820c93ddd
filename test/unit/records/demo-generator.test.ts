import { describe, expect, it } from 'vitest';
import type { RecordByType } from '../../../src/records/archive-record.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords, type GenerateRecordsOptions } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';

const DAY_MS = 86_400_000;
const FROM = new Date('2024-05-01T00:00:00.000Z');

function collect<T extends RecordType>(type: T, overrides: Partial<GenerateRecordsOptions<T>> = {}): RecordByType[T][] {
  return [...generateRecords({ seed: 42, tenantId: 'acme-co', type, from: FROM, to: new Date(FROM.getTime() + DAY_MS), ...overrides })];
}

describe('generateRecords', () => {
  it.each([
    [1, 'call-logs'],
    [1, 'chats'],
    [1, 'contacts'],
    ['alpha', 'call-logs'],
    ['alpha', 'chats'],
    ['alpha', 'contacts'],
    [987_654_321, 'call-logs'],
    [987_654_321, 'chats'],
    [987_654_321, 'contacts'],
  ] as const)('seed %j: every %s record validates and survives parsing unchanged', (seed, type) => {
    const records = collect(type, { seed, ratesPerHour: { 'call-logs': 120, chats: 60, contacts: 60 } });
    expect(records.length).toBeGreaterThanOrEqual(1400);
    for (const record of records) {
      const result = parseRecord(type, record);
      if (!result.ok) expect.fail(`${record.id}: ${result.issues.map((issue) => issue.message).join('; ')}`);
      expect(result.record).toEqual(record);
    }
  });

  it.each(RECORD_TYPES)('gives the same %s byte for byte for the same seed, and different ones for another', (type) => {
    const first = JSON.stringify(collect(type));
    expect(JSON.stringify(collect(type))).toBe(first);
    expect(JSON.stringify(collect(type, { seed: '42' }))).toBe(first);
    expect(JSON.stringify(collect(type, { seed: 43 }))).not.toBe(first);
  });

  it.each([
    ['call-logs', 120, 1_234_567],
    ['chats', 60, 3 * 3_600_000],
    ['contacts', 7, 5 * 3_600_000 + 1],
    ['call-logs', 3_600_000, 10],
    ['chats', 0.5, 2 * DAY_MS + 17],
  ] as const)('%s at %d/h: [a, c) equals [a, b) then [b, c) (b = a + %d ms)', (type, rate, offset) => {
    const a = FROM;
    const b = new Date(a.getTime() + offset);
    const c = new Date(a.getTime() + (rate >= 1000 ? 40 : rate >= 60 ? DAY_MS : 3 * DAY_MS));
    const window = (from: Date, to: Date) => [...generateRecords({ seed: 9, tenantId: 'acme-co', type, from, to, ratesPerHour: { [type]: rate } })];
    const whole = window(a, c);
    expect(whole.length).toBeGreaterThan(10);
    expect(JSON.stringify([...window(a, b), ...window(b, c)])).toBe(JSON.stringify(whole));
  });

  it('splits a window into many pieces without losing or repeating a record', () => {
    const to = new Date(FROM.getTime() + 6 * 3_600_000);
    const whole = collect('call-logs', { to }).map((record) => record.id);
    const pieces: string[] = [];
    for (let start = FROM.getTime(); start < to.getTime(); start += 777_777) {
      const end = Math.min(start + 777_777, to.getTime());
      for (const record of generateRecords({ seed: 42, tenantId: 'acme-co', type: 'call-logs', from: new Date(start), to: new Date(end) })) {
        pieces.push(record.id);
      }
    }
    expect(pieces).toEqual(whole);
  });

  it.each(RECORD_TYPES)('orders %s strictly by updatedAt, all inside the window', (type) => {
    const to = new Date(FROM.getTime() + DAY_MS);
    const stamps = collect(type, { to }).map((record) => record.updatedAt);
    expect(stamps.length).toBeGreaterThan(100);
    for (let index = 1; index < stamps.length; index += 1) {
      expect((stamps[index] as string) > (stamps[index - 1] as string)).toBe(true);
    }
    expect((stamps[0] as string) >= FROM.toISOString()).toBe(true);
    expect((stamps.at(-1) as string) < to.toISOString()).toBe(true);
  });

  it.each(RECORD_TYPES)('gives every %s a unique id', (type) => {
    const ids = collect(type).map((record) => record.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps ids unique across types', () => {
    const ids = RECORD_TYPES.flatMap((type) => collect(type).map((record) => record.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(['call-logs', 'contacts'] as const)('updates a share of %s after creation, none when updatedShare is 0', (type) => {
    const records = collect(type, { ratesPerHour: { [type]: 120 } });
    const updated = records.filter((record) => record.updatedAt > record.createdAt).length / records.length;
    expect(updated).toBeGreaterThan(0.15);
    expect(updated).toBeLessThan(0.35);
    const none = collect(type, { updatedShare: 0 });
    expect(none.every((record) => record.updatedAt === record.createdAt)).toBe(true);
  });

  it('writes transcripts of 1 to 200 messages, short and long, with unicode and emoji', () => {
    const chats: Chat[] = collect('chats', { to: new Date(FROM.getTime() + 3 * DAY_MS) });
    const lengths = chats.map((chat) => chat.messages.length);
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(200);
    expect(lengths.some((length) => length <= 3)).toBe(true);
    expect(lengths.some((length) => length > 100)).toBe(true);
    const text = chats.flatMap((chat) => chat.messages.map((message) => message.text ?? '')).join('\n');
    for (const script of [
      /\p{Script=Han}/u,
      /\p{Script=Hiragana}/u,
      /\p{Script=Arabic}/u,
      /\p{Script=Cyrillic}/u,
      /\p{Script=Hangul}/u,
      /\p{Script=Thai}/u,
      /\p{Extended_Pictographic}/u,
    ]) {
      expect(text).toMatch(script);
    }
    expect(chats.some((chat) => chat.messages.some((message) => message.type === 'attachment'))).toBe(true);
    expect(new Set(chats.map((chat) => chat.channel)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(chats.map((chat) => chat.status))).toEqual(new Set(['open', 'pending', 'closed', 'missed']));
  });

  it('makes call logs with every outcome, queues, transfers and recordings', () => {
    const calls: CallLog[] = collect('call-logs');
    expect(new Set(calls.map((call) => call.outcome))).toEqual(new Set(['answered', 'missed', 'abandoned', 'voicemail', 'failed']));
    expect(new Set(calls.map((call) => call.direction))).toEqual(new Set(['inbound', 'outbound', 'internal']));
    expect(calls.some((call) => call.transfer !== undefined)).toBe(true);
    expect(calls.some((call) => call.queue !== undefined && call.queue.waitSec > 0)).toBe(true);
    expect(calls.some((call) => call.recordings.length > 0)).toBe(true);
    expect(calls.every((call) => call.recordings.every((recording) => !recording.uri.startsWith('data:')))).toBe(true);
  });

  it('invents multilingual contacts with numbers from many countries and several emails and phones', () => {
    const contacts: Contact[] = collect('contacts', { ratesPerHour: { contacts: 200 } });
    const names = contacts.map((contact) => contact.displayName).join('\n');
    for (const script of [/\p{Script=Han}/u, /\p{Script=Arabic}/u, /\p{Script=Devanagari}/u, /\p{Script=Hebrew}/u, /[À-ž]/u]) {
      expect(names).toMatch(script);
    }
    const callingCodes = new Set(contacts.flatMap((contact) => contact.phones.map((phone) => phone.e164.slice(0, 3))));
    for (const prefix of ['+1', '+44', '+81', '+55', '+96', '+86', '+91', '+49']) {
      expect([...callingCodes].some((code) => code.startsWith(prefix))).toBe(true);
    }
    expect(contacts.some((contact) => contact.emails.length >= 2 && contact.phones.length >= 2)).toBe(true);
    expect(contacts.some((contact) => contact.deletedAt !== undefined)).toBe(true);
    expect(contacts.some((contact) => contact.mergedInto !== undefined)).toBe(true);
  });

  it('references contacts that the contact stream generates with the same number and name', () => {
    // Calls reference contacts up to ~17 days before the call; calls updated later happened up to 30 days earlier.
    const rates = { 'call-logs': 120, chats: 60, contacts: 12 };
    const callStart = new Date(FROM.getTime() + 50 * DAY_MS);
    const contacts = new Map(
      [...generateRecords({ seed: 5, tenantId: 'acme-co', type: 'contacts', from: FROM, to: callStart, ratesPerHour: rates })].map((contact) => [
        contact.id,
        contact,
      ]),
    );
    const calls = [
      ...generateRecords({
        seed: 5,
        tenantId: 'acme-co',
        type: 'call-logs',
        from: callStart,
        to: new Date(callStart.getTime() + 3_600_000),
        ratesPerHour: rates,
      }),
    ];
    const parties = calls.flatMap((call) => [call.from, call.to]).filter((party) => party.contactId !== undefined);
    expect(parties.length).toBeGreaterThan(20);
    for (const party of parties) {
      const contact = contacts.get(party.contactId as string);
      expect(contact, party.contactId).toBeDefined();
      expect(contact?.phones[0]?.e164).toBe(party.e164);
      expect(contact?.displayName).toBe(party.displayName);
      expect((contact?.updatedAt ?? '') < callStart.toISOString()).toBe(true);
    }
  });

  it('writes the tenant id into every record', () => {
    expect(collect('chats', { tenantId: 'other-tenant' }).every((chat) => chat.tenantId === 'other-tenant')).toBe(true);
  });

  it('yields nothing for an empty window', () => {
    expect(collect('call-logs', { to: FROM })).toEqual([]);
  });

  it.each([
    ['a bad tenant id', { tenantId: '../x' }],
    ['from after to', { to: new Date(FROM.getTime() - 1) }],
    ['an invalid date', { from: new Date('nope') }],
    ['a zero rate', { ratesPerHour: { 'call-logs': 0 } }],
    ['a rate above one per millisecond', { ratesPerHour: { contacts: 3_600_001 } }],
    ['a rate that is not a number', { ratesPerHour: { chats: Number.NaN } }],
    ['an updatedShare above 1', { updatedShare: 1.5 }],
    ['an unknown type', { type: 'faxes' as 'call-logs' }],
  ] as const)('refuses %s with ERR_DEMO_OPTIONS_INVALID at the call', (_label, overrides) => {
    expect(() => generateRecords({ seed: 1, tenantId: 'acme-co', type: 'call-logs', from: FROM, to: new Date(FROM.getTime() + DAY_MS), ...overrides })).toThrow(
      expect.objectContaining({ code: 'ERR_DEMO_OPTIONS_INVALID' }),
    );
  });
});
