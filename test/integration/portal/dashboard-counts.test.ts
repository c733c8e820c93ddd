import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { COLLECTION_OF_TYPE } from '../../../src/store/archive/archive-documents.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { DAILY_COUNTS_COLLECTION } from '../../../src/store/archive/daily-counts.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const DAY_MS = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const RATES = { 'call-logs': 2, chats: 0.5, contacts: 0.5 };
const LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };

let h: PortalHarness;
let mongo: MongoClient;
let archives: ArchiveDatabases;
let tenant: string;
const clients: Record<'owner' | 'chatsOnly', PortalClient> = {} as never;

const signedIn = async (input: { role?: 'owner' | 'administrator'; dataTypes?: RecordType[] }): Promise<PortalClient> =>
  (await h.signedIn(tenant, input)).client;

/** The totals the dashboard shows, by label. */
const totalsOf = (html: string): Record<string, number> =>
  Object.fromEntries([...html.matchAll(/<li><span>([^<]+)<\/span> <strong>(\d+)<\/strong><\/li>/g)].map((m) => [m[1] as string, Number(m[2])]));
const chartOf = (html: string): string | undefined => /<img class="chart" src="([^"]+)"/.exec(html)?.[1];

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  archives = new ArchiveDatabases({ client: mongo, prefix: `pd${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  h = await startPortalHarness({}, { archive: new ArchiveStore(archives) });
  tenant = await h.createTenant('dash');
  const writer = new ArchiveWriter(await archives.forTenant(tenant), tenant, `${tenant}/manifest-dash.json`);
  // Records from 40 days ago to now: some fall before the dashboard's 30 days.
  for (const type of RECORD_TYPES) {
    for (const record of generateRecords({ seed: 3, tenantId: tenant, type, from: new Date(TODAY - 40 * DAY_MS), to: new Date(), ratesPerHour: RATES })) {
      await writer.add(type, record as never);
    }
  }
  await writer.finish();
  clients.owner = await signedIn({ role: 'owner' });
  clients.chatsOnly = await signedIn({ dataTypes: ['chats'] });
}, 120_000);

afterAll(async () => {
  if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('the dashboard’s counts', () => {
  it('show for each readable type the records of the last 30 days, as counted from the records, chart included', async () => {
    const db = await archives.forTenant(tenant);
    const from = new Date(TODAY - 29 * DAY_MS);
    const to = new Date(TODAY + DAY_MS);
    const expected: Record<string, number> = {};
    for (const type of RECORD_TYPES) {
      expected[LABELS[type]] = await db.collection(COLLECTION_OF_TYPE[type]).countDocuments({ tenantId: tenant, 'ix.at': { $gte: from, $lt: to } });
    }
    expect(expected['Call logs']).toBeGreaterThan(0);
    const owner = await clients.owner.get('/');
    expect(owner.status).toBe(200);
    expect(totalsOf(owner.text)).toEqual(expected);
    const chatsOnly = await clients.chatsOnly.get('/');
    expect(totalsOf(chatsOnly.text)).toEqual({ Chats: expected.Chats });

    // Counting the records instead (the counts marked as in writing) draws the same chart, byte for byte.
    await db.collection<{ _id: string }>(DAILY_COUNTS_COLLECTION).updateOne({ _id: 'state' }, { $set: { writing: 'a test' } });
    try {
      const counted = await clients.owner.get('/');
      expect(totalsOf(counted.text)).toEqual(expected);
      expect(chartOf(counted.text)).toBe(chartOf(owner.text));
    } finally {
      await db.collection<{ _id: string }>(DAILY_COUNTS_COLLECTION).updateOne({ _id: 'state' }, { $set: { writing: null } });
    }
  });
});
