import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { NOT_IN_ARCHIVE_NOTE } from '../../../src/portal/routes/archive-record-references.js';
import { ResultExportsStore } from '../../../src/results-export/result-exports-store.js';
import { createResultsExportQueue, type ResultsExportJobData } from '../../../src/results-export/results-export-queue.js';
import { ResultsExportService } from '../../../src/results-export/results-export-service.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 9 * 3_600_000);
const TO = new Date(FROM.getTime() + 2 * 3_600_000);
/** One seed and one set of rates for every type, as a tenant's demo source has. */
const RATES = { 'call-logs': 20, chats: 4, contacts: 6 };
const SEED = 2026;

let h: PortalHarness;
const exportsDbName = uniqueDbName('portal_links_exports');
const prefix = uniqueName('pl');
let queueRedis: Redis;
let queue: Queue<ResultsExportJobData>;
let mongo: MongoClient;
let archives: ArchiveDatabases;
let tenant: string;
let calls: CallLog[];
let chats: Chat[];
let contacts: Contact[];
const clients: Record<'owner' | 'chatsOnly' | 'callsOnly', PortalClient> = {} as never;

const gen = <T extends RecordType>(type: T) => [...generateRecords({ seed: SEED, tenantId: tenant, type, from: FROM, to: TO, ratesPerHour: RATES })];

/** Every `href` of a page, entities decoded, without fragments. */
const hrefsOf = (html: string): string[] =>
  [...html.matchAll(/href="([^"]*)"/g)].map((m) => (m[1] as string).replaceAll('&amp;', '&')).filter((href) => href !== '' && !href.startsWith('#'));

const isArchivePage = (path: string): boolean => /^\/(call-logs|chats|contacts)(\/|\?|$)/.test(path);

/**
 * Follows every link of the archive pages reachable from `start` (list pages, their next pages, every detail page),
 * checking that each link answers 200 for the same user; returns the pages visited and the links that did not answer.
 */
async function crawl(client: PortalClient, start: string[]): Promise<{ visited: Map<string, string>; dead: string[] }> {
  const visited = new Map<string, string>();
  const dead: string[] = [];
  const queue = [...start];
  const checked = new Set<string>(start);
  while (queue.length > 0) {
    const path = queue.shift() as string;
    const res = await client.get(path);
    if (res.status !== 200) {
      dead.push(`${path} -> ${res.status}`);
      continue;
    }
    if (!isArchivePage(path)) continue;
    visited.set(path, res.text);
    for (const href of hrefsOf(res.text)) {
      if (checked.has(href)) continue;
      checked.add(href);
      queue.push(href);
    }
  }
  return { visited, dead };
}

const signedIn = async (input: { role?: 'owner' | 'administrator'; dataTypes?: RecordType[] }): Promise<PortalClient> =>
  (await h.signedIn(tenant, input)).client;

