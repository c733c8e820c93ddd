import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { maskEmailAddress } from '../../../src/masking/mask-email-address.js';
import { maskPhoneNumber } from '../../../src/masking/mask-phone-number.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { encodeCursor } from '../../../src/store/archive/keyset-cursor.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import { uniqueDbName } from '../../support/mongo.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS + 8 * 3_600_000);
const TO = new Date(FROM.getTime() + 2 * 3_600_000);

let h: PortalHarness;
let mongo: MongoClient;
let archives: ArchiveDatabases;
let imports: ArchiveImportsStore;
const importsDbName = uniqueDbName('portal_imports');
let tenantA: string;
let tenantB: string;
let calls: CallLog[];
let chats: Chat[];
let contacts: Contact[];
let otherCall: CallLog;
const clients: Record<'owner' | 'admin' | 'chatsOnly' | 'contactsChats' | 'none' | 'ownerB', PortalClient> = {} as never;

const gen = <T extends RecordType>(tenantId: string, type: T, perHour: number, seed: number) => [
  ...generateRecords({ seed, tenantId, type, from: FROM, to: TO, ratesPerHour: { [type]: perHour } }),
];

/** Every call log `load` put into each tenant's archive, the fixtures and those tests add, for expected lists. */
const loadedCallLogs = new Map<string, CallLog[]>();

async function load(tenantId: string, records: { type: RecordType; items: unknown[] }[]): Promise<void> {
  for (const { type, items } of records) {
    if (type === 'call-logs') loadedCallLogs.set(tenantId, [...(loadedCallLogs.get(tenantId) ?? []), ...(items as CallLog[])]);
  }
  const writer = new ArchiveWriter(await archives.forTenant(tenantId), tenantId, `${tenantId}/manifest-test.json`);
  for (const { type, items } of records) for (const item of items) await writer.add(type, item as never);
  await writer.finish();
}

const signedIn = async (
  tenantId: string,
  input: { role?: 'owner' | 'administrator'; dataTypes?: RecordType[]; capabilities?: UserCapability[] },
): Promise<PortalClient> => (await h.signedIn(tenantId, input)).client;

const idsIn = (html: string, base: string): string[] =>
  [...html.matchAll(new RegExp(`href="${base}/([^"?]+)(?:\\?list=[^"]*)?"`, 'g'))].map((m) => decodeURIComponent(m[1] as string));
