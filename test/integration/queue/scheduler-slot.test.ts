import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { hadPendingJob, pendingJobIds } from '../../../src/queue/scheduler-slot.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const prefix = uniqueName('sched-slot');
const queue = new Queue('runs', { connection: redis, prefix });

afterAll(async () => {
  await queue.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

describe('pendingJobIds (one snapshot for every scheduler of a reconciliation)', () => {
  it('lists delayed, waiting and prioritized jobs, so a scheduler with its next job is known to be armed', async () => {
    await queue.upsertJobScheduler('tenant.armed-co', { pattern: '0 3 * * *', tz: 'UTC' }, { name: 'run', data: {} });
    await queue.add('run', {}, { jobId: 'waiting-one' });
    await queue.add('run', {}, { jobId: 'prioritized-one', priority: 3 });
    const scheduler = await queue.getJobScheduler('tenant.armed-co');
    const pending = await pendingJobIds(queue);
    expect([...pending].sort()).toEqual([`repeat:tenant.armed-co:${String(scheduler?.next)}`, 'prioritized-one', 'waiting-one'].sort());
    expect(scheduler !== undefined && hadPendingJob(pending, scheduler)).toBe(true);
    expect(scheduler !== undefined && hadPendingJob(new Set(), scheduler)).toBe(false);
  });
});
