import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { syncAllSchedules, syncTenantSchedule } from '../../../src/queue/tenant-schedules.js';
import { ARCHIVE_PURGE_SCHEDULER_ID, createImportQueues, IMPORT_POLL_SCHEDULER_ID } from '../../../src/queue/import-queues.js';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { loadTenantSettings } from '../../../src/queue/queue-reconciler.js';
import type { RunJobData, RunJobResult } from '../../../src/queue/job-payloads.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import { parseRetentionSettings, type RetentionSettingsInput } from '../../../src/tenants/retention-settings.js';
import { startExportWorkers } from '../../../worker/export-workers.js';
import { TEST_ALLOWED_PRIVATE_DESTINATIONS, TEST_LOCAL_TARGET_BASE_DIR } from '../../support/destinations.js';
import { createExportHarness, TEST_MASTER_KEYS, type ExportHarness } from '../../support/export-harness.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

/**
 * Issue 15.3: several worker processes started at the same moment (a deployment, an autoscaler) must leave exactly one
 * job scheduler per scheduled tenant, and a due slot must become exactly one run per tenant however many workers
 * watch the queue.
 */

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'] as const;

const settingsInput = (cron: string, timezone: string, directory: string, paused = false): RetentionSettingsInput => ({
  mode: 'offline',
  dataTypes: ['contacts'],
  schedule: { cron, timezone, paused },
  source: { kind: 'demo', seed: 7, recordsPerHour: 60 },
  target: { kind: 'local', directory },
});

/** What every scheduled tenant of a fleet should end up with. */
interface ExpectedSchedule {
  pattern: string;
  tz: string;
}

/**
 * Seeds `count` scheduled tenants (cron and time zone varying with the index), `paused` paused ones, and returns the
 * scheduler each scheduled tenant should have.
 */