const nextLink = (html: string): string | undefined => /href="([^"]+)" rel="next"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
const prevLink = (html: string): string | undefined => /href="([^"]+)" rel="prev"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
const byTimeDesc = (a: { startedAt: string; id: string }, b: { startedAt: string; id: string }) =>
  Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  archives = new ArchiveDatabases({ client: mongo, prefix: `pa${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  imports = new ArchiveImportsStore(mongo.db(importsDbName));
  h = await startPortalHarness({}, { archive: new ArchiveStore(archives), archiveImports: imports });
  tenantA = await h.createTenant('arch');
  tenantB = await h.createTenant('other');
  calls = gen(tenantA, 'call-logs', 60, 11);
  chats = gen(tenantA, 'chats', 6, 12);
  contacts = gen(tenantA, 'contacts', 8, 13);
  const contact = contacts[0] as Contact;
  const linked = calls[0] as CallLog;
  calls[0] = { ...linked, from: { e164: contact.phones[0]?.e164 ?? linked.from.e164, contactId: contact.id } };
  const chat = chats[0] as Chat;
  chats[0] = {
    ...chat,
    participants: chat.participants.map((p) =>
      p.role === 'customer' ? { id: p.id, role: p.role, displayName: p.displayName, joinedAt: p.joinedAt, contactId: contact.id } : p,
    ),
  };
  await load(tenantA, [
    { type: 'call-logs', items: calls },
    { type: 'chats', items: chats },
    { type: 'contacts', items: contacts },
  ]);
  otherCall = gen(tenantB, 'call-logs', 4, 14)[0] as CallLog;
  await load(tenantB, [{ type: 'call-logs', items: [otherCall] }]);
  await new ArchiveStore(archives).ensureIndexes(tenantA);
  clients.owner = await signedIn(tenantA, { role: 'owner' });
  clients.admin = await signedIn(tenantA, { dataTypes: ['call-logs', 'chats', 'contacts'] });
  clients.chatsOnly = await signedIn(tenantA, { dataTypes: ['chats'] });
  clients.none = await signedIn(tenantA, { dataTypes: [] });
  clients.contactsChats = await signedIn(tenantA, { dataTypes: ['chats', 'contacts'] });
  clients.ownerB = await signedIn(tenantB, { role: 'owner' });
}, 60_000);

afterAll(async () => {
  for (const tenant of [tenantA, tenantB]) if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await mongo?.db(importsDbName).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('archive lists', () => {
  it.each([
    ['outcome', (c: CallLog) => c.outcome === 'missed', 'outcome=missed'],
    ['direction', (c: CallLog) => c.direction === 'outbound', 'direction=outbound'],
    [
      'agent',
      (c: CallLog) => c.agents.some((a) => a.staffId === calls.find((x) => x.agents.length > 0)?.agents[0]?.staffId),
      () => `agent=${encodeURIComponent(calls.find((x) => x.agents.length > 0)?.agents[0]?.staffId ?? '')}`,
    ],
    [
      'queue',
      (c: CallLog) => c.queue?.id === calls.find((x) => x.queue)?.queue?.id,
      () => `queue=${encodeURIComponent(calls.find((x) => x.queue)?.queue?.id ?? '')}`,
    ],
    [
      'tag',
      (c: CallLog) => c.tags.includes(calls.find((x) => x.tags.length > 0)?.tags[0] ?? ''),
      () => `tag=${encodeURIComponent(calls.find((x) => x.tags.length > 0)?.tags[0] ?? '')}`,
    ],
    [
      'contact',
      (c: CallLog) => c.from.contactId === (contacts[0] as Contact).id || c.to.contactId === (contacts[0] as Contact).id,
      () => `contact=${encodeURIComponent((contacts[0] as Contact).id)}`,
    ],
    [
      'number',
      (c: CallLog) => [c.from.e164, c.to.e164, c.callerId, c.transfer?.toE164].some((n) => n?.startsWith((calls[1] as CallLog).to.e164)),
      () => `number=${encodeURIComponent((calls[1] as CallLog).to.e164)}`,
    ],
    [
      'time range (days)',
      (c: CallLog) => Date.parse(c.startedAt) >= Date.parse(FROM.toISOString().slice(0, 10)),
      () => `from=${FROM.toISOString().slice(0, 10)}&to=${FROM.toISOString().slice(0, 10)}`,
    ],
  ] as const)('call-log filter %s reaches the store and renders the matching calls', async (_name, matches, query) => {
    const expected = calls
      .filter(matches)
      .sort(byTimeDesc)
      .slice(0, 50)
      .map((c) => c.id);
    expect(expected.length).toBeGreaterThan(0);
    const res = await clients.owner.get(`/call-logs?${typeof query === 'string' ? query : query()}`);
    expect(res.status).toBe(200);
    expect(idsIn(res.text, '/call-logs')).toEqual(expected);
  });

  it('chat and contact filters reach the store', async () => {
    const channel = (chats[0] as Chat).channel;
    const res = await clients.owner.get(`/chats?channel=${channel}`);
    expect(res.status).toBe(200);
    expect(idsIn(res.text, '/chats').sort()).toEqual(
      chats
        .filter((c) => c.channel === channel)
        .map((c) => c.id)
        .sort(),
    );
    const contact = contacts[0] as Contact;
    const byEmail = await clients.owner.get(`/contacts?email=${encodeURIComponent(contact.emails[0]?.value ?? contact.displayName)}`);
    expect(idsIn(byEmail.text, '/contacts')).toContain(contact.id);
    const none = await clients.owner.get('/contacts?name=zzzz-nobody');
    expect(none.status).toBe(200);
    expect(none.text).toContain('No contacts match these filters');
    expect(none.text).toContain('Clear filters');
  });

  it('pages forwards and back with keyset cursors kept in the URL', async () => {
    const expected = [...calls].sort(byTimeDesc).map((c) => c.id);
    expect(expected.length).toBeGreaterThan(100);
    const seen: string[] = [];
    const pages: string[] = [];
    let path: string | undefined = '/call-logs';
    while (path !== undefined) {
      const res = await clients.owner.get(path);
      expect(res.status).toBe(200);
      pages.push(path);
      seen.push(...idsIn(res.text, '/call-logs'));
      path = nextLink(res.text);
    }
    expect(seen).toEqual(expected);
    const third = await clients.owner.get(pages[2] as string);
    const back = await clients.owner.get(prevLink(third.text) as string);
    expect(idsIn(back.text, '/call-logs')).toEqual(expected.slice(50, 100));
    const first = await clients.owner.get(prevLink(back.text) as string);
    expect(idsIn(first.text, '/call-logs')).toEqual(expected.slice(0, 50));
    expect(prevLink(first.text)).toBeUndefined();
  });

  it('sorts by time oldest first, pages in that order, and refuses a cursor of the other order', async () => {
    const expected = [...calls]
      .sort(byTimeDesc)
      .reverse()
      .map((c) => c.id);
    const seen: string[] = [];
    let path: string | undefined = '/call-logs?outcome=&order=oldest';
    let firstPage = '';
    while (path !== undefined) {
      const res = await clients.owner.get(path);
      expect(res.status).toBe(200);
      if (firstPage === '') firstPage = res.text;
      seen.push(...idsIn(res.text, '/call-logs'));
      path = nextLink(res.text);
      if (path !== undefined) expect(path).toContain('order=oldest');
    }
    expect(seen).toEqual(expected);
    expect(firstPage).toContain('aria-sort="ascending"');
    expect(firstPage).toMatch(/<option value="oldest" selected>/);
    const newest = await clients.owner.get('/call-logs');
    expect(newest.text).toContain('aria-sort="descending"');
    expect(newest.text).toContain('href="/call-logs?order=oldest"');
    const newestCursor = new URL(nextLink(newest.text) as string, 'http://x').searchParams.get('after') ?? '';
    const mixed = await clients.owner.get(`/call-logs?order=oldest&after=${newestCursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.text).toContain('start again from the first page');
    const chats = await clients.chatsOnly.get('/chats?order=oldest');
    expect(chats.status).toBe(200);
    const bad = await clients.owner.get('/call-logs?order=sideways');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Sort by');
    expect((await clients.owner.get('/contacts?order=oldest')).status).toBe(400);
  });

  it('says what to do when the archive is empty', async () => {
    const res = await clients.ownerB.get('/chats');
    expect(res.status).toBe(200);
    expect(res.text).toContain('the archive fills after the first online import');
  });

  it.each([
    ['an operator key', 'outcome[$ne]=x'],
    ['a repeated filter', 'outcome=missed&outcome=answered'],
    ['an unknown value', 'outcome=%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
    ['markup in an unknown filter name', '%3Cscript%3Ex%3C%2Fscript%3E=1'],
    ['a number without country code', 'number=%27%20OR%201%3D1'],
    ['a forged cursor', 'after=%3Cb%3Enot-a-cursor'],
    ['a cursor of another list', `after=${encodeCursor({ list: 'chats', key: '2026-01-01T00:00:00.000Z', id: 'x' })}`],
    ['an impossible day', 'from=2026-02-30'],
    ['a range that ends before it starts', 'from=2026-05-04&to=2026-05-01'],
    ['an overlong value', `agent=${'a'.repeat(300)}`],
  ])('refuses %s with a clear message and never echoes it unescaped', async (_name, query) => {
    const res = await clients.owner.get(`/call-logs?${query}`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('These filters cannot be used');
    expect(res.text).not.toContain('<script>');
    expect(res.text).not.toContain('<b>not');
    expect(idsIn(res.text, '/call-logs')).toEqual([]);
  });
});

