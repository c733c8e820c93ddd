import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { maskRecord } from '../../../src/masking/mask-record.js';
import { LIST_ROW_FIELDS } from '../../../src/store/archive/archive-list-rows.js';
import type { Page } from '../../../src/store/archive/archive-filters.js';
import { FULL_ARCHIVE_SCOPE, type ArchiveAccess } from '../../../src/store/archive/archive-scope.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { encodeCursor } from '../../../src/store/archive/keyset-cursor.js';
import { legacyTextWords, recordTextTokens, searchTextTokens } from '../../../src/store/archive/text-search-tokens.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const FROM = new Date('2026-05-04T08:00:00.000Z');
const TO = new Date('2026-05-04T12:00:00.000Z');
const A = 'query-a';
const B = 'query-b';
let harness: ImportHarness;
let calls: CallLog[];
let chats: Chat[];
let contacts: Contact[];

const gen = <T extends RecordType>(tenantId: string, type: T, perHour: number, seed = 5) => [
  ...generateRecords({ seed, tenantId, type, from: FROM, to: TO, ratesPerHour: { [type]: perHour, contacts: 10 } }),
];
const accessOf = (tenantId: string, types: readonly RecordType[] = FULL_ARCHIVE_SCOPE.types): ArchiveAccess => ({ tenantId, scope: { types } });
const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: { code?: string }) => err.code,
  );

async function load(tenantId: string, records: { type: RecordType; items: unknown[] }[]): Promise<void> {
  const writer = new ArchiveWriter(await harness.archiveDb(tenantId), tenantId, `${tenantId}/2026/05/04/manifest-test.json`);
  for (const { type, items } of records) for (const item of items) await writer.add(type, item as never);
  await writer.finish();
}

async function everyPage<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await fetch(cursor);
    items.push(...page.items);
    if (page.nextCursor === null) return items;
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}

const byTimeDesc = (a: { startedAt: string; id: string }, b: { startedAt: string; id: string }) =>
  Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
const ids = (items: { id: string }[]) => items.map((item) => item.id);

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
  await harness.setUpTenant(A);
  await harness.setUpTenant(B);
  calls = gen(A, 'call-logs', 40);
  chats = gen(A, 'chats', 12);
  contacts = gen(A, 'contacts', 10);
  await load(A, [
    { type: 'call-logs', items: calls },
    { type: 'chats', items: chats },
    { type: 'contacts', items: contacts },
  ]);
  await load(B, [
    { type: 'call-logs', items: [...gen(B, 'call-logs', 40, 6), { ...(calls[0] as CallLog), tenantId: B, notes: 'same id, tenant B' }] },
    { type: 'chats', items: gen(B, 'chats', 12, 6) },
    { type: 'contacts', items: gen(B, 'contacts', 10, 6) },
  ]);
  await harness.store.ensureIndexes(A);
});
afterAll(async () => {
  await harness?.close();
});

const searchedWords = (): string =>
  legacyTextWords(chats[2]?.messages.find((m) => m.text)?.text ?? '')
    .slice(0, 2)
    .join(' ');

