import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ManifestFile } from '../../../src/archive/manifest.js';
import { importManifest } from '../../../src/import/import-manifest.js';
import { DEFAULT_INFLATE_LIMITS, type InflateLimitError } from '../../../src/import/record-file-reader.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const DAY = 86_400_000;
const T0 = new Date('2026-04-06T00:00:00.000Z');
let harness: ImportHarness;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
});
afterAll(async () => {
  await harness?.close();
});

function demo<T extends RecordType>(tenantId: string, type: T, day: number, count: number) {
  const from = new Date(T0.getTime() + day * DAY);
  const records = [
    ...generateRecords({ seed: 5, tenantId, type, from, to: new Date(from.getTime() + DAY), ratesPerHour: { [type]: Math.ceil(count / 24) + 1 } }),
  ];
  expect(records.length).toBeGreaterThanOrEqual(count);
  return records.slice(0, count);
}
const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });
const later = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** Every collection of the tenant's archive database with all its documents (by `_id`) and its indexes. */
async function fullSnapshot(tenantId: string): Promise<Record<string, { documents: unknown[]; indexes: unknown[] }>> {
  const db = await harness.archiveDb(tenantId);
  const out: Record<string, { documents: unknown[]; indexes: unknown[] }> = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  for (const name of names) {
    const indexes = (await db.collection(name).indexes())
      .map(({ name: index, key }) => ({ index, key }))
      .sort((a, b) => String(a.index).localeCompare(String(b.index)));
    out[name] = { documents: await db.collection(name).find({}).sort({ _id: 1 }).toArray(), indexes };
  }
  return out;
}

const OTHER_TENANT = 'someone-else';
const CALLS = 1_250;
const CALLS_PER_FILE = 1_100;
const CONTACTS = 60;

interface Refusal {
  calls?: (calls: unknown[]) => void;
  contacts?: (contacts: unknown[]) => void;
  files?: (files: ManifestFile[]) => void;
  code: string;
  /** The file the refusal names: call-logs part 1 or 2, or the contacts file. */
  file: 'call-logs-1' | 'call-logs-2' | 'contacts-1';
}

const otherTenant = (records: unknown[], index: number) => {
  records[index] = { ...(records[index] as object), tenantId: OTHER_TENANT };
};
const invalid = (records: unknown[], index: number) => {
  records[index] = { ...(records[index] as object), createdAt: 'yesterday' };
};
const fileOf = (files: ManifestFile[], type: RecordType, part: number) => files.find((f) => f.type === type && f.part === part) as ManifestFile;

/**
 * The second run of a tenant: newer versions of every call and contact the first run delivered, and new ones,
 * 1,250 calls in two files (1,100 and 150) and 60 contacts in one, so a load in batches of 1,000 has written a full
 * batch long before the 1,201st record. `refusal` spoils one record or one count.
 */
async function deliverSecondRun(tenant: string, first: { calls: CallLog[]; contacts: Contact[] }, refusal?: Refusal) {
  const drop = await harness.setUpTenant(tenant);
  await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': first.calls, contacts: first.contacts } });
  await importManifest(harness.deps, tenant, drop.head?.path as string);
  const calls: unknown[] = [
    ...first.calls.map((call) => ({ ...call, updatedAt: later(call.updatedAt, 3_600_000), notes: 'second run' })),
    ...demo(tenant, 'call-logs', 1, CALLS - first.calls.length),
  ];
  const contacts: unknown[] = [
    ...first.contacts.map((contact) => ({ ...contact, updatedAt: later(contact.updatedAt, 3_600_000), displayName: 'Second Run' })),
    ...demo(tenant, 'contacts', 1, CONTACTS - first.contacts.length),
  ];
  refusal?.calls?.(calls);
  refusal?.contacts?.(contacts);
  const link = await drop.deliver({
    runId: 'r2',
    window: windowOf(1),
    records: { 'call-logs': calls, contacts },
    maxRecords: CALLS_PER_FILE,
    ...(refusal?.files ? { alterFiles: refusal.files } : {}),
  });
  return { drop, link };
}