describe('record pages', () => {
  it('shows a call with its agents, queue, timings and recordings', async () => {
    const call = calls.find((c) => c.agents.length > 0 && c.queue && c.recordings.length > 0) ?? (calls.find((c) => c.agents.length > 0) as CallLog);
    const res = await clients.owner.get(`/call-logs/${encodeURIComponent(call.id)}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(call.agents[0]?.name ?? '');
    if (call.queue) expect(res.text).toContain(call.queue.name);
    for (const recording of call.recordings) expect(res.text).toContain(recording.sha256);
    expect(res.text).toContain(call.from.e164);
  });

  it('shows a chat as a transcript, paged', async () => {
    const chat = [...chats].sort((a, b) => b.messages.length - a.messages.length)[0] as Chat;
    const res = await clients.chatsOnly.get(`/chats/${encodeURIComponent(chat.id)}`);
    expect(res.status).toBe(200);
    expect((res.text.match(/class="message message-/g) ?? []).length).toBe(Math.min(chat.messages.length, 100));
    const badCursor = await clients.chatsOnly.get(
      `/chats/${encodeURIComponent(chat.id)}?after=${encodeCursor({ list: 'transcript', key: 1, id: 'x', chatId: 'another' })}`,
    );
    expect(badCursor.status).toBe(400);
  });

  it('shows a contact with its calls and chats, each only within the reader’s scopes', async () => {
    const contact = contacts[0] as Contact;
    const owner = await clients.owner.get(`/contacts/${encodeURIComponent(contact.id)}`);
    expect(owner.status).toBe(200);
    expect(idsIn(owner.text, '/call-logs')).toContain((calls[0] as CallLog).id);
    expect(idsIn(owner.text, '/chats')).toContain((chats[0] as Chat).id);
    const narrower = await clients.contactsChats.get(`/contacts/${encodeURIComponent(contact.id)}`);
    expect(narrower.status).toBe(200);
    expect(idsIn(narrower.text, '/call-logs')).toEqual([]);
    expect(narrower.text).not.toContain('<h2>Calls</h2>');
    expect(idsIn(narrower.text, '/chats')).toContain((chats[0] as Chat).id);
  });

  it('finds a contact’s calls by the contact id the source linked, not by a shared number', async () => {
    const contact = contacts[1] as Contact;
    const number = contact.phones[0]?.e164 ?? '+4930123456789';
    const stranger = { ...(calls[5] as CallLog), id: `shared-number-${randomBytes(3).toString('hex')}`, from: { e164: number } };
    const linked = Array.from({ length: 22 }, (_, i) => ({
      ...(calls[6 + i] as CallLog),
      id: `linked-${i}-${randomBytes(3).toString('hex')}`,
      to: { e164: '+4940111222333', contactId: contact.id },
    }));
    await load(tenantA, [{ type: 'call-logs', items: [stranger, ...linked] }]);
    const page = await clients.owner.get(`/contacts/${encodeURIComponent(contact.id)}`);
    const shown = idsIn(page.text, '/call-logs');
    expect(shown).not.toContain(stranger.id);
    expect(shown).toEqual(
      [...linked]
        .sort(byTimeDesc)
        .slice(0, 20)
        .map((c) => c.id),
    );
    const more = /href="(\/call-logs\?contact=[^"]+)">All calls with this contact/.exec(page.text)?.[1]?.replaceAll('&amp;', '&');
    expect(more).toBe(`/call-logs?contact=${encodeURIComponent(contact.id)}`);
    const all = await clients.owner.get(more ?? '');
    expect(idsIn(all.text, '/call-logs').sort()).toEqual(linked.map((c) => c.id).sort());
  });

  it('shows the archive health on the dashboard: last manifest imported and the import lag', async () => {
    const entry = { path: `${tenantA}/2026/05/04/manifest-0001.json`, runId: 'run-1', sha256: 'b'.repeat(64), previous: null };
    await imports.begin(tenantA, entry, new Date(Date.now() - 20 * 60_000));
    await imports.markImported(
      tenantA,
      entry.path,
      {
        types: { chats: { records: 12, inserted: 12, updated: 0, unchanged: 0 } },
        messages: { records: 0, inserted: 0, updated: 0, unchanged: 0, removed: 0 },
        files: 1,
        bytes: 10,
      },
      new Date(Date.now() - 10 * 60_000),
    );
    const res = await clients.chatsOnly.get('/');
    expect(res.text).toContain(entry.path);
    expect(res.text).toMatch(/1[01] min since the last import/);
  });
});

describe('permissions', () => {
  it('refuses call logs to a chats-only administrator: 403 for the list, 404 for ids, nothing in navigation or dashboard', async () => {
    const client = clients.chatsOnly;
    expect((await client.get('/call-logs')).status).toBe(403);
    const byId = await client.get(`/call-logs/${encodeURIComponent((calls[0] as CallLog).id)}`);
    expect(byId.status).toBe(404);
    const unknown = await client.get('/call-logs/does-not-exist');
    expect(unknown.status).toBe(404);
    expect(byId.text.replace(/\s+/g, ' ')).toBe(unknown.text.replace(/\s+/g, ' '));
    expect((await client.get(`/contacts/${encodeURIComponent((contacts[0] as Contact).id)}`)).status).toBe(404);
    await h.controlPlane.runs.createIfAbsent({
      id: `run-${randomBytes(4).toString('hex')}`,
      tenantId: tenantA,
      trigger: 'manual',
      windows: {},
      previous: null,
      chunkCount: 1,
      createdAt: new Date(),
    });
    const runs = await h.controlPlane.runs.listByTenant(tenantA, { limit: 1 });
    await h.controlPlane.runs.markDone(tenantA, runs[0]?.id ?? '', {
      manifest: { runId: runs[0]?.id ?? '', path: 'm.json', sha256: 'a'.repeat(64) },
      files: [],
      totals: { 'call-logs': { records: 7771, rejected: 0, files: 1, bytes: 10 }, chats: { records: 3332, rejected: 0, files: 1, bytes: 10 } },
    });
    const dashboard = await client.get('/');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain('3332');
    expect(dashboard.text).not.toContain('7771');
    expect(dashboard.text).not.toMatch(/call.logs/i);
    const svg = Buffer.from(/src="data:image\/svg\+xml;base64,([^"]+)"/.exec(dashboard.text)?.[1] ?? '', 'base64').toString('utf8');
    expect(svg).toContain('Chats');
    expect(svg).not.toContain('Call logs');
    const owner = await clients.owner.get('/');
    expect(owner.text).toContain('7771');
    expect(Buffer.from(/src="data:image\/svg\+xml;base64,([^"]+)"/.exec(owner.text)?.[1] ?? '', 'base64').toString('utf8')).toContain('Call logs');
  });

  it('answers 404 for another tenant’s ids and an administrator without scopes sees no data', async () => {
    expect((await clients.owner.get(`/call-logs/${encodeURIComponent(otherCall.id)}`)).status).toBe(404);
    expect((await clients.ownerB.get(`/call-logs/${encodeURIComponent((calls[0] as CallLog).id)}`)).status).toBe(404);
    for (const path of ['/call-logs', '/chats', '/contacts']) expect((await clients.none.get(path)).status).toBe(403);
    const dashboard = await clients.none.get('/');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain('You have no access to archived data yet');
    expect(dashboard.text).not.toContain('data:image/svg');
  });

  it('masks numbers and emails for a user without the unmasked capability', async () => {
    const call = calls[1] as CallLog;
    const admin = await clients.admin.get(`/call-logs/${encodeURIComponent(call.id)}`);
    expect(admin.status).toBe(200);
    expect(admin.text).not.toContain(call.from.e164);
    expect(admin.text).toContain(maskPhoneNumber(call.from.e164));
    const list = await clients.admin.get('/contacts');
    const owner = await clients.owner.get('/contacts');
    for (const contact of contacts) {
      for (const email of contact.emails) {
        expect(list.text).not.toContain(email.value);
        expect(list.text).toContain(maskEmailAddress(email.value).replaceAll('&', '&amp;'));
        expect(owner.text).toContain(email.value);
      }
      for (const phone of contact.phones) expect(list.text).not.toContain(phone.e164);
    }
    expect(list.text).toContain('masked');
  });
});

describe('audit of reading', () => {
  it('writes record.viewed and records.searched with type, id and filter', async () => {
    const chat = chats[1] as Chat;
    await clients.chatsOnly.get(`/chats/${encodeURIComponent(chat.id)}`);
    await clients.chatsOnly.get('/chats?channel=web&text=refund');
    await clients.chatsOnly.get('/chats?channel=nope');
    const viewed = await h.controlPlane.audit.list(tenantA, { action: 'record.viewed', limit: 5 });
    expect(viewed[0]).toMatchObject({ outcome: 'success', target: `chats/${chat.id}`, details: { type: 'chats', id: chat.id } });
    const searched = await h.controlPlane.audit.list(tenantA, { action: 'records.searched', limit: 5 });
    expect(searched[0]).toMatchObject({ outcome: 'failure', target: 'chats', details: { type: 'chats', filter: 'channel=nope' } });
    expect(searched[1]).toMatchObject({ outcome: 'success', details: { type: 'chats', filter: 'channel=web&text=refund' } });
  });

  it('keeps searched numbers and email addresses masked in the audit log', async () => {
    const number = (calls[2] as CallLog).from.e164;
    const email = (contacts[2] as Contact).emails[0]?.value ?? 'someone@example.com';
    await clients.owner.get(`/call-logs?number=${encodeURIComponent(number)}&outcome=missed`);
    await clients.owner.get(`/contacts?email=${encodeURIComponent(email)}`);
    const [byEmail, byNumber] = await h.controlPlane.audit.list(tenantA, { action: 'records.searched', limit: 2 });
    expect(new URLSearchParams(String(byNumber?.details?.filter))).toEqual(new URLSearchParams({ number: maskPhoneNumber(number), outcome: 'missed' }));
    expect(new URLSearchParams(String(byEmail?.details?.filter))).toEqual(new URLSearchParams({ email: maskEmailAddress(email) }));
    expect(JSON.stringify([byEmail, byNumber])).not.toContain(number.slice(1));
    expect(JSON.stringify([byEmail, byNumber])).not.toContain(email);
  });

  it('writes every refused access as access.denied: who, what and the answer, without the query string', async () => {
    const user = await h.controlPlane.users.list(tenantA).then((users) => users.find((u) => u.dataTypes.length === 1 && u.dataTypes[0] === 'chats'));
    const call = calls[3] as CallLog;
    const since = new Date();
    expect((await clients.chatsOnly.get('/call-logs?number=%2B4915')).status).toBe(403);
    expect((await clients.chatsOnly.get(`/call-logs/${encodeURIComponent(call.id)}`)).status).toBe(404);
    expect((await clients.chatsOnly.get('/chats/no-such-chat')).status).toBe(404);
    expect((await clients.chatsOnly.get('/users')).status).toBe(403);
    expect((await clients.chatsOnly.get('/no-such-page')).status).toBe(404);
    const denied = await h.controlPlane.audit.list(tenantA, { action: 'access.denied', actorId: user?.id ?? '', from: since, limit: 10 });
    expect(denied.map((e) => [e.target, e.outcome, e.details?.status])).toEqual([
      ['GET /users', 'denied', 403],
      ['GET /chats/no-such-chat', 'denied', 404],
      [`GET /call-logs/${call.id}`, 'denied', 404],
      ['GET /call-logs', 'denied', 403],
    ]);
    expect(JSON.stringify(denied)).not.toContain('4915');
  });
});

describe('archive: searching by personal data', () => {
  it.each(['/call-logs?number=%2B49', '/contacts?phone=%2B1', '/contacts?email=a', '/chats?text=call+2345678', '/chats?text=jane%40example'])(
    'refuses %s to a user who sees personal data masked (no prefix probing of masked numbers), allows it unmasked',
    async (path) => {
      const masked = await clients.admin.get(path);
      expect(masked.status).toBe(400);
      expect(masked.text).toContain('needs the permission to see personal data unmasked');
      expect((await clients.admin.get('/chats?text=refund+order+42')).status).toBe(200);
      expect((await clients.owner.get(path)).status).toBe(200);
      const unmasked = await signedIn(tenantA, { dataTypes: ['call-logs', 'chats', 'contacts'], capabilities: ['see-unmasked-personal-data'] });
      expect((await unmasked.get(path)).status).toBe(200);
    },
  );
});

describe('lists for everyday use', () => {
  const recordLinks = (html: string, base: string): string[] =>
    [...html.matchAll(new RegExp(`href="(${base}/[^"]+)"`, 'g'))].map((m) => (m[1] as string).replaceAll('&amp;', '&'));
  const backLink = (html: string): string | undefined => /<a href="([^"]+)">← /.exec(html)?.[1]?.replaceAll('&amp;', '&');

  it('says how many records match: in the archive, for a filter, and which of them this page shows', async () => {
    // earlier tests add calls of their own: count what the archive holds now
    const stored = await (await archives.forTenant(tenantA)).collection('callLogs');
    const all = await clients.owner.get('/call-logs');
    expect(all.text).toContain(`${await stored.countDocuments({})} call logs in the archive. Showing 1–50.`);
    const missed = await stored.countDocuments({ outcome: 'missed' });
    const filtered = await clients.owner.get('/call-logs?outcome=missed');
    expect(filtered.text).toContain(`${missed} call log${missed === 1 ? ' matches' : 's match'}.`);
    const second = await clients.owner.get(nextLink(all.text) as string);
    expect(second.text).toContain('Showing 51–100.');
    const none = await clients.owner.get('/call-logs?tag=no-such-tag');
    expect(none.text).toContain('No call logs match these filters.');
    expect(none.text).not.toContain('in the archive.');
  });

  it('finds calls by agent and queue names as well as ids, and chats by participant names', async () => {
    const call = calls.find((candidate) => candidate.agents.length > 0 && candidate.queue !== undefined) as CallLog;
    const agent = call.agents[0] as CallLog['agents'][number];
    const byName = await clients.owner.get(`/call-logs?${new URLSearchParams({ agent: agent.name.toUpperCase() }).toString()}`);
    expect(byName.status).toBe(200);
    expect(idsIn(byName.text, '/call-logs')).toContain(call.id);
    const byId = await clients.owner.get(`/call-logs?${new URLSearchParams({ agent: agent.staffId }).toString()}`);
    // earlier tests add copies of the fixtures' calls, agents included: expect those too
    expect(idsIn(byId.text, '/call-logs').sort()).toEqual(
      (loadedCallLogs.get(tenantA) ?? [])
        .filter((c) => c.agents.some((a) => a.staffId === agent.staffId))
        .map((c) => c.id)
        .sort(),
    );
    const queue = call.queue as NonNullable<CallLog['queue']>;
    expect(idsIn((await clients.owner.get(`/call-logs?${new URLSearchParams({ queue: queue.name }).toString()}`)).text, '/call-logs')).toContain(call.id);
    const chat = chats[1] as Chat;
    const participant = chat.participants[0] as Chat['participants'][number];
    const chatsByName = await clients.owner.get(`/chats?${new URLSearchParams({ participant: participant.displayName }).toString()}`);
    expect(idsIn(chatsByName.text, '/chats')).toContain(chat.id);
    expect(byName.text).toContain('placeholder="name or id"');
  });

  it('links each record to its page with the list to return to, filters and page kept', async () => {
    const first = await clients.owner.get('/call-logs?outcome=missed&order=oldest');
    const second = await clients.owner.get(nextLink((await clients.owner.get('/call-logs?direction=inbound')).text) as string);
    for (const [list, path] of [
      [first, '/call-logs?outcome=missed&order=oldest'],
      [second, nextLink((await clients.owner.get('/call-logs?direction=inbound')).text) as string],
    ] as const) {
      const link = recordLinks(list.text, '/call-logs')[0] as string;
      const record = await clients.owner.get(link);
      expect(record.status).toBe(200);
      expect(backLink(record.text)).toBe(path);
    }
    const chatList = '/chats?order=oldest';
    const chatLink = recordLinks((await clients.owner.get(chatList)).text, '/chats')[0] as string;
    const chatPage = await clients.owner.get(chatLink);
    expect(backLink(chatPage.text)).toBe(chatList);
    const contactList = `/contacts?${new URLSearchParams({ name: (contacts[0] as Contact).displayName.split(' ')[0] as string }).toString()}`;
    const contactLink = recordLinks((await clients.owner.get(contactList)).text, '/contacts')[0] as string;
    expect(backLink((await clients.owner.get(contactLink)).text)).toBe(contactList);
    const plain = await clients.owner.get(`/call-logs/${encodeURIComponent((calls[0] as CallLog).id)}`);
    expect(backLink(plain.text)).toBe('/call-logs');
  });

  it('never turns a forged return list into a link elsewhere', async () => {
    const id = encodeURIComponent((calls[0] as CallLog).id);
    for (const list of ['https://evil.example/', '//evil.example', 'outcome=missed&x=%22%3E%3Cscript%3E', 'javascript:alert(1)']) {
      const res = await clients.owner.get(`/call-logs/${id}?${new URLSearchParams({ list }).toString()}`);
      expect(res.status).toBe(200);
      expect(backLink(res.text)).toBe('/call-logs');
      expect(res.text).not.toContain('evil.example');
      expect(res.text).not.toContain('<script>');
    }
  });

  it.each([
    ['/chats?text=a', 'The filter Words: &#34;a&#34; is not accepted; give words of at least two letters or digits'],
    [`/call-logs?agent=${'x'.repeat(201)}`, 'The filter Agent: &#34;xxxxxxxx'],
    ['/call-logs?outcome=lost', 'The filter Outcome: &#34;lost&#34; is not accepted; choose one of answered'],
    ['/call-logs?number=1', 'The filter Number: &#34;1&#34; is not accepted; give the start of a phone number'],
  ])('refuses %s in words: the field, the value typed and what is accepted', async (path, message) => {
    const res = await clients.owner.get(path);
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
    expect(res.text).not.toMatch(/Invalid input|Too small|Too big|expected string|expected one of/);
  });

  it('shows number, email and phone filters only to users who may search by them', async () => {
    const owner = await clients.owner.get('/call-logs');
    const admin = await clients.admin.get('/call-logs');
    expect(owner.text).toContain('name="number"');
    expect(admin.text).not.toContain('name="number"');
    expect(admin.text).toContain('name="agent"');
    const ownerContacts = await clients.owner.get('/contacts');
    const adminContacts = await clients.admin.get('/contacts');
    for (const field of ['email', 'phone']) {
      expect(ownerContacts.text).toContain(`name="${field}"`);
      expect(adminContacts.text).not.toContain(`name="${field}"`);
    }
    expect(adminContacts.text).toContain('not searchable');
    expect((await clients.admin.get('/call-logs?number=%2B1415')).status).toBe(400);
  });
});
