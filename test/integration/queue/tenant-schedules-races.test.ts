import { Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { RunJobData } from '../../../src/queue/job-payloads.js';
import { syncAllSchedules, syncTenantSchedule, type TenantSettingsEntry } from '../../../src/queue/tenant-schedules.js';
import { parseRetentionSettings } from '../../../src/tenants/retention-settings.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

/**
 * Issue 15.3: the ways a tenant's scheduler could lose a slot or come back when it should not, other than workers
 * starting at once (see scheduler-concurrency.test.ts).
 */

const redis = createTestRedis();
const prefixes: string[] = [];
const queues: Array<Queue<RunJobData>> = [];

const runsQueue = (): Queue<RunJobData> => {
  const prefix = uniqueName('sched-race');
  prefixes.push(prefix);
  const queue = new Queue<RunJobData>('runs', { connection: redis, prefix });
  queues.push(queue);
  return queue;
};

const settings = (cron: string, paused = false) =>
  parseRetentionSettings({
    mode: 'offline',
    dataTypes: ['chats'],
    schedule: { cron, timezone: 'UTC', paused },
    source: { kind: 'demo', seed: 1 },
    target: { kind: 'local', directory: '/srv/drop' },
  });

const pendingJobs = async (runs: Queue<RunJobData>): Promise<string[]> => (await runs.getJobs(['delayed', 'wait'])).map((job) => job.id ?? '').sort();

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  for (const prefix of prefixes) await cleanupPrefix(redis, prefix);
  await redis.quit();
});

describe('tenant schedulers keep their slots', () => {
  it('a save that leaves the schedule as it was keeps a slot that is due but not yet picked up', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date('2026-03-02T09:59:58Z'));
    const runs = runsQueue();
    await syncTenantSchedule(runs, 'acme', settings('0 10 * * *'));
    const slot = `repeat:tenant.acme:${Date.parse('2026-03-02T10:00:00Z')}`;
    expect(await pendingJobs(runs)).toEqual([slot]);

    // 10:00:01, every worker still busy with other tenants: the settings are saved again (another field changed).
    vi.setSystemTime(new Date('2026-03-02T10:00:01Z'));
    await syncTenantSchedule(runs, 'acme', settings('0 10 * * *'));
    expect(await pendingJobs(runs)).toEqual([slot]);

    // A changed schedule does replace it.
    await syncTenantSchedule(runs, 'acme', settings('30 11 * * *'));
    expect(await pendingJobs(runs)).toEqual([`repeat:tenant.acme:${Date.parse('2026-03-02T11:30:00Z')}`]);
  });

  it('arms a scheduler again whose next job is gone (it would never fire again), and leaves healthy ones alone', async () => {
    const runs = runsQueue();
    const tenants: TenantSettingsEntry[] = [
      { tenantId: 'stuck-co', settings: settings('0 3 * * *') },
      { tenantId: 'fine-co', settings: settings('0 4 * * *') },
    ];
    await syncAllSchedules(runs, tenants);
    const stuck = await runs.getJobScheduler('tenant.stuck-co');
    // BullMQ refuses to remove a scheduler's job; what Redis losing part of its keys looks like instead:
    const jobId = `repeat:tenant.stuck-co:${String(stuck?.next)}`;
    await redis.del(`${runs.opts.prefix ?? ''}:runs:${jobId}`);
    await redis.zrem(`${runs.opts.prefix ?? ''}:runs:delayed`, jobId);
    const before = await pendingJobs(runs);
    expect(before).toHaveLength(1);

    const report = await syncAllSchedules(runs, tenants);
    expect(report).toMatchObject({ created: [], updated: [], rearmed: ['stuck-co'], removed: [], failed: [] });
    expect(await pendingJobs(runs)).toEqual([...before, jobId].sort());
    expect(await syncAllSchedules(runs, tenants)).toMatchObject({ created: [], updated: [], rearmed: [], removed: [] });
  });

  it('does not bring back a scheduler removed while it was being checked (the schedule was paused meanwhile)', async () => {
    const runs = runsQueue();
    const tenants: TenantSettingsEntry[] = [{ tenantId: 'pausing-co', settings: settings('0 3 * * *') }];
    await syncAllSchedules(runs, tenants);
    const scheduler = await runs.getJobScheduler('tenant.pausing-co');
    const jobId = `repeat:tenant.pausing-co:${String(scheduler?.next)}`;
    await redis.del(`${runs.opts.prefix ?? ''}:runs:${jobId}`);
    await redis.zrem(`${runs.opts.prefix ?? ''}:runs:delayed`, jobId);
    // The portal pauses the tenant (its scheduler removed) between the check of the next job and the second look.
    const read = runs.getJobScheduler.bind(runs);
    vi.spyOn(runs, 'getJobScheduler').mockImplementation(async (id) => {
      await syncTenantSchedule(runs, 'pausing-co', settings('0 3 * * *', true));
      return read(id);
    });
    const report = await syncAllSchedules(runs, tenants);
    expect(report).toMatchObject({ created: [], updated: [], rearmed: [], removed: [], failed: [] });
    expect(await runs.getJobSchedulers(0, -1)).toEqual([]);
  });

  it('reads the schedulers before the settings: a tenant saved meanwhile is not taken for a leftover', async () => {
    const runs = runsQueue();
    const stored: TenantSettingsEntry[] = [{ tenantId: 'old-co', settings: settings('0 1 * * *') }];
    await syncAllSchedules(runs, stored);
    const report = await syncAllSchedules(runs, async () => {
      const snapshot = [...stored];
      // The portal saves a new tenant and creates its scheduler after the settings were read.
      await syncTenantSchedule(runs, 'new-co', settings('0 2 * * *'));
      return snapshot;
    });
    expect(report.removed).toEqual([]);
    expect((await runs.getJobSchedulers(0, -1)).map((s) => s.key).sort()).toEqual(['tenant.new-co', 'tenant.old-co']);
    // The next round, with the saved settings, keeps it.
    stored.push({ tenantId: 'new-co', settings: settings('0 2 * * *') });
    expect(await syncAllSchedules(runs, stored)).toMatchObject({ created: [], updated: [], removed: [] });
  });

  it('reconciles every other tenant when one scheduler cannot be changed, and reports that one', async () => {
    const runs = runsQueue();
    const upsert = runs.upsertJobScheduler.bind(runs);
    vi.spyOn(runs, 'upsertJobScheduler').mockImplementation((id, ...rest) =>
      id === 'tenant.broken-co' ? Promise.reject(new Error('Redis refused the script')) : upsert(id, ...rest),
    );
    const report = await syncAllSchedules(runs, [
      { tenantId: 'a-co', settings: settings('0 1 * * *') },
      { tenantId: 'broken-co', settings: settings('0 1 * * *') },
      { tenantId: 'z-co', settings: settings('0 1 * * *') },
      { tenantId: 'paused-co', settings: settings('0 1 * * *', true) },
    ]);
    expect(report).toMatchObject({ created: ['a-co', 'z-co'], failed: [{ tenantId: 'broken-co', message: 'Redis refused the script' }] });
    expect((await runs.getJobSchedulers(0, -1)).map((s) => s.key).sort()).toEqual(['tenant.a-co', 'tenant.z-co']);
  });
});
