import { Worker } from 'bullmq';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry } from '../../../src/audit/audit-entry.js';
import { importManifest } from '../../../src/import/import-manifest.js';
import {
  createImportQueues,
  enqueueRebuild,
  IMPORT_QUEUE_NAMES,
  rebuildJobIds,
  rebuildStatus,
  type ImportQueues,
  type RebuildStatus,
} from '../../../src/queue/import-queues.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { startImportWorkers, type ImportWorkers } from '../../../worker/import-workers.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';
import { uniqueDbName } from '../../support/mongo.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const DAY = 86_400_000;
const T0 = new Date('2026-04-06T00:00:00.000Z');
const redis = createTestRedis();
const prefix = uniqueName('qrb');
const idlePrefix = uniqueName('qrb-idle');
const settlingPrefix = uniqueName('qrb-settling');
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
  await cleanupPrefix(redis, idlePrefix);
  await cleanupPrefix(redis, settlingPrefix);
  await redis.quit();
});

function demo<T extends RecordType>(tenantId: string, type: T, day: number, perHour: number) {
  return [
    ...generateRecords({
      seed: 21,
      tenantId,
      type,
      from: new Date(T0.getTime() + day * DAY),
      to: new Date(T0.getTime() + day * DAY + 6 * 3600_000),
      ratesPerHour: { [type]: perHour },
    }),
  ];
}
const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });

const finished = (tenantId: string): Promise<RebuildStatus> =>
  pollUntil(
    `the rebuild of ${tenantId}`,
    () => rebuildStatus(queues, tenantId),
    (status) => status.last !== undefined && status.running === undefined && status.queued === undefined,
  );

const audits = (tenantId: string, action: string): Promise<AuditEntry[]> => harness.controlPlane.audit.list(tenantId, { action });

describe('a queued rebuild, processed by the archive workers', () => {
  it('empties the archive, now in another database, and refills it from the drop exactly as the imports built it; audited', async () => {
    const tenant = 'qrb-moved';
    const drop = await harness.setUpTenant(tenant);
    const chats = demo(tenant, 'chats', 0, 12) as Chat[];
    for (let day = 0; day < 3; day += 1) {
      const updated = chats.slice(0, 3).map((c) => ({
        ...c,
        updatedAt: new Date(Date.parse(c.updatedAt) + day * DAY).toISOString(),
        messages: c.messages.slice(0, Math.max(1, c.messages.length - day)),
      }));
      await drop.deliver({
        runId: `r${day}`,
        window: windowOf(day),
        records: { 'call-logs': demo(tenant, 'call-logs', day, 20), chats: day === 0 ? chats : updated, contacts: demo(tenant, 'contacts', day, 6) },
        maxRecords: 25,
      });
      await importManifest(harness.deps, tenant, drop.head?.path as string);
    }
    const incremental = await harness.snapshot(tenant);
    expect(incremental.callLogs?.length).toBeGreaterThan(0);
    extraDatabases.push(await harness.archiveDb(tenant));

    // the administrator points the archive at a database of its own, which starts with stale data
    const ownUrl = new URL(inject('mongoUrl'));
    ownUrl.pathname = `/${uniqueDbName('qrb_own')}`;
    const stored = await harness.controlPlane.settings.requireRetention(tenant);
    await harness.controlPlane.settings.putRetention(
      tenant,
      { ...stored.value, archiveMongoUri: harness.sealArchiveUri(tenant, ownUrl.toString()) },
      { actor: 'test', expectedVersion: stored.version },
    );
    const own = await harness.archiveDb(tenant);
    expect(own.databaseName).not.toBe(extraDatabases[0]?.databaseName);
    await own.collection('callLogs').insertOne({ _id: 'stale-record' } as never);

    expect(await enqueueRebuild(queues, tenant, { type: 'user', id: 'u-admin' })).toEqual({ jobId: rebuildJobIds(tenant)[0], queued: true });
    const status = await finished(tenant);
    expect(status.last).toMatchObject({ outcome: 'completed', imported: 3, refused: 0 });

    expect(await harness.snapshot(tenant)).toEqual(incremental);
    expect((await harness.deps.imports.list(tenant)).map((r) => r.status)).toEqual(['imported', 'imported', 'imported']);
    const rebuilt = await audits(tenant, 'archive.rebuilt');
    expect(rebuilt).toHaveLength(1);
    expect(rebuilt[0]).toMatchObject({ outcome: 'success', actor: { type: 'system' }, details: { imported: 3, failed: 0 } });
    expect(await harness.deps.leases.withLease(tenant, 'test', async () => 'free')).toBe('free');
  });

  it('fails a rebuild of a tenant in offline mode at once, without retries, and audits the failure with the requester', async () => {
    const tenant = 'qrb-offline';
    await harness.setUpTenant(tenant, { mode: 'offline' });
    await enqueueRebuild(queues, tenant, { type: 'user', id: 'u-offline' });
    const status = await finished(tenant);
    expect(status.last).toMatchObject({ outcome: 'failed' });
    expect(status.last?.outcome === 'failed' && status.last.reason).toContain('ERR_IMPORT_NOT_ONLINE');
    const job = await queues.maintenance.getJob(rebuildJobIds(tenant)[0]);
    expect(job?.attemptsMade).toBe(1);
    const [failure] = await pollUntil(
      'the failure audit',
      () => audits(tenant, 'archive.rebuilt'),
      (entries) => entries.length > 0,
    );
    expect(failure).toMatchObject({
      outcome: 'failure',
      actor: { type: 'system', id: 'worker' },
      details: { code: 'ERR_IMPORT_NOT_ONLINE', imported: 0, attempts: 1, requestedBy: 'user:u-offline' },
    });

    // asking again replaces the failed job with a new one
    expect(await enqueueRebuild(queues, tenant, { type: 'user', id: 'u-offline' })).toMatchObject({ queued: true });
    await pollUntil(
      'the second failure audit',
      () => audits(tenant, 'archive.rebuilt'),
      (entries) => entries.length === 2,
    );
  });
});