async function seedFleet(controlPlane: ControlPlane, prefix: string, count: number, paused: number, directory: string): Promise<Map<string, ExpectedSchedule>> {
  const expected = new Map<string, ExpectedSchedule>();
  const ids = Array.from({ length: count + paused }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  for (let start = 0; start < ids.length; start += 50) {
    await Promise.all(
      ids.slice(start, start + 50).map(async (tenantId, offset) => {
        const i = start + offset;
        const cron = `${i % 60} ${i % 24} * * *`;
        const tz = TIMEZONES[i % TIMEZONES.length] ?? 'UTC';
        await controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
        await controlPlane.settings.putRetention(tenantId, settingsInput(cron, tz, directory, i >= count), { actor: 'test' });
        if (i < count) expected.set(`tenant.${tenantId}`, { pattern: cron, tz });
      }),
    );
  }
  return expected;
}

/** Every scheduler of the runs queue, and the delayed run jobs per scheduler key (one each when nothing doubled). */
async function schedulerState(runs: Queue<RunJobData>): Promise<{ schedulers: Map<string, ExpectedSchedule>; nextJobs: Map<string, number> }> {
  const schedulers = new Map<string, ExpectedSchedule>();
  for (const s of await runs.getJobSchedulers(0, -1)) schedulers.set(s.key, { pattern: s.pattern ?? '', tz: s.tz ?? '' });
  const nextJobs = new Map<string, number>();
  for (const job of await runs.getJobs(['delayed', 'wait', 'prioritized'])) {
    const key = job.repeatJobKey ?? '(none)';
    nextJobs.set(key, (nextJobs.get(key) ?? 0) + 1);
  }
  return { schedulers, nextJobs };
}

function expectExactlyOnePerTenant(state: Awaited<ReturnType<typeof schedulerState>>, expected: Map<string, ExpectedSchedule>): void {
  expect([...state.schedulers.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, schedule] of expected) expect(state.schedulers.get(key), key).toEqual(schedule);
  expect([...state.nextJobs.keys()].sort()).toEqual([...expected.keys()].sort());
  expect([...state.nextJobs.values()].every((n) => n === 1)).toBe(true);
}

describe('job schedulers when several workers start at once', () => {
  let client: MongoClient;
  let redis: Redis;
  const dbNames: string[] = [];
  const prefixes: string[] = [];
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    client = await MongoClient.connect(inject('mongoUrl'));
    redis = createTestRedis();
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const prefix of prefixes) await cleanupPrefix(redis, prefix);
    for (const name of dbNames) await dropTestDatabase(client, name);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await redis?.quit();
    await client?.close();
  });

  async function fleet(count: number, paused: number) {
    const dbName = uniqueDbName('sched_boot');
    dbNames.push(dbName);
    const prefix = uniqueName('boot');
    prefixes.push(prefix);
    const directory = await mkdtemp(join(tmpdir(), 'sched-boot-'));
    dirs.push(directory);
    const controlPlane = createControlPlane(client.db(dbName));
    await ensureControlPlaneIndexes(controlPlane);
    const expected = await seedFleet(controlPlane, 'fleet', count, paused, directory);
    const runs = new Queue<RunJobData>(QUEUE_NAMES.runs, { connection: redis, prefix });
    // Leftovers a boot must clear: a tenant whose settings are gone, and one of a now paused tenant.
    const stale = parseRetentionSettings(settingsInput('0 1 * * *', 'UTC', directory));
    await syncTenantSchedule(runs, 'fleet-gone', stale);
    await syncTenantSchedule(runs, `fleet-${String(count).padStart(4, '0')}`, stale);
    // And one whose cron no longer matches its settings.
    await syncTenantSchedule(runs, 'fleet-0001', stale);
    return { dbName, prefix, controlPlane, expected, runs, directory };
  }

  it('three worker processes booting at the same moment leave one scheduler per scheduled tenant, none for paused or gone ones', async () => {
    const { dbName, prefix, expected, runs, directory } = await fleet(300, 20);
    const env = {
      ...process.env,
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DATABASE: dbName,
      QUEUE_PREFIX: prefix,
      RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
      SPOOL_DIR: join(directory, 'spool'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      NODE_ENV: 'test',
      ALLOWED_PRIVATE_DESTINATIONS: TEST_ALLOWED_PRIVATE_DESTINATIONS,
      LOCAL_TARGET_BASE_DIR: TEST_LOCAL_TARGET_BASE_DIR,
    };
    const started = Array.from({ length: 3 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-child.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      return new Promise<ChildProcess>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve(child);
        });
        child.once('exit', (code) => reject(new Error(`worker child exited before it was ready, with ${String(code)}`)));
      });
    });
    const ready = await Promise.all(started);

    expectExactlyOnePerTenant(await schedulerState(runs), expected);
    // Every process also upserts the archive's own schedulers at start: still one each, with one next job.
    const archive = createImportQueues(redis, prefix);
    try {
      for (const [queue, id] of [
        [archive.imports, IMPORT_POLL_SCHEDULER_ID],
        [archive.maintenance, ARCHIVE_PURGE_SCHEDULER_ID],
      ] as const) {
        expect((await queue.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual([id]);
        expect((await queue.getJobs(['delayed', 'wait', 'prioritized'])).filter((job) => job.repeatJobKey === id)).toHaveLength(1);
      }
    } finally {
      await archive.close();
    }

    for (const child of ready) child.kill('SIGTERM');
    const codes = await Promise.all(ready.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    expect(codes).toEqual([0, 0, 0]);
    await runs.close();
  }, 120_000);

  it('three reconciliations at once on their own connections (no lock held) still leave exactly one scheduler per tenant', async () => {
    const { controlPlane, prefix, expected, runs } = await fleet(300, 20);
    const connections = [createTestRedis(), createTestRedis(), createTestRedis()];
    const queues = connections.map((connection) => new Queue<RunJobData>(QUEUE_NAMES.runs, { connection, prefix }));
    try {
      const tenants = await loadTenantSettings(controlPlane, logger);
      const reports = await Promise.all(queues.map((queue) => syncAllSchedules(queue, tenants)));
      const changed = (pick: (r: (typeof reports)[number]) => string[]) => [...new Set(reports.flatMap(pick))].sort();
      expect(changed((r) => r.created)).toEqual(
        [...expected.keys()]
          .filter((k) => k !== 'tenant.fleet-0001')
          .map((k) => k.slice('tenant.'.length))
          .sort(),
      );
      expect(changed((r) => r.updated)).toEqual(['fleet-0001']);
      expect(changed((r) => r.removed)).toEqual(['fleet-0300', 'fleet-gone']);
      expectExactlyOnePerTenant(await schedulerState(runs), expected);

      // Running them again at once changes nothing: matching schedulers keep their next run.
      const before = new Map((await runs.getJobSchedulers(0, -1)).map((s) => [s.key, s.next]));
      const again = await Promise.all(queues.map((queue) => syncAllSchedules(queue, tenants)));
      expect(again.flatMap((r) => [...r.created, ...r.updated, ...r.removed])).toEqual([]);
      expect(new Map((await runs.getJobSchedulers(0, -1)).map((s) => [s.key, s.next]))).toEqual(before);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      await Promise.all(connections.map((connection) => connection.quit()));
      await runs.close();
    }
  }, 120_000);
});

