import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ARCHIVE_PURGE_SCHEDULER_ID, createImportQueues, IMPORT_POLL_SCHEDULER_ID, type ImportQueues } from '../../../src/queue/import-queues.js';
import type { AlertEvent, AlertSink } from '../../../src/alerts/alert-event.js';
import { findLostRuns, replanJobId } from '../../../src/queue/lost-runs.js';
import { QueueReconciler } from '../../../src/queue/queue-reconciler.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { createExportHarness, type ExportHarness } from '../../support/export-harness.js';
import { cleanupPrefix, createTestRedis } from '../../support/redis.js';

/**
 * Issue 11.3: Redis lost without AOF. Redis holds only state derived from the control plane, so the workers put it
 * back without a person: schedulers, the archive's schedulers, and runs whose jobs vanished (a lost backfill is
 * planned again with its own windows).
 */

let h: ExportHarness;
let redis: Redis;
let importQueues: ImportQueues;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const HOUR = 3_600_000;

const settings = (cron: string, paused = false) => ({
  mode: 'offline',
  dataTypes: ['chats', 'contacts'],
  schedule: { cron, timezone: 'Europe/Berlin', paused },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: h.spoolDir },
});

const reconciler = (graceMs = 60_000) =>
  new QueueReconciler(
    { controlPlane: h.controlPlane, queues: h.queues, importQueues, redis, logger, now: () => new Date() },
    { intervalMs: 10_000, lostRunGraceMs: graceMs },
  );

/** What Redis losing its data looks like to this test bed: every key of its queue prefix gone at once. */
const loseRedisData = async (): Promise<void> => {
  await cleanupPrefix(redis, h.prefix);
};

async function activeRun(
  tenantId: string,
  runId: string,
  trigger: 'schedule' | 'backfill',
  ageMs: number,
  windows: Partial<Record<RecordType, { from: Date; to: Date }>>,
): Promise<void> {
  const createdAt = new Date(Date.now() - ageMs);
  expect(await h.controlPlane.checkpoints.claimRun(tenantId, runId, createdAt)).toBe(true);
  await h.controlPlane.runs.createIfAbsent({ id: runId, tenantId, trigger, windows, previous: null, chunkCount: 2, createdAt });
}

beforeAll(async () => {
  h = await createExportHarness(inject('mongoUrl'));
  redis = createTestRedis();
  importQueues = createImportQueues(redis, h.prefix);
});

afterAll(async () => {
  await importQueues?.close();
  await h?.close();
  await redis?.quit();
});