describe('call-log queries', () => {
  const first = () => calls[0] as CallLog;
  const cases: [string, () => Record<string, unknown>, (c: CallLog) => boolean][] = [
    ['no filter', () => ({}), () => true],
    [
      'time range',
      () => ({ from: '2026-05-04T09:00:00Z', to: new Date('2026-05-04T10:30:00Z') }),
      (c) => Date.parse(c.startedAt) >= Date.parse('2026-05-04T09:00:00Z') && Date.parse(c.startedAt) < Date.parse('2026-05-04T10:30:00Z'),
    ],
    ['direction', () => ({ direction: 'outbound' }), (c) => c.direction === 'outbound'],
    ['outcome', () => ({ outcome: 'missed' }), (c) => c.outcome === 'missed'],
    [
      'agent',
      () => ({ agent: calls.find((c) => c.agents.length > 0)?.agents[0]?.staffId }),
      (c) => c.agents.some((a) => a.staffId === calls.find((x) => x.agents.length > 0)?.agents[0]?.staffId),
    ],
    ['queue', () => ({ queue: calls.find((c) => c.queue)?.queue?.id }), (c) => c.queue?.id === calls.find((x) => x.queue)?.queue?.id],
    ['tag', () => ({ tag: calls.find((c) => c.tags.length > 0)?.tags[0] }), (c) => c.tags.includes(calls.find((x) => x.tags.length > 0)?.tags[0] as string)],
    [
      'number prefix, typed with separators',
      () => ({ number: `${first().from.e164.slice(0, 3)} (${first().from.e164.slice(3, 6)}) ${first().from.e164.slice(6, 8)}` }),
      (c) => [c.from.e164, c.to.e164, c.callerId, c.transfer?.toE164].some((n) => n?.startsWith(first().from.e164.slice(0, 8))),
    ],
    [
      'number with 00',
      () => ({ number: `00${first().to.e164.slice(1)}` }),
      (c) => [c.from.e164, c.to.e164, c.callerId, c.transfer?.toE164].some((n) => n?.startsWith(first().to.e164)),
    ],
    ['two filters', () => ({ direction: 'inbound', outcome: 'answered' }), (c) => c.direction === 'inbound' && c.outcome === 'answered'],
  ];

  it.each(cases)('filters by %s, across pages, newest first', async (_name, filter, expected) => {
    const want = calls.filter(expected).sort(byTimeDesc);
    expect(want.length).toBeGreaterThan(0);
    const got = await everyPage((cursor) => harness.store.listCallLogs(accessOf(A), filter(), { limit: 7, ...(cursor ? { cursor } : {}) }));
    expect(ids(got)).toEqual(ids(want));
  });

  it('returns records as delivered', async () => {
    const call = calls[5] as CallLog;
    expect(await harness.store.getCallLog(accessOf(A), call.id)).toEqual(call);
    expect(await harness.store.getCallLog(accessOf(A), 'no-such-call')).toBeUndefined();
  });

  it('keeps pages stable while records are inserted before and after the cursor', async () => {
    const tenant = 'query-moving';
    await harness.setUpTenant(tenant);
    const all = gen(tenant, 'call-logs', 30, 9).sort(byTimeDesc);
    const newest = all.slice(0, 10);
    const rest = all.slice(10);
    const late = rest.filter((_c, i) => i % 3 === 0);
    const initial = [...newest, ...rest.filter((_c, i) => i % 3 !== 0)];
    await load(tenant, [{ type: 'call-logs', items: initial }]);
    const first = await harness.store.listCallLogs(accessOf(tenant), {}, { limit: 10 });
    expect(ids(first.items)).toEqual(ids(newest));
    const brandNew = {
      ...(all[0] as CallLog),
      id: 'call-inserted-later',
      startedAt: new Date(Date.parse((all[0] as CallLog).startedAt) + 60_000).toISOString(),
    };
    await load(tenant, [{ type: 'call-logs', items: [...late, brandNew] }]);
    const following = await everyPage((cursor) =>
      harness.store.listCallLogs(accessOf(tenant), {}, { limit: 10, cursor: cursor ?? (first.nextCursor as string) }),
    );
    expect(ids(following)).toEqual(ids(rest));
    expect(ids(following)).not.toContain('call-inserted-later');
  });
});