describe('a refused manifest leaves the archive exactly as it was', () => {
  const firstRun = (tenant: string) => ({ calls: demo(tenant, 'call-logs', 0, 300) as CallLog[], contacts: demo(tenant, 'contacts', 0, 20) as Contact[] });

  it('the unspoiled second run, for comparison, updates and adds records in every file', async () => {
    const tenant = 'aon-control';
    const { link } = await deliverSecondRun(tenant, firstRun(tenant));
    const before = await harness.snapshot(tenant);
    const outcome = await importManifest(harness.deps, tenant, link.path);
    expect(outcome.status === 'imported' && outcome.counts.types['call-logs']).toEqual({ records: CALLS, inserted: CALLS - 300, updated: 300, unchanged: 0 });
    expect(outcome.status === 'imported' && outcome.counts.types.contacts).toEqual({ records: CONTACTS, inserted: CONTACTS - 20, updated: 20, unchanged: 0 });
    const after = await harness.snapshot(tenant);
    expect(after.callLogs).toHaveLength((before.callLogs?.length ?? 0) + CALLS - 300);
  });

  it.each<[string, Refusal]>([
    ['the first record belongs to another tenant', { calls: (c) => otherTenant(c, 0), code: 'ERR_ARCHIVE_TENANT_MISMATCH', file: 'call-logs-1' }],
    ['record 1,000 (the last of the first batch) is invalid', { calls: (c) => invalid(c, 999), code: 'ERR_IMPORT_RECORD_INVALID', file: 'call-logs-1' }],
    [
      'record 1,001 (the first of the second batch) belongs to another tenant',
      { calls: (c) => otherTenant(c, 1_000), code: 'ERR_ARCHIVE_TENANT_MISMATCH', file: 'call-logs-1' },
    ],
    [
      'the 1,201st record (in the second call-log file) belongs to another tenant',
      { calls: (c) => otherTenant(c, 1_200), code: 'ERR_ARCHIVE_TENANT_MISMATCH', file: 'call-logs-2' },
    ],
    ['the first record of the contacts file is invalid', { contacts: (c) => invalid(c, 0), code: 'ERR_IMPORT_RECORD_INVALID', file: 'contacts-1' }],
    [
      'the last record of the last file belongs to another tenant',
      { contacts: (c) => otherTenant(c, CONTACTS - 1), code: 'ERR_ARCHIVE_TENANT_MISMATCH', file: 'contacts-1' },
    ],
    [
      'the first file holds one record fewer than the manifest says',
      { files: (f) => void (fileOf(f, 'call-logs', 1).records += 1), code: 'ERR_IMPORT_COUNT_MISMATCH', file: 'call-logs-1' },
    ],
    [
      'the last file holds one record more than the manifest says',
      { files: (f) => void (fileOf(f, 'contacts', 1).records -= 1), code: 'ERR_IMPORT_COUNT_MISMATCH', file: 'contacts-1' },
    ],
  ])('when %s', async (_name, refusal) => {
    const tenant = `aon-${refusal.file}-${Math.random().toString(36).slice(2, 8)}`;
    const { link } = await deliverSecondRun(tenant, firstRun(tenant), refusal);
    const before = await fullSnapshot(tenant);
    expect(before['callLogs']?.documents).toHaveLength(300);

    const err = await importManifest(harness.deps, tenant, link.path).catch((e: unknown) => e);
    const [type, part] = refusal.file === 'contacts-1' ? ['contacts', '0001'] : ['call-logs', refusal.file === 'call-logs-1' ? '0001' : '0002'];
    expect(err).toMatchObject({ code: refusal.code, file: expect.stringMatching(new RegExp(`/${type}/${type}-.*-${part}\\.json\\.gz$`)) });
    expect(await fullSnapshot(tenant)).toEqual(before);
    expect((await harness.deps.imports.get(tenant, link.path))?.status).toBe('failed');
  });

  it('a gzip bomb as the last file is refused before anything is written, its inflating stopped at the limit', async () => {
    const tenant = 'aon-bomb';
    const drop = await harness.setUpTenant(tenant);
    await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': firstRun(tenant).calls } });
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    const before = await fullSnapshot(tenant);
    const bomb = gzipSync(Buffer.concat([Buffer.from('['), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from(']')]), { level: 9 });
    const link = await drop.deliver({
      runId: 'r2',
      window: windowOf(1),
      records: { 'call-logs': demo(tenant, 'call-logs', 1, 1_200) },
      rawFiles: [{ type: 'contacts', part: 1, records: 0, bytes: bomb }],
    });

    const err = await importManifest(harness.deps, tenant, link.path).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
      file: expect.stringContaining('/contacts/'),
      message: expect.stringContaining('IMPORT_MAX_INFLATE_RATIO'),
    });
    const inflated = ((err as Error).cause as InflateLimitError).inflatedBytes;
    expect(inflated).toBeGreaterThan(DEFAULT_INFLATE_LIMITS.ratioAfterBytes);
    expect(inflated).toBeLessThan(DEFAULT_INFLATE_LIMITS.ratioAfterBytes + 1024 * 1024);
    expect(await fullSnapshot(tenant)).toEqual(before);
    expect((await harness.deps.imports.get(tenant, link.path))?.error).toMatchObject({ code: 'ERR_IMPORT_INFLATE_RATIO_EXCEEDED', permanent: true });
  });

  it('a refused first manifest leaves a new archive database without a collection, a marker or an index', async () => {
    const tenant = 'aon-fresh';
    const drop = await harness.setUpTenant(tenant);
    const calls: unknown[] = demo(tenant, 'call-logs', 0, CALLS);
    otherTenant(calls, 1_200);
    const link = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': calls } });
    await expect(importManifest(harness.deps, tenant, link.path)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_TENANT_MISMATCH' });
    expect(await fullSnapshot(tenant)).toEqual({});

    const repaired = await drop.deliver({ runId: 'r2', window: windowOf(1), records: { 'call-logs': demo(tenant, 'call-logs', 1, 10) }, previous: null });
    expect((await importManifest(harness.deps, tenant, repaired.path)).status).toBe('imported');
    expect(Object.keys(await fullSnapshot(tenant))).toContain('archiveInfo');
  });
});
