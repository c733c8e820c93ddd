import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importManifest } from '../../../src/import/import-manifest.js';
import { rebuildArchive } from '../../../src/import/rebuild-archive.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { COLLECTION_OF_TYPE } from '../../../src/store/archive/archive-documents.js';
import { purgeExpiredRecords } from '../../../src/store/archive/archive-retention.js';
import { FULL_ARCHIVE_SCOPE } from '../../../src/store/archive/archive-scope.js';
import { DAILY_COUNTS_COLLECTION } from '../../../src/store/archive/daily-counts.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const DAY = 86_400_000;
const T0 = new Date('2026-04-06T00:00:00.000Z');
const RATES = { 'call-logs': 12, chats: 4, contacts: 3 };
let harness: ImportHarness;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'), { batchSize: 25 });
});
afterAll(async () => {
  await harness?.close();
});

const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });
const demo = <T extends RecordType>(tenantId: string, type: T, day: number) => [
  ...generateRecords({ seed: 9, tenantId, type, ...windowOf(day), ratesPerHour: RATES }),
];
const later = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

type CountMap = Record<string, number>;

/** What the stored counts say, `<type>/<day>` to count (zero counts left out). */
async function storedCounts(db: Db): Promise<CountMap> {
  const docs = await db
    .collection<{ _id: string; type?: RecordType; day?: string; count?: number }>(DAILY_COUNTS_COLLECTION)
    .find({ type: { $exists: true } })
    .toArray();
  return Object.fromEntries(docs.filter((doc) => (doc.count ?? 0) !== 0).map((doc) => [`${doc.type}/${doc.day}`, doc.count as number]));
}