describe('chat queries and transcripts', () => {
  const cases: [string, () => Record<string, unknown>, (c: Chat) => boolean][] = [
    ['no filter', () => ({}), () => true],
    ['time range', () => ({ from: '2026-05-04T10:00:00Z' }), (c) => Date.parse(c.startedAt) >= Date.parse('2026-05-04T10:00:00Z')],
    ['channel', () => ({ channel: chats[0]?.channel }), (c) => c.channel === chats[0]?.channel],
    [
      'participant',
      () => ({ participant: chats[1]?.participants.find((p) => p.role === 'agent')?.staffId ?? chats[1]?.participants[0]?.id }),
      (c) =>
        c.participants.some((p) =>
          [p.id, p.staffId, p.contactId].includes(chats[1]?.participants.find((x) => x.role === 'agent')?.staffId ?? chats[1]?.participants[0]?.id),
        ),
    ],
    ['tag', () => ({ tag: chats.find((c) => c.tags.length > 0)?.tags[0] }), (c) => c.tags.includes(chats.find((x) => x.tags.length > 0)?.tags[0] as string)],
    [
      'text in messages (every word, any case)',
      () => ({ text: searchedWords().toUpperCase() }),
      (c) => {
        const have = new Set(recordTextTokens(c.messages.map((m) => m.text ?? '')));
        return searchTextTokens(searchedWords()).every((token) => have.has(token));
      },
    ],
  ];

  it.each(cases)('filters by %s', async (_name, filter, expected) => {
    const want = chats.filter(expected).sort(byTimeDesc);
    expect(want.length).toBeGreaterThan(0);
    const got = await everyPage((cursor) => harness.store.listChats(accessOf(A), filter(), { limit: 4, ...(cursor ? { cursor } : {}) }));
    expect(ids(got)).toEqual(ids(want));
    expect(got.every((chat) => !('messages' in chat) && typeof chat.messageCount === 'number')).toBe(true);
  });

  it('lists oldest first on request, filtered and paged in that order; a cursor of one order is refused by the other', async () => {
    const channel = chats[0]?.channel;
    const want = chats
      .filter((c) => c.channel === channel)
      .sort(byTimeDesc)
      .reverse();
    const got = await everyPage((cursor) => harness.store.listChats(accessOf(A), { channel }, { limit: 3, order: 'oldest', ...(cursor ? { cursor } : {}) }));
    expect(ids(got)).toEqual(ids(want));
    const oldest = await harness.store.listCallLogs(accessOf(A), {}, { limit: 5, order: 'oldest' });
    expect(ids(oldest.items)).toEqual(ids([...calls].sort(byTimeDesc).reverse().slice(0, 5)));
    expect(await codeOf(harness.store.listCallLogs(accessOf(A), {}, { limit: 5, cursor: oldest.nextCursor as string }))).toBe('ERR_ARCHIVE_CURSOR_INVALID');
    expect(await codeOf(harness.store.listCallLogs(accessOf(A), {}, { order: 'sideways' }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    expect(await codeOf(harness.store.listContacts(accessOf(A), {}, { order: 'oldest' }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
  });

  it('pages a transcript in seq order', async () => {
    const chat = [...chats].sort((a, b) => b.messages.length - a.messages.length)[0] as Chat;
    expect(chat.messages.length).toBeGreaterThan(3);
    const messages = await everyPage((cursor) => harness.store.chatTranscript(accessOf(A), chat.id, { limit: 2, ...(cursor ? { cursor } : {}) }));
    expect(messages).toEqual(chat.messages.map((m) => ({ ...m, chatId: chat.id })));
    const { messages: _m, ...room } = chat;
    expect(await harness.store.getChat(accessOf(A), chat.id)).toEqual({ ...room, messageCount: chat.messages.length });
  });
});

describe('contact queries', () => {
  const contact = () => contacts.find((c) => c.emails.length > 0 && c.phones.length > 0) as Contact;
  const cases: [string, () => Record<string, unknown>, (c: Contact) => boolean][] = [
    [
      'name prefix of the full name',
      () => ({ name: contact().displayName.slice(0, 3).toUpperCase() }),
      (c) =>
        c.displayName.toLowerCase().startsWith(contact().displayName.slice(0, 3).toLowerCase()) ||
        [c.displayName, [c.firstName, c.lastName].filter(Boolean).join(' ')].some((n) =>
          n
            .toLowerCase()
            .split(/\s+/)
            .some((w) => w.startsWith(contact().displayName.slice(0, 3).toLowerCase())),
        ),
    ],
    [
      'email prefix',
      () => ({ email: contact().emails[0]?.value.slice(0, 5) }),
      (c) => c.emails.some((e) => e.value.toLowerCase().startsWith((contact().emails[0]?.value ?? '').slice(0, 5).toLowerCase())),
    ],
    [
      'phone prefix',
      () => ({ phone: contact().phones[0]?.e164.slice(0, 6) }),
      (c) => c.phones.some((p) => p.e164.startsWith((contact().phones[0]?.e164 ?? '').slice(0, 6))),
    ],
    [
      'tag',
      () => ({ tag: contacts.find((c) => c.tags.length > 0)?.tags[0] }),
      (c) => c.tags.includes(contacts.find((x) => x.tags.length > 0)?.tags[0] as string),
    ],
  ];

  it.each(cases)('filters by %s, sorted by name', async (_name, filter, expected) => {
    const byName = (a: Contact, b: Contact) => {
      const [x, y] = [a.displayName.normalize('NFKC').toLowerCase(), b.displayName.normalize('NFKC').toLowerCase()];
      return x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : 1;
    };
    const want = contacts.filter(expected).sort(byName);
    expect(want.length).toBeGreaterThan(0);
    const got = await everyPage((cursor) => harness.store.listContacts(accessOf(A), filter(), { limit: 3, ...(cursor ? { cursor } : {}) }));
    expect(ids(got)).toEqual(ids(want));
  });
});

describe('daily counts', () => {
  it('counts records per type and day in the reader time zone, only for the types in scope', async () => {
    const days = await harness.store.countsPerDay(accessOf(A, ['call-logs', 'chats']), {
      from: '2026-05-01T00:00:00Z',
      to: '2026-05-08T00:00:00Z',
      timeZone: 'Pacific/Kiritimati',
    });
    const expectDay = (iso: string) => new Date(Date.parse(iso) + 14 * 3600_000).toISOString().slice(0, 10);
    const want = new Map<string, Record<string, number>>();
    for (const [type, list] of [
      ['call-logs', calls],
      ['chats', chats],
    ] as const) {
      for (const item of list) {
        if (Date.parse(item.startedAt) < Date.parse('2026-05-01T00:00:00Z')) continue;
        const day = want.get(expectDay(item.startedAt)) ?? {};
        day[type] = (day[type] ?? 0) + 1;
        want.set(expectDay(item.startedAt), day);
      }
    }
    expect(days).toEqual([...want.entries()].sort().map(([day, counts]) => ({ day, counts })));
  });
});

describe('refused input', () => {
  const injections: [string, () => Promise<unknown>][] = [
    ['an operator object where text belongs', () => harness.store.listCallLogs(accessOf(A), { outcome: { $ne: 'answered' } })],
    ['a $where key', () => harness.store.listCallLogs(accessOf(A), { $where: 'sleep(1000)' })],
    ['a $or key', () => harness.store.listChats(accessOf(A), { $or: [{}] })],
    ['a regex object as agent', () => harness.store.listCallLogs(accessOf(A), { agent: { $regex: '.*' } })],
    ['an array as tag', () => harness.store.listContacts(accessOf(A), { tag: ['a', 'b'] })],
    ['an unknown field', () => harness.store.listContacts(accessOf(A), { tenantId: B })],
    ['a nested key in the name', () => harness.store.listContacts(accessOf(A), { 'ix.names': 'x' })],
    ['an object as id', () => harness.store.getCallLog(accessOf(A), { $gt: '' })],
    ['an object as chat id', () => harness.store.chatTranscript(accessOf(A), { $ne: null })],
    ['a number without country code', () => harness.store.listCallLogs(accessOf(A), { number: '415 555 0100' })],
    ['letters as a number', () => harness.store.listContacts(accessOf(A), { phone: '+1 call me' })],
    ['a range that ends before it starts', () => harness.store.listCallLogs(accessOf(A), { from: '2026-05-05T00:00:00Z', to: '2026-05-04T00:00:00Z' })],
    ['a date that is not ISO', () => harness.store.listChats(accessOf(A), { from: 'yesterday' })],
    ['a page size of 10 000', () => harness.store.listChats(accessOf(A), {}, { limit: 10_000 })],
    ['a $-key in the page', () => harness.store.listChats(accessOf(A), {}, { $limit: 1 })],
    ['a time zone that is an expression', () => harness.store.countsPerDay(accessOf(A), { from: FROM, to: TO, timeZone: '$tenantId' })],
    ['an unknown channel', () => harness.store.listChats(accessOf(A), { channel: 'pigeon' })],
  ];
  it.each(injections)('refuses %s with ERR_ARCHIVE_FILTER_INVALID', async (_name, run) => {
    expect(await codeOf(run())).toBe('ERR_ARCHIVE_FILTER_INVALID');
  });

  const cursors: [string, string][] = [
    ['garbage', 'not a cursor!'],
    ['json that is not a cursor', Buffer.from('{"a":1}').toString('base64url')],
    ['a cursor of another list', encodeCursor({ list: 'chats', key: '2026-05-04T09:00:00.000Z', id: 'x' })],
    ['an operator as key', Buffer.from(JSON.stringify({ v: 1, l: 'call-logs', k: { $gt: '' }, i: 'x' })).toString('base64url')],
    ['a key that is not an instant', encodeCursor({ list: 'call-logs', key: 'zzz', id: 'x' })],
  ];
  it.each(cursors)('refuses a cursor that is %s', async (_name, cursor) => {
    expect(await codeOf(harness.store.listCallLogs(accessOf(A), {}, { cursor }))).toBe('ERR_ARCHIVE_CURSOR_INVALID');
  });

  it('refuses a transcript cursor of another chat', async () => {
    const cursor = encodeCursor({ list: 'transcript', key: 1, id: 'x', chatId: 'other-chat' });
    expect(await codeOf(harness.store.chatTranscript(accessOf(A), chats[0]?.id, { cursor }))).toBe('ERR_ARCHIVE_CURSOR_INVALID');
  });

  it.each([
    ['call logs', () => harness.store.listCallLogs(accessOf(A, ['chats']))],
    ['a contact by id', () => harness.store.getContact(accessOf(A, ['chats', 'call-logs']), contacts[0]?.id)],
    ['a transcript', () => harness.store.chatTranscript(accessOf(A, ['contacts']), chats[0]?.id)],
    ['daily counts with no type', () => harness.store.countsPerDay(accessOf(A, []), { from: FROM, to: TO })],
  ])('refuses %s outside the reader scope', async (_name, run) => {
    expect(await codeOf(run())).toBe('ERR_ARCHIVE_SCOPE_DENIED');
  });
});

describe('tenant isolation', () => {
  it('never returns records of another tenant', async () => {
    const bCall = (await harness.store.listCallLogs(accessOf(B), { outcome: 'answered' }, { limit: 1 })).items[0] as CallLog;
    expect(bCall.tenantId).toBe(B);
    expect(await harness.store.getCallLog(accessOf(A), bCall.id)).toBeUndefined();
    const shared = calls[0] as CallLog;
    expect((await harness.store.getCallLog(accessOf(B), shared.id))?.notes).toBe('same id, tenant B');
    expect(await harness.store.getCallLog(accessOf(A), shared.id)).toEqual(shared);
    const everyA = await everyPage((cursor) => harness.store.listCallLogs(accessOf(A), {}, { limit: 50, ...(cursor ? { cursor } : {}) }));
    expect(everyA.every((c) => c.tenantId === A)).toBe(true);
    const everyB = await everyPage((cursor) => harness.store.listChats(accessOf(B), {}, { limit: 50, ...(cursor ? { cursor } : {}) }));
    expect(everyB.length).toBeGreaterThan(0);
    expect(everyB.some((c) => chats.some((a) => a.id === c.id && a.tenantId === c.tenantId))).toBe(false);
  });

  it('does not return a document of another tenant even when one is found in a tenant archive', async () => {
    const tenant = 'query-planted';
    await harness.setUpTenant(tenant);
    const stranger = { ...(calls[0] as CallLog), tenantId: B };
    await (
      await harness.archiveDb(tenant)
    )
      .collection('callLogs')
      .insertOne({ ...stranger, _id: stranger.id, ix: { at: new Date(stranger.startedAt) } } as never);
    expect((await harness.store.listCallLogs(accessOf(tenant))).items).toEqual([]);
    expect(await harness.store.getCallLog(accessOf(tenant), stranger.id)).toBeUndefined();
  });

  it('refuses an invalid tenant id', async () => {
    expect(await codeOf(harness.store.listCallLogs({ tenantId: '../admin', scope: FULL_ARCHIVE_SCOPE }))).toBe('ERR_TENANT_ID_INVALID');
  });
});

describe('pages read in one round trip', () => {
  it('counts a list’s matches with its page, up to a limit, whatever the cursor', async () => {
    const outcome = calls[0]?.outcome;
    const matching = calls.filter((call) => call.outcome === outcome).length;
    expect(matching).toBeGreaterThan(3);
    const first = await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 2, countUpTo: 1_000 });
    const plain = await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 2 });
    expect(first.matches).toEqual({ count: matching, more: false });
    expect(plain.matches).toBeUndefined();
    expect(first.items).toEqual(plain.items);
    expect(first.nextCursor).toBe(plain.nextCursor);
    const second = await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 2, countUpTo: 1_000, cursor: first.nextCursor as string });
    expect(second.matches).toEqual({ count: matching, more: false });
    expect(ids(second.items)).toEqual(
      ids(
        calls
          .filter((call) => call.outcome === outcome)
          .sort(byTimeDesc)
          .slice(2, 4),
      ),
    );
    expect((await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 2, countUpTo: 3 })).matches).toEqual({ count: 3, more: true });
    expect((await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 2, countUpTo: matching })).matches).toEqual({ count: matching, more: false });
    const none = await harness.store.listChats(accessOf(A), { tag: 'no-such-tag' }, { countUpTo: 1_000 });
    expect(none).toEqual({ items: [], nextCursor: null, matches: { count: 0, more: false } });
    const everyContact = await harness.store.listContacts(accessOf(A), {}, { limit: 200, countUpTo: 1_000 });
    expect(everyContact.matches).toEqual({ count: contacts.length, more: false });
    expect(everyContact.items.length).toBe(contacts.length);
    // another tenant's records with the same ids are never counted
    expect((await harness.store.listCallLogs(accessOf(B), {}, { limit: 1, countUpTo: 1_000 })).matches?.count).toBe(
      (await harness.store.countMatching(accessOf(B), 'call-logs', {}, 1_000)).count,
    );
    for (const countUpTo of [0, 10_001, 1.5, '10']) {
      expect(await codeOf(harness.store.listCallLogs(accessOf(A), {}, { countUpTo }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    }
  });

  it('reads a chat, a page of its transcript and which of its contacts the archive holds, as the separate reads would', async () => {
    const chat = [...chats].sort((a, b) => b.messages.length - a.messages.length)[0] as Chat;
    const contactIds = chat.participants.map((p) => p.contactId).filter((id): id is string => id !== undefined);
    const view = await harness.store.chatView(accessOf(A), chat.id, { limit: 2 });
    expect(view?.chat).toEqual(await harness.store.getChat(accessOf(A), chat.id));
    expect(view?.transcript).toEqual(await harness.store.chatTranscript(accessOf(A), chat.id, { limit: 2 }));
    expect(view?.contactsHeld).toEqual(await harness.store.existingIds(accessOf(A), 'contacts', contactIds));
    const next = await harness.store.chatView(accessOf(A), chat.id, { limit: 2, cursor: view?.transcript.nextCursor as string });
    expect(next?.transcript).toEqual(await harness.store.chatTranscript(accessOf(A), chat.id, { limit: 2, cursor: view?.transcript.nextCursor as string }));
    const every = await harness.store.chatView(accessOf(A), chat.id, { limit: 200 });
    expect(every?.transcript).toEqual({ items: chat.messages.map((m) => ({ ...m, chatId: chat.id })), nextCursor: null });
    const noTranscript = await harness.store.chatView(accessOf(A), chat.id, undefined);
    expect(noTranscript?.transcript).toEqual({ items: [], nextCursor: null });
    expect((await harness.store.chatView(accessOf(A, ['chats']), chat.id, { limit: 2 }))?.contactsHeld).toBeUndefined();
  });

  it('links only contacts of its own tenant that the archive holds', async () => {
    const tenant = 'query-view';
    await harness.setUpTenant(tenant);
    const base = chats[0] as Chat;
    const held = { ...(contacts[0] as Contact), tenantId: tenant };
    const chat: Chat = {
      ...base,
      tenantId: tenant,
      participants: [
        ...base.participants.filter((p) => p.contactId === undefined),
        { id: 'p-held', role: 'customer', displayName: 'Held', joinedAt: base.startedAt, contactId: held.id },
        { id: 'p-missing', role: 'customer', displayName: 'Missing', joinedAt: base.startedAt, contactId: 'contact-never-imported' },
        { id: 'p-stranger', role: 'customer', displayName: 'Stranger', joinedAt: base.startedAt, contactId: 'contact-of-b' },
      ],
    };
    await load(tenant, [
      { type: 'chats', items: [chat] },
      { type: 'contacts', items: [held] },
    ]);
    // a document of another tenant planted in this archive is never taken for one of its contacts
    await (
      await harness.archiveDb(tenant)
    )
      .collection('contacts')
      .insertOne({ ...(contacts[1] as Contact), _id: 'contact-of-b', id: 'contact-of-b', tenantId: B } as never);
    const view = await harness.store.chatView(accessOf(tenant), chat.id, { limit: 5 });
    expect(view?.contactsHeld).toEqual(new Set([held.id]));
    expect(await harness.store.chatView(accessOf(tenant), 'no-such-chat', { limit: 5 })).toBeUndefined();
    // a chat id of another tenant's archive is not found in this one
    expect(await harness.store.chatView(accessOf(B), chat.id, { limit: 5 })).toBeUndefined();
  });

  it('refuses what the separate reads refuse', async () => {
    const chatId = chats[0]?.id;
    expect(await codeOf(harness.store.chatView(accessOf(A, ['contacts', 'call-logs']), chatId, { limit: 2 }))).toBe('ERR_ARCHIVE_SCOPE_DENIED');
    expect(await codeOf(harness.store.chatView(accessOf(A), { $ne: null }, { limit: 2 }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    expect(await codeOf(harness.store.chatView(accessOf(A), chatId, { limit: 2, $where: '1' }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    const cursor = encodeCursor({ list: 'transcript', key: 1, id: 'x', chatId: 'other-chat' });
    expect(await codeOf(harness.store.chatView(accessOf(A), chatId, { cursor }))).toBe('ERR_ARCHIVE_CURSOR_INVALID');
  });
});

describe('list rows', () => {
  const pick = (record: object, fields: readonly string[]) =>
    Object.fromEntries(Object.entries(record).filter(([field, value]) => fields.includes(field) && value !== undefined));

  it('reads the same pages as the full lists with only the fields a list table shows', async () => {
    for (const type of RECORD_TYPES) {
      const full = (filter: object, page: object): Promise<Page<object>> =>
        type === 'call-logs'
          ? harness.store.listCallLogs(accessOf(A), filter, page)
          : type === 'chats'
            ? harness.store.listChats(accessOf(A), filter, page)
            : harness.store.listContacts(accessOf(A), filter, page);
      const everyRow = await everyPage((cursor) =>
        harness.store.listRows(accessOf(A), type, {}, { limit: 7, countUpTo: 1_000, ...(cursor ? { cursor } : {}) }),
      );
      const everyRecord = await everyPage((cursor) => full({}, { limit: 7, ...(cursor ? { cursor } : {}) }));
      expect(everyRow.length).toBeGreaterThan(7);
      expect(everyRow).toEqual(everyRecord.map((record) => pick(record, LIST_ROW_FIELDS[type])));
      for (const row of everyRow) expect(Object.keys(row).every((field) => (LIST_ROW_FIELDS[type] as readonly string[]).includes(field))).toBe(true);
      const first = await harness.store.listRows(accessOf(A), type, {}, { limit: 7, countUpTo: 1_000 });
      const firstFull = await full({}, { limit: 7, countUpTo: 1_000 });
      expect(first.matches).toEqual(firstFull.matches);
      expect(first.nextCursor).toBe(firstFull.nextCursor);
    }
    // a filter and the oldest-first order as the full list reads them
    const outcome = calls[0]?.outcome;
    const oldest = await harness.store.listRows(accessOf(A), 'call-logs', { outcome }, { limit: 3, order: 'oldest' });
    expect(ids(oldest.items)).toEqual(ids((await harness.store.listCallLogs(accessOf(A), { outcome }, { limit: 3, order: 'oldest' })).items));
    expect(oldest.items.every((row) => row.outcome === outcome)).toBe(true);
  });

  it('keeps to the reader’s scope and tenant and refuses what the lists refuse', async () => {
    expect(await codeOf(harness.store.listRows(accessOf(A, ['chats']), 'call-logs'))).toBe('ERR_ARCHIVE_SCOPE_DENIED');
    expect(await codeOf(harness.store.listRows(accessOf(A), 'call-logs', { outcome: { $ne: 'x' } }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    expect(await codeOf(harness.store.listRows(accessOf(A), 'contacts', {}, { order: 'oldest' }))).toBe('ERR_ARCHIVE_FILTER_INVALID');
    expect(await codeOf(harness.store.listRows({ tenantId: '../admin', scope: FULL_ARCHIVE_SCOPE }, 'chats'))).toBe('ERR_TENANT_ID_INVALID');
    const listedB = await everyPage((cursor) => harness.store.listRows(accessOf(B), 'call-logs', {}, { limit: 50, ...(cursor ? { cursor } : {}) }));
    const shared = calls[0] as CallLog;
    // tenant B holds a call with the same id as one of A's: its row is B's own
    expect(listedB.filter((row) => row.id === shared.id)).toHaveLength(1);
    expect(ids(listedB)).toEqual(ids(await everyPage((cursor) => harness.store.listCallLogs(accessOf(B), {}, { limit: 50, ...(cursor ? { cursor } : {}) }))));
    const planted = 'query-planted-rows';
    await harness.setUpTenant(planted);
    await (
      await harness.archiveDb(planted)
    )
      .collection('callLogs')
      .insertOne({ ...shared, tenantId: B, _id: shared.id, ix: { at: new Date(shared.startedAt) } } as never);
    expect(await harness.store.listRows(accessOf(planted), 'call-logs', {}, { countUpTo: 1_000 })).toEqual({
      items: [],
      nextCursor: null,
      matches: { count: 0, more: false },
    });
  });

  it('masks a row as the record it comes from', async () => {
    const [row] = (await harness.store.listRows(accessOf(A), 'call-logs', {}, { limit: 1 })).items;
    const record = (await harness.store.getCallLog(accessOf(A), (row as { id: string }).id)) as CallLog;
    expect(maskRecord('call-logs', row as never, { unmasked: false })).toEqual(
      pick(maskRecord('call-logs', record, { unmasked: false }), LIST_ROW_FIELDS['call-logs']),
    );
  });
});