describe('a due slot with two workers', () => {
  let h: ExportHarness;
  let second: Redis;
  let directory: string;

  beforeAll(async () => {
    h = await createExportHarness(inject('mongoUrl'), { options: { settleLagMs: 60_000, initialLookbackMs: 10 * 60_000 } });
    second = createTestRedis();
    directory = await mkdtemp(join(tmpdir(), 'sched-slot-'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await h?.close();
    await second?.quit();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('becomes exactly one run per tenant, slot after slot', async () => {
    // The clock runs from two seconds before the first slot; only Date is faked, so Redis, sockets and timers are real.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date('2026-03-02T09:59:58Z'));
    const tenants = Array.from({ length: 12 }, (_, i) => `slot-${String(i).padStart(2, '0')}`);
    for (const tenantId of tenants) {
      await h.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
      await h.controlPlane.settings.putRetention(tenantId, settingsInput('0,1 10 * * *', 'UTC', directory), { actor: 'test' });
    }
    await syncAllSchedules(h.queues.runs, await loadTenantSettings(h.controlPlane, logger));

    const completions = new Map<string, Array<{ worker: number; result: RunJobResult }>>();
    const pools = [h.startWorkers(), startExportWorkers(h.deps, h.queues, second, { stalledIntervalMs: 1_000, lockDurationMs: 5_000 })];
    pools.forEach((pool, worker) =>
      pool.workers
        .find((w) => w.name === QUEUE_NAMES.runs)
        ?.on('completed', (job, result: RunJobResult) => {
          const list = completions.get(job.id ?? '') ?? [];
          list.push({ worker, result });
          completions.set(job.id ?? '', list);
        }),
    );
    const doneRuns = async () => (await Promise.all(tenants.map((t) => h.controlPlane.runs.listByTenant(t)))).flat().filter((r) => r.status === 'done');

    await pollUntil('the 10:00 runs', doneRuns, (runs) => runs.length >= tenants.length, 60_000);
    vi.setSystemTime(new Date('2026-03-02T10:00:58Z'));
    const runs = await pollUntil('the 10:01 runs', doneRuns, (list) => list.length >= 2 * tenants.length, 60_000);
    await pools[0]?.close();
    await pools[1]?.close();

    for (const tenantId of tenants) {
      const own = runs.filter((r) => r.tenantId === tenantId);
      expect(own.map((r) => r.trigger)).toEqual(['schedule', 'schedule']);
      const [first, next] = own.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      // One run planned in each slot's minute, the second going on where the first stopped.
      expect(first?.createdAt.toISOString().slice(0, 16)).toBe('2026-03-02T10:00');
      expect(next?.createdAt.toISOString().slice(0, 16)).toBe('2026-03-02T10:01');
      expect(next?.windows.contacts?.from).toEqual(first?.windows.contacts?.to);
    }
    // Each slot's job ran once, in one of the two workers, and planned a run.
    const slotJobs = [...completions.entries()].filter(([id]) => id.startsWith('repeat:'));
    expect(slotJobs).toHaveLength(2 * tenants.length);
    for (const [id, list] of slotJobs) {
      expect(list, id).toHaveLength(1);
      expect(list[0]?.result.status, id).toBe('planned');
    }
    expect(new Set(slotJobs.map(([, list]) => list[0]?.worker)).size).toBe(2);
  }, 120_000);
});