const page = (html: string, id: string): boolean => html.includes(`href="/contacts/${encodeURIComponent(id)}"`);

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  archives = new ArchiveDatabases({ client: mongo, prefix: `pl${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  // The portal as it runs: with the results-export service, so the menu's Exports page answers too.
  const exportsStore = new ResultExportsStore(mongo.db(exportsDbName));
  await exportsStore.ensureIndexes();
  queueRedis = createTestRedis();
  queue = createResultsExportQueue(queueRedis, prefix);
  const resultsExport = new ResultsExportService({
    exports: exportsStore,
    queue,
    audit: { append: (tenantId, event, at) => h.controlPlane.audit.append(tenantId, event, at) },
  });
  h = await startPortalHarness({}, { archive: new ArchiveStore(archives), resultsExport });
  tenant = await h.createTenant('links');
  calls = gen('call-logs');
  chats = gen('chats');
  contacts = gen('contacts');
  // The generator refers to contacts of the weeks before the window (not imported here); point some references at
  // contacts the archive holds, so the pages show both kinds.
  const held = (index: number) => contacts[index % contacts.length] as Contact;
  calls = calls.map((call, index) => {
    if (index % 3 !== 0) return call;
    if (call.from.contactId !== undefined) return { ...call, from: { ...call.from, contactId: held(index).id } };
    if (call.to.contactId !== undefined) return { ...call, to: { ...call.to, contactId: held(index).id } };
    return call;
  });
  chats = chats.map((chat, index) =>
    index % 2 !== 0 ? chat : { ...chat, participants: chat.participants.map((p) => (p.role === 'customer' ? { ...p, contactId: held(index).id } : p)) },
  );
  contacts = contacts.map((contact, index) =>
    index === 1 ? { ...contact, mergedInto: held(0).id } : index === 2 ? { ...contact, mergedInto: `${held(0).id}-gone` } : contact,
  );
  const writer = new ArchiveWriter(await archives.forTenant(tenant), tenant, `${tenant}/manifest-links.json`);
  for (const call of calls) await writer.add('call-logs', call);
  for (const chat of chats) await writer.add('chats', chat);
  for (const contact of contacts) await writer.add('contacts', contact);
  await writer.finish();
  clients.owner = await signedIn({ role: 'owner' });
  clients.chatsOnly = await signedIn({ dataTypes: ['chats'] });
  clients.callsOnly = await signedIn({ dataTypes: ['call-logs'] });
}, 60_000);

afterAll(async () => {
  await queue?.close();
  if (queueRedis) {
    await cleanupPrefix(queueRedis, prefix);
    await queueRedis.quit();
  }
  await mongo?.db(exportsDbName).dropDatabase();
  if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('links between archived records', () => {
  it('the seed has references to contacts the archive holds and to contacts it does not', () => {
    const ids = new Set(contacts.map((c) => c.id));
    const references = [...calls.flatMap((c) => [c.from.contactId, c.to.contactId]), ...chats.flatMap((c) => c.participants.map((p) => p.contactId))].filter(
      (id): id is string => id !== undefined,
    );
    expect(references.some((id) => ids.has(id))).toBe(true);
    expect(references.some((id) => !ids.has(id))).toBe(true);
  });

  it.each<[keyof typeof clients, string[]]>([
    ['owner', ['/call-logs', '/chats', '/contacts']],
    ['chatsOnly', ['/chats']],
    ['callsOnly', ['/call-logs']],
  ])(
    'every link on the call, chat and contact pages answers 200 for the %s',
    async (who, start) => {
      const { visited, dead } = await crawl(clients[who], start);
      expect(dead).toEqual([]);
      const details = [...visited.keys()].filter((path) => /^\/(call-logs|chats|contacts)\/[^?]+/.test(path));
      const expected =
        (start.includes('/call-logs') ? calls.length : 0) + (start.includes('/chats') ? chats.length : 0) + (start.includes('/contacts') ? contacts.length : 0);
      expect(new Set(details.map((path) => path.split('?')[0])).size).toBe(expected);
    },
    120_000,
  );

  it('shows a reference to a contact the archive does not hold as text with a note, and links one it holds', async () => {
    const ids = new Set(contacts.map((c) => c.id));
    const absent = calls.find((c) => c.from.contactId !== undefined && !ids.has(c.from.contactId)) as CallLog;
    const present = calls.find((c) => c.from.contactId !== undefined && ids.has(c.from.contactId)) as CallLog;
    const absentPage = (await clients.owner.get(`/call-logs/${encodeURIComponent(absent.id)}`)).text;
    expect(page(absentPage, absent.from.contactId as string)).toBe(false);
    expect(absentPage).toContain(absent.from.contactId);
    expect(absentPage).toContain(NOT_IN_ARCHIVE_NOTE);
    const presentPage = (await clients.owner.get(`/call-logs/${encodeURIComponent(present.id)}`)).text;
    expect(page(presentPage, present.from.contactId as string)).toBe(true);

    const gone = contacts[2] as Contact;
    const merged = (await clients.owner.get(`/contacts/${encodeURIComponent(gone.id)}`)).text;
    expect(page(merged, gone.mergedInto as string)).toBe(false);
    expect(merged).toContain(NOT_IN_ARCHIVE_NOTE);
    const mergedHeld = (await clients.owner.get(`/contacts/${encodeURIComponent((contacts[1] as Contact).id)}`)).text;
    expect(page(mergedHeld, (contacts[1] as Contact).mergedInto as string)).toBe(true);
  });

  it('gives a reader without contacts no link to a contact, not even one the archive holds, and does not say whether it does', async () => {
    const chat = chats[0] as Chat;
    const contactId = chat.participants.find((p) => p.contactId !== undefined)?.contactId as string;
    expect(contacts.some((c) => c.id === contactId)).toBe(true);
    const res = await clients.chatsOnly.get(`/chats/${encodeURIComponent(chat.id)}`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('href="/contacts');
    expect(res.text).toContain('you have no access to contacts');
    expect(res.text).not.toContain(NOT_IN_ARCHIVE_NOTE);
  });
});
