import type { Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  ARCHIVE_PURGE_SCHEDULER_ID,
  createImportQueues,
  IMPORT_POLL_SCHEDULER_ID,
  scheduleArchiveJobs,
  type ImportQueues,
} from '../../../src/queue/import-queues.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

/** Issue 15.3: a worker start must not move the online archive's due slots (drop poll, archive purge). */

const redis = createTestRedis();
const opened: ImportQueues[] = [];

const importQueues = (): ImportQueues => {
  const queues = createImportQueues(redis, uniqueName('archive-sched'));
  opened.push(queues);
  return queues;
};

const pendingJobs = async (queue: Queue): Promise<string[]> => (await queue.getJobs(['delayed', 'wait'])).map((job) => job.id ?? '').sort();

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  for (const queues of opened) {
    await queues.close();
    await cleanupPrefix(redis, queues.prefix);
  }
  await redis.quit();
});

describe('scheduleArchiveJobs', () => {
  it('a worker starting while the purge and poll slots are due but not yet picked up leaves both slots in place', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date('2026-03-02T03:29:58Z'));
    const queues = importQueues();
    expect(await scheduleArchiveJobs(queues, { pollEveryMs: 60_000 })).toEqual([IMPORT_POLL_SCHEDULER_ID, ARCHIVE_PURGE_SCHEDULER_ID]);
    const purgeSlot = `repeat:${ARCHIVE_PURGE_SCHEDULER_ID}:${Date.parse('2026-03-02T03:30:00Z')}`;
    // An `every` scheduler's first job is due at once (BullMQ offsets the interval to the moment of the first upsert).
    const pollSlot = `repeat:${IMPORT_POLL_SCHEDULER_ID}:${String((await queues.imports.getJobScheduler(IMPORT_POLL_SCHEDULER_ID))?.next)}`;
    expect(await pendingJobs(queues.maintenance)).toEqual([purgeSlot]);
    expect(await pendingJobs(queues.imports)).toEqual([pollSlot]);

    // 03:30:01, no worker has taken them yet: another worker process starts.
    vi.setSystemTime(new Date('2026-03-02T03:30:01Z'));
    expect(await scheduleArchiveJobs(queues, { pollEveryMs: 60_000 })).toEqual([]);
    expect(await pendingJobs(queues.maintenance)).toEqual([purgeSlot]);
    expect(await pendingJobs(queues.imports)).toEqual([pollSlot]);
  });

  it('changes a scheduler whose repeat differs, and arms one whose next job is gone', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date('2026-03-02T01:00:00Z'));
    const queues = importQueues();
    await scheduleArchiveJobs(queues);
    expect(await scheduleArchiveJobs(queues, { purgeCron: '0 4 * * *' })).toEqual([ARCHIVE_PURGE_SCHEDULER_ID]);
    expect(await pendingJobs(queues.maintenance)).toEqual([`repeat:${ARCHIVE_PURGE_SCHEDULER_ID}:${Date.parse('2026-03-02T04:00:00Z')}`]);

    // What Redis losing part of its keys looks like (BullMQ refuses to remove a scheduler's job itself).
    const poll = await queues.imports.getJobScheduler(IMPORT_POLL_SCHEDULER_ID);
    const jobId = `repeat:${IMPORT_POLL_SCHEDULER_ID}:${String(poll?.next)}`;
    await redis.del(`${queues.prefix}:imports:${jobId}`);
    await redis.zrem(`${queues.prefix}:imports:delayed`, jobId);
    await redis.lrem(`${queues.prefix}:imports:wait`, 0, jobId);
    expect(await pendingJobs(queues.imports)).toEqual([]);
    expect(await scheduleArchiveJobs(queues, { purgeCron: '0 4 * * *' })).toEqual([IMPORT_POLL_SCHEDULER_ID]);
    expect(await pendingJobs(queues.imports)).toHaveLength(1);
  });
});