describe('QueueReconciler: schedulers come back without a person', () => {
  it('recreates every tenant scheduler and the archive schedulers after Redis lost its data, and leaves matching ones alone', async () => {
    for (const id of ['rec-a', 'rec-b', 'rec-paused']) await h.controlPlane.tenants.create({ id, displayName: id });
    await h.controlPlane.settings.putRetention('rec-a', settings('0 2 * * *'), { actor: 'test' });
    await h.controlPlane.settings.putRetention('rec-b', settings('30 3 * * *'), { actor: 'test' });
    await h.controlPlane.settings.putRetention('rec-paused', settings('0 4 * * *', true), { actor: 'test' });

    const first = await reconciler().reconcileOnce();
    expect(first).not.toBe('busy');
    if (first === 'busy') return;
    expect(first.schedules.created.sort()).toEqual(['rec-a', 'rec-b']);
    const next = (await h.queues.runs.getJobScheduler('tenant.rec-a'))?.next;
    expect(next).toBeGreaterThan(Date.now());

    const second = await reconciler().reconcileOnce();
    expect(second).toMatchObject({ redisWasEmpty: false, schedules: { created: [], updated: [], removed: [] }, archiveSchedulers: [], lostRuns: [] });
    expect((await h.queues.runs.getJobScheduler('tenant.rec-a'))?.next).toBe(next);

    await loseRedisData();
    expect(await h.queues.runs.getJobSchedulers(0, -1)).toEqual([]);
    const after = await reconciler().reconcileOnce();
    expect(after).toMatchObject({ redisWasEmpty: true, archiveSchedulers: [IMPORT_POLL_SCHEDULER_ID, ARCHIVE_PURGE_SCHEDULER_ID] });
    if (after === 'busy') return;
    expect(after.schedules.created.sort()).toEqual(['rec-a', 'rec-b']);
    expect(await h.queues.runs.getJobScheduler('tenant.rec-b')).toMatchObject({ pattern: '30 3 * * *', tz: 'Europe/Berlin' });
    expect(await h.queues.runs.getJobScheduler('tenant.rec-paused')).toBeUndefined();
    expect(await importQueues.imports.getJobScheduler(IMPORT_POLL_SCHEDULER_ID)).toBeDefined();
    expect(await importQueues.maintenance.getJobScheduler(ARCHIVE_PURGE_SCHEDULER_ID)).toBeDefined();
  });

  it('updates a scheduler whose cron differs from the settings, and removes one of a paused tenant', async () => {
    await h.controlPlane.tenants.create({ id: 'rec-drift', displayName: 'drift' });
    await h.controlPlane.settings.putRetention('rec-drift', settings('0 5 * * *'), { actor: 'test' });
    await reconciler().reconcileOnce();
    const stored = await h.controlPlane.settings.getRetention('rec-drift');
    await h.controlPlane.settings.putRetention('rec-drift', settings('15 6 * * *'), { actor: 'test', expectedVersion: stored?.version ?? 0 });
    const changed = await reconciler().reconcileOnce();
    expect(changed).toMatchObject({ schedules: { updated: ['rec-drift'] } });
    expect(await h.queues.runs.getJobScheduler('tenant.rec-drift')).toMatchObject({ pattern: '15 6 * * *' });
    const again = await h.controlPlane.settings.getRetention('rec-drift');
    await h.controlPlane.settings.putRetention('rec-drift', settings('15 6 * * *', true), { actor: 'test', expectedVersion: again?.version ?? 0 });
    expect(await reconciler().reconcileOnce()).toMatchObject({ schedules: { removed: ['rec-drift'] } });
  });

  it('lets one worker at a time reconcile: a second one at the same moment is busy', async () => {
    const results = await Promise.all([reconciler().reconcileOnce(), reconciler().reconcileOnce()]);
    expect(results.filter((r) => r === 'busy')).toHaveLength(1);
  });
});