describe('rebuild requests (no worker: a job is started by hand)', () => {
  it('queue one rebuild for two requests while it waits, one more to follow a running one, and report the states', async () => {
    const idle = createImportQueues(redis, idlePrefix);
    const manual = new Worker(IMPORT_QUEUE_NAMES.maintenance, null, { connection: redis, prefix: idlePrefix });
    try {
      const tenant = 'qrb-requests';
      const [first, next] = rebuildJobIds(tenant);
      expect(await rebuildStatus(idle, tenant)).toEqual({});
      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-1' })).toEqual({ jobId: first, queued: true });
      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-2' })).toEqual({ jobId: first, queued: false });
      expect((await idle.maintenance.getWaiting()).map((job) => [job.id, job.data])).toEqual([
        [first, { tenantId: tenant, requestedBy: { type: 'user', id: 'u-1' } }],
      ]);
      expect((await rebuildStatus(idle, tenant)).queued).toBeDefined();

      const running = await manual.getNextJob('token-1');
      expect(running?.id).toBe(first);
      await running?.updateProgress({ imported: 2 });
      expect(await rebuildStatus(idle, tenant)).toMatchObject({ running: { imported: 2 } });
      expect((await rebuildStatus(idle, tenant)).queued).toBeUndefined();

      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-3' })).toEqual({ jobId: next, queued: true });
      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-4' })).toEqual({ jobId: next, queued: false });
      expect(await idle.maintenance.getWaitingCount()).toBe(1);
      expect(await rebuildStatus(idle, tenant)).toMatchObject({ running: { imported: 2 }, queued: {} });

      await running?.moveToCompleted({ imported: 5, refused: 1, refusals: [] }, 'token-1', false);
      const after = await rebuildStatus(idle, tenant);
      expect(after.running).toBeUndefined();
      expect(after.queued).toBeDefined();
      expect(after.last).toMatchObject({ outcome: 'completed', imported: 5, refused: 1 });
      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-5' })).toEqual({ jobId: next, queued: false });
    } finally {
      await manual.close();
      await idle.close();
    }
  });

  it('reports a rebuild that finishes between reading its job and its state with the counts it returned', async () => {
    const idle = createImportQueues(redis, settlingPrefix);
    const manual = new Worker(IMPORT_QUEUE_NAMES.maintenance, null, { connection: redis, prefix: settlingPrefix });
    try {
      const tenant = 'qrb-settling';
      expect(await enqueueRebuild(idle, tenant, { type: 'user', id: 'u-1' })).toMatchObject({ queued: true });
      const running = await manual.getNextJob('token-2');
      expect(running).toBeDefined();
      // The real queue, with one interleaving forced: the job completes right after rebuildStatus has read it.
      let complete = true;
      const maintenance = new Proxy(idle.maintenance, {
        get(target, key, receiver) {
          if (key !== 'getJob') return Reflect.get(target, key, receiver) as unknown;
          return async (jobId: string) => {
            const job = await target.getJob(jobId);
            if (complete && job?.id === running?.id) {
              complete = false;
              await running?.moveToCompleted({ imported: 7, refused: 0, refusals: [] }, 'token-2', false);
            }
            return job;
          };
        },
      });
      const status = await rebuildStatus({ ...idle, maintenance }, tenant);
      expect(complete).toBe(false);
      expect(status).toEqual({ last: { outcome: 'completed', finishedAt: expect.any(Date) as Date, imported: 7, refused: 0 } });
    } finally {
      await manual.close();
      await idle.close();
    }
  });
});
