import { rebuildArchive } from '../../../src/import/rebuild-archive.js';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry } from '../../../src/audit/audit-entry.js';
import { importManifest } from '../../../src/import/import-manifest.js';
import { createImportQueues, rebuildJobIds, rebuildStatus, type ImportQueues, type RebuildStatus } from '../../../src/queue/import-queues.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { ARCHIVE_INFO_COLLECTION, readArchiveMarker } from '../../../src/store/archive/archive-marker.js';
import { startImportWorkers, type ImportWorkers } from '../../../worker/import-workers.js';
import { processTenantPoll, processTenantPurge } from '../../../worker/processors/import-processor.js';
import type { DropBuilder } from '../../support/import/drop-builder.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T00:00:00.000Z');
const redis = createTestRedis();
const prefix = uniqueName('heal');
let harness: ImportHarness;
let queues: ImportQueues;
let workers: ImportWorkers;
const extraDatabases: Db[] = [];

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'), { batchSize: 40 });
  queues = createImportQueues(redis, prefix);
  workers = startImportWorkers(harness.deps, queues, redis, { stalledIntervalMs: 1_000, lockDurationMs: 5_000 });
});

afterAll(async () => {
  await workers?.close();
  await queues?.close();
  for (const db of extraDatabases) await db.dropDatabase().catch(() => undefined);
  await harness?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

function demo(tenantId: string, type: RecordType, day: number, perHour: number) {
  return [
    ...generateRecords({
      seed: 5,
      tenantId,
      type,
      from: new Date(T0.getTime() + day * DAY),
      to: new Date(T0.getTime() + day * DAY + 6 * 3600_000),
      ratesPerHour: { [type]: perHour },
    }),
  ];
}

/** Delivers run `r<day>` and returns its manifest path. */
async function deliver(drop: DropBuilder, tenantId: string, day: number): Promise<string> {
  const from = new Date(T0.getTime() + day * DAY);
  const link = await drop.deliver({
    runId: `r${day}`,
    window: { from, to: new Date(from.getTime() + DAY) },
    records: { 'call-logs': demo(tenantId, 'call-logs', day, 10), contacts: demo(tenantId, 'contacts', day, 3) },
    maxRecords: 25,
  });
  return link.path;
}

const audits = (tenantId: string, action: string): Promise<AuditEntry[]> => harness.controlPlane.audit.list(tenantId, { action });
const finished = (tenantId: string): Promise<RebuildStatus> =>
  pollUntil(
    `the rebuild of ${tenantId}`,
    () => rebuildStatus(queues, tenantId),
    (status) => status.last !== undefined && status.running === undefined && status.queued === undefined,
  );

describe('an archive database lost or replaced while imports are recorded', () => {
  it('is rebuilt: the poll queues a rebuild (audited, once) and the worker restores the archive as it was', async () => {
    const tenant = 'heal-dropped';
    const drop = await harness.setUpTenant(tenant);
    for (let day = 0; day < 2; day += 1) await importManifest(harness.deps, tenant, await deliver(drop, tenant, day));
    const before = await harness.snapshot(tenant);
    expect(before.callLogs?.length).toBeGreaterThan(0);
    expect(await readArchiveMarker(await harness.archiveDb(tenant))).toMatchObject({ tenantId: tenant });

    await (await harness.archiveDb(tenant)).dropDatabase();
    expect(await processTenantPoll(harness.deps, queues, tenant)).toEqual({ enqueued: [], rebuild: true });
    // a second poll while the rebuild is queued or running (or once it finished) queues nothing more
    expect((await processTenantPoll(harness.deps, queues, tenant)).enqueued).toEqual([]);

    const status = await finished(tenant);
    expect(status.last).toMatchObject({ outcome: 'completed', imported: 2, refused: 0 });
    expect(await harness.snapshot(tenant)).toEqual(before);
    expect(await readArchiveMarker(await harness.archiveDb(tenant))).toMatchObject({ tenantId: tenant });
    const job = await queues.maintenance.getJob(rebuildJobIds(tenant)[0]);
    expect(job?.data).toEqual({ tenantId: tenant, requestedBy: { type: 'system', id: 'worker' } });
    expect(await queues.maintenance.getJob(rebuildJobIds(tenant)[1])).toBeUndefined();

    const requested = await audits(tenant, 'archive.rebuild-requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]).toMatchObject({ outcome: 'success', actor: { type: 'system', id: 'worker' }, details: { trigger: 'archive-missing' } });
    expect(await audits(tenant, 'archive.rebuilt')).toHaveLength(1);

    // healed: the next poll imports incrementally again
    expect(await processTenantPoll(harness.deps, queues, tenant)).toEqual({ enqueued: [] });
    expect(await audits(tenant, 'archive.rebuild-requested')).toHaveLength(1);
  });

  it('is not imported into incrementally: an import refuses it (transient) and writes nothing', async () => {
    const tenant = 'heal-refuse';
    const drop = await harness.setUpTenant(tenant);
    await importManifest(harness.deps, tenant, await deliver(drop, tenant, 0));
    await (await harness.archiveDb(tenant)).dropDatabase();
    const next = await deliver(drop, tenant, 1);
    await expect(importManifest(harness.deps, tenant, next)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_MISSING' });
    const db = await harness.archiveDb(tenant);
    expect(Object.values(await harness.snapshot(tenant)).flat()).toEqual([]);
    expect(await readArchiveMarker(db)).toBeUndefined();
    expect((await harness.deps.imports.get(tenant, next))?.status).toBe('importing');
  });

  it("holding another tenant's archive fails the poll, imports and a rebuild asked for by hand, and leaves that archive alone", async () => {
    const owner = 'heal-owner';
    const ownerDrop = await harness.setUpTenant(owner);
    await importManifest(harness.deps, owner, await deliver(ownerDrop, owner, 0));
    const ownerDb = await harness.archiveDb(owner);
    const ownerBefore = await harness.snapshot(owner);

    const tenant = 'heal-pointed';
    const drop = await harness.setUpTenant(tenant);
    await importManifest(harness.deps, tenant, await deliver(drop, tenant, 0));
    extraDatabases.push(await harness.archiveDb(tenant));
    const url = new URL(inject('mongoUrl'));
    url.pathname = `/${ownerDb.databaseName}`;
    const stored = await harness.controlPlane.settings.requireRetention(tenant);
    await harness.controlPlane.settings.putRetention(
      tenant,
      { ...stored.value, archiveMongoUri: harness.sealArchiveUri(tenant, url.toString()) },
      { actor: 'test', expectedVersion: stored.version },
    );

    await expect(processTenantPoll(harness.deps, queues, tenant)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FOREIGN' });
    await expect(importManifest(harness.deps, tenant, await deliver(drop, tenant, 1))).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FOREIGN' });
    expect(await rebuildStatus(queues, tenant)).toEqual({});
    await expect(rebuildArchive(harness.deps, tenant)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FOREIGN' });
    expect(await harness.snapshot(owner)).toEqual(ownerBefore);
    expect(await readArchiveMarker(ownerDb)).toMatchObject({ tenantId: owner });
  });
});

describe('archives that are not missing', () => {
  it('an archive with records but no marker (built before markers) is marked by the poll, not rebuilt', async () => {
    const tenant = 'heal-legacy';
    const drop = await harness.setUpTenant(tenant);
    await importManifest(harness.deps, tenant, await deliver(drop, tenant, 0));
    const db = await harness.archiveDb(tenant);
    await db.collection(ARCHIVE_INFO_COLLECTION).deleteMany({});
    const before = await harness.snapshot(tenant);

    expect(await processTenantPoll(harness.deps, queues, tenant)).toEqual({ enqueued: [] });
    expect(await readArchiveMarker(db)).toMatchObject({ tenantId: tenant });
    expect(await rebuildStatus(queues, tenant)).toEqual({});
    expect(await audits(tenant, 'archive.rebuild-requested')).toEqual([]);
    expect(await harness.snapshot(tenant)).toEqual(before);

    // and a later import goes on incrementally
    expect(await importManifest(harness.deps, tenant, await deliver(drop, tenant, 1))).toMatchObject({ status: 'imported' });
  });

  it('a fresh tenant with nothing imported is imported incrementally by the poll, and its archive is marked', async () => {
    const tenant = 'heal-fresh';
    const drop = await harness.setUpTenant(tenant);
    const paths = [await deliver(drop, tenant, 0), await deliver(drop, tenant, 1)];
    expect(await readArchiveMarker(await harness.archiveDb(tenant))).toBeUndefined();

    expect(await processTenantPoll(harness.deps, queues, tenant)).toEqual({ enqueued: paths });
    const records = await pollUntil(
      'the imports',
      () => harness.deps.imports.list(tenant),
      (list) => list.length === 2 && list.every((r) => r.status === 'imported'),
    );
    expect(records.map((r) => r.path).sort()).toEqual([...paths].sort());
    const marker = await readArchiveMarker(await harness.archiveDb(tenant));
    expect(marker?.tenantId).toBe(tenant);
    expect(marker?.createdAt).toBeInstanceOf(Date);
    expect(await rebuildStatus(queues, tenant)).toEqual({});
    expect(await audits(tenant, 'archive.rebuild-requested')).toEqual([]);
  });

  it('archive retention purges records but never the marker', async () => {
    const tenant = 'heal-purge';
    const drop = await harness.setUpTenant(tenant, { archiveRetentionDays: { 'call-logs': 1, contacts: 1 } });
    await importManifest(harness.deps, tenant, await deliver(drop, tenant, 0));
    const db = await harness.archiveDb(tenant);
    const marker = await readArchiveMarker(db);
    expect(marker).toMatchObject({ tenantId: tenant });

    const purged = await processTenantPurge(harness.deps, tenant);
    expect(purged['call-logs']).toBeGreaterThan(0);
    expect(await db.collection('callLogs').countDocuments({})).toBe(0);
    expect(await readArchiveMarker(db)).toEqual(marker);
  });
});