describe('lost runs: jobs that vanished with Redis', () => {
  const window = { from: new Date(Date.UTC(2025, 0, 1)), to: new Date(Date.UTC(2025, 1, 1)) };

  it('ends a lost backfill and queues its own windows again, once, with a true message', async () => {
    const tenantId = 'lost-backfill';
    await h.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await h.controlPlane.settings.putRetention(tenantId, settings('0 2 * * *'), { actor: 'test' });
    await activeRun(tenantId, 'run-bf-1', 'backfill', 10 * 60_000, {
      chats: window,
      contacts: { from: window.from, to: new Date(window.to.getTime() - HOUR) },
    });

    const report = await reconciler().reconcileOnce();
    expect(report).toMatchObject({ lostRuns: [{ tenantId, runId: 'run-bf-1', replannedJobId: replanJobId(tenantId, 'run-bf-1') }] });
    const run = await h.controlPlane.runs.get(tenantId, 'run-bf-1');
    expect(run?.status).toBe('failed');
    expect(run?.errors.at(-1)).toMatchObject({ code: 'ERR_RUN_LOST' });
    expect(run?.errors.at(-1)?.message).toContain('was queued again');
    expect(run?.errors.at(-1)?.message).not.toContain('next run covers');
    expect((await h.controlPlane.checkpoints.get(tenantId)).activeRunId).toBeNull();

    const job = await h.queues.runs.getJob(replanJobId(tenantId, 'run-bf-1'));
    expect(job?.data).toEqual({
      tenantId,
      trigger: 'backfill',
      backfill: { from: window.from.toISOString(), to: window.to.toISOString() },
      types: ['chats', 'contacts'],
    });
    const audit = await h.controlPlane.audit.list(tenantId, { action: 'run.lost' });
    expect(audit).toEqual([
      expect.objectContaining({
        actor: { type: 'system', id: 'worker' },
        target: 'run-bf-1',
        details: expect.objectContaining({ code: 'ERR_RUN_LOST', trigger: 'backfill' }),
      }),
    ]);

    expect(await reconciler().reconcileOnce()).toMatchObject({ lostRuns: [] });
    expect(await h.controlPlane.audit.list(tenantId, { action: 'run.lost' })).toHaveLength(1);
  });

  it('ends a lost scheduled run, saying the next run covers its windows (its checkpoints never moved)', async () => {
    const tenantId = 'lost-schedule';
    await h.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await h.controlPlane.settings.putRetention(tenantId, settings('0 2 * * *'), { actor: 'test' });
    await activeRun(tenantId, 'run-s-1', 'schedule', 10 * 60_000, { chats: window });
    const report = await reconciler().reconcileOnce();
    expect(report).toMatchObject({ lostRuns: [{ tenantId, runId: 'run-s-1' }] });
    const run = await h.controlPlane.runs.get(tenantId, 'run-s-1');
    expect(run?.errors.at(-1)?.message).toContain('the next run covers its windows again');
    expect(await h.queues.runs.getJob(replanJobId(tenantId, 'run-s-1'))).toBeUndefined();
  });

  it('leaves a young run (its planner may be adding its jobs) and a run whose finalize job exists alone', async () => {
    const tenantId = 'lost-young';
    await h.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await activeRun(tenantId, 'run-y-1', 'backfill', 1_000, { chats: window });
    expect(await findLostRuns({ controlPlane: h.controlPlane, queues: h.queues, logger, now: () => new Date() }, [tenantId], { graceMs: 60_000 })).toEqual([]);
    expect((await h.controlPlane.runs.get(tenantId, 'run-y-1'))?.status).toBe('running');

    await h.queues.finalize.add('finalize', { tenantId, runId: 'run-y-1' }, { jobId: 'finalize.run-y-1', delay: 3_600_000 });
    expect(
      await findLostRuns({ controlPlane: h.controlPlane, queues: h.queues, logger, now: () => new Date(Date.now() + HOUR) }, [tenantId], { graceMs: 60_000 }),
    ).toEqual([]);
    expect((await h.controlPlane.runs.get(tenantId, 'run-y-1'))?.status).toBe('running');
  });

  it('ends a lost run exactly once when two workers find it at the same moment', async () => {
    const tenantId = 'lost-twice';
    await h.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await activeRun(tenantId, 'run-t-1', 'backfill', 10 * 60_000, { chats: window });
    const raised: AlertEvent[] = [];
    const alerts: AlertSink = {
      raise: (event) => {
        raised.push(event);
        return Promise.resolve({ status: 'queued', queued: 1, failed: 0 });
      },
    };
    const deps = { controlPlane: h.controlPlane, queues: h.queues, logger, now: () => new Date(), alerts };
    const [a, b] = await Promise.all([findLostRuns(deps, [tenantId]), findLostRuns(deps, [tenantId])]);
    expect([...(a ?? []), ...(b ?? [])]).toHaveLength(1);
    // The one that ended it alerts the tenant's recipients, once.
    expect(raised).toEqual([expect.objectContaining({ kind: 'run-failed', tenantId, runId: 'run-t-1', trigger: 'backfill', code: 'ERR_RUN_LOST' })]);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'run.lost' })).toHaveLength(1);
    expect(await h.queues.runs.getJob(replanJobId(tenantId, 'run-t-1'))).toBeDefined();
  });
});