/** The same, counted from the records themselves. */
async function recordCounts(db: Db): Promise<CountMap> {
  const out: CountMap = {};
  for (const type of RECORD_TYPES) {
    const docs = await db
      .collection<{ ix: { at: Date } }>(COLLECTION_OF_TYPE[type])
      .find({}, { projection: { 'ix.at': 1 } })
      .toArray();
    for (const doc of docs) {
      const key = `${type}/${doc.ix.at.toISOString().slice(0, 10)}`;
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  return out;
}

async function expectCountsMatchRecords(tenant: string): Promise<CountMap> {
  const db = await harness.archiveDb(tenant);
  const fromRecords = await recordCounts(db);
  expect(Object.keys(fromRecords).length).toBeGreaterThan(0);
  expect(await storedCounts(db)).toEqual(fromRecords);
  return fromRecords;
}

/** Two runs: the second updates some calls (a third of them moved to the next day), a chat and a contact, and adds new records. */
async function twoRuns(tenant: string) {
  const drop = await harness.setUpTenant(tenant);
  const calls = demo(tenant, 'call-logs', 0);
  const chats = demo(tenant, 'chats', 0);
  const contacts = demo(tenant, 'contacts', 0);
  await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': calls, chats, contacts } });
  await importManifest(harness.deps, tenant, drop.head?.path as string);
  const first = await expectCountsMatchRecords(tenant);

  const moved = calls.filter((_, index) => index % 3 === 0);
  const shifted = (call: CallLog, updatedBy: number, days: number): CallLog => ({
    ...call,
    updatedAt: later(call.updatedAt, updatedBy),
    startedAt: later(call.startedAt, days * DAY),
    endedAt: later(call.endedAt, days * DAY),
    ...(call.answeredAt ? { answeredAt: later(call.answeredAt, days * DAY) } : {}),
  });
  const updatedCalls = moved.map((call) => ({ ...shifted(call, 2 * DAY, 1), notes: 'moved a day' }));
  // Calls delivered again in the version the archive holds, but on other days: they change nothing, counts included.
  const stale = calls.slice(1, 3).map((call) => shifted(call, 0, 5));
  const chat = chats[0] as Chat;
  const contact = contacts[0] as Contact;
  await drop.deliver({
    runId: 'r2',
    window: windowOf(1),
    records: {
      'call-logs': [...updatedCalls, ...stale, ...demo(tenant, 'call-logs', 1)],
      chats: [{ ...chat, updatedAt: later(chat.updatedAt, 2 * DAY), tags: ['again'] }, ...demo(tenant, 'chats', 1)],
      contacts: [{ ...contact, updatedAt: later(contact.updatedAt, 2 * DAY), createdAt: later(contact.createdAt, -DAY) }, ...demo(tenant, 'contacts', 1)],
    },
  });
  return { drop, first, moved };
}

describe('daily counts kept at import', () => {
  it('equal the counts of the records after incremental imports, a record updated to another day moving with it', async () => {
    const tenant = 'counts-incremental';
    const { drop, first, moved } = await twoRuns(tenant);
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    const second = await expectCountsMatchRecords(tenant);
    const day0 = `call-logs/${T0.toISOString().slice(0, 10)}`;
    expect(second[day0]).toBeLessThan(first[day0] as number);
    expect(moved.length).toBeGreaterThan(0);

    const again = await importManifest(harness.deps, tenant, drop.head?.path as string);
    expect(again.status).toBe('already-imported');
    expect(await storedCounts(await harness.archiveDb(tenant))).toEqual(second);
  });

  it('answer the dashboard with the same numbers as counting the records', async () => {
    const tenant = 'counts-dashboard';
    const { drop } = await twoRuns(tenant);
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    const access = { tenantId: tenant, scope: FULL_ARCHIVE_SCOPE };
    const range = { from: new Date(T0.getTime() - 10 * DAY), to: new Date(T0.getTime() + 20 * DAY), timeZone: 'Etc/UTC' };
    const counted = await harness.store.countsPerDay(access, range);
    expect(counted.length).toBeGreaterThan(1);
    expect(await harness.store.dailyCounts(access, range)).toEqual(counted);
    const chatsOnly = { tenantId: tenant, scope: { types: ['chats'] as RecordType[] } };
    expect(await harness.store.dailyCounts(chatsOnly, range)).toEqual(await harness.store.countsPerDay(chatsOnly, range));
  });

  it('are recounted after a write that did not finish, and by a rebuild', async () => {
    const tenant = 'counts-recount';
    const { drop } = await twoRuns(tenant);
    const db = await harness.archiveDb(tenant);
    // As a crash between a batch of records and its counts leaves them: wrong, and marked as in writing.
    await db.collection<{ _id: string }>(DAILY_COUNTS_COLLECTION).updateMany({ _id: { $ne: 'state' } }, { $inc: { count: 7 } });
    await db.collection<{ _id: string }>(DAILY_COUNTS_COLLECTION).updateOne({ _id: 'state' }, { $set: { writing: 'an import that died' } });
    const access = { tenantId: tenant, scope: FULL_ARCHIVE_SCOPE };
    const range = { from: new Date(T0.getTime() - 10 * DAY), to: new Date(T0.getTime() + 20 * DAY), timeZone: 'Etc/UTC' };
    expect(await harness.store.dailyCounts(access, range)).toEqual(await harness.store.countsPerDay(access, range));
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    await expectCountsMatchRecords(tenant);

    await db.collection<{ _id: string }>(DAILY_COUNTS_COLLECTION).updateMany({ _id: { $ne: 'state' } }, { $inc: { count: 3 } });
    const rebuilt = await rebuildArchive(harness.deps, tenant);
    expect(rebuilt.failed).toEqual([]);
    await expectCountsMatchRecords(tenant);
  });

  it('counts an archive filled before counts were kept from its records at the next import', async () => {
    const tenant = 'counts-legacy';
    const { drop } = await twoRuns(tenant);
    const db = await harness.archiveDb(tenant);
    await db.collection(DAILY_COUNTS_COLLECTION).drop();
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    await expectCountsMatchRecords(tenant);
  });

  it('lose what archive retention purges', async () => {
    const tenant = 'counts-purge';
    const { drop } = await twoRuns(tenant);
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    const db = await harness.archiveDb(tenant);
    const before = await expectCountsMatchRecords(tenant);
    const result = await purgeExpiredRecords(db, tenant, {
      retentionDays: { 'call-logs': 1, chats: 1 },
      holds: [],
      dryRun: false,
      now: new Date(T0.getTime() + 2 * DAY),
    });
    expect(result.types['call-logs']?.ids.length).toBeGreaterThan(0);
    expect(result.types.chats?.ids.length).toBeGreaterThan(0);
    const after = await expectCountsMatchRecords(tenant);
    const total = (counts: CountMap, type: RecordType) => Object.entries(counts).reduce((n, [key, count]) => (key.startsWith(`${type}/`) ? n + count : n), 0);
    expect(total(after, 'call-logs')).toBe(total(before, 'call-logs') - (result.types['call-logs']?.ids.length ?? 0));
    expect(total(after, 'chats')).toBe(total(before, 'chats') - (result.types.chats?.ids.length ?? 0));
  });
});
