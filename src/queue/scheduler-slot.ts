import type { JobSchedulerJson, Queue } from 'bullmq';

/** States in which a scheduler's next job is still to come: it will fire. */
const PENDING_STATES: ReadonlySet<string> = new Set(['delayed', 'waiting', 'prioritized', 'waiting-children']);

/** The job types of {@link PENDING_STATES}, as `Queue.getRanges` takes them. */
const PENDING_TYPES = ['delayed', 'waiting', 'prioritized', 'waiting-children'] as const;

/** The id BullMQ gives a scheduler's next job (`repeat:<scheduler id>:<slot in ms>`). */
const nextJobId = (scheduler: JobSchedulerJson): string | undefined =>
  scheduler.next === undefined ? undefined : `repeat:${scheduler.key}:${String(scheduler.next)}`;

/**
 * True while the scheduler's next job is still to come: without it BullMQ never fires the scheduler again.
 *
 * @example
 * if (!(await hasPendingJob(queue, await queue.getJobScheduler('archive-purge')))) console.log('stuck');
 */
export async function hasPendingJob(queue: Queue, scheduler: JobSchedulerJson): Promise<boolean> {
  const jobId = nextJobId(scheduler);
  if (jobId === undefined) return false;
  return PENDING_STATES.has(await queue.getJobState(jobId));
}

/**
 * The ids of every job of `queue` still to come (delayed, waiting, prioritized or waiting for children), in one round
 * trip: a snapshot, for checking many schedulers at once with {@link hadPendingJob}.
 */
export async function pendingJobIds(queue: Queue): Promise<ReadonlySet<string>> {
  return new Set(await queue.getRanges([...PENDING_TYPES], 0, -1));
}

/**
 * True when the scheduler's next job was among `pending` ({@link pendingJobIds}). False says only that it was not
 * then: it may have been picked up since, so check again with {@link hasPendingJob} before acting on it.
 */
export function hadPendingJob(pending: ReadonlySet<string>, scheduler: JobSchedulerJson): boolean {
  const jobId = nextJobId(scheduler);
  return jobId !== undefined && pending.has(jobId);
}

/**
 * True when a scheduler that already matches what it should be has lost its next job (BullMQ adds a scheduler's next
 * job in a call of its own after a worker took the current one, and only logs when that call fails; keys deleted by
 * hand or lost by a Redis short of memory do the same): it would never fire again, and an upsert arms it. The
 * scheduler is read again before answering, since its slot may just have started and BullMQ then moved it on; one
 * removed meanwhile (a schedule paused since it was read) has not lost anything, and is not to be armed again.
 *
 * @example
 * if (await lostItsNextJob(queue, scheduler)) await queue.upsertJobScheduler(scheduler.key, repeat, template);
 */
export async function lostItsNextJob(queue: Queue, scheduler: JobSchedulerJson): Promise<boolean> {
  if (await hasPendingJob(queue, scheduler)) return false;
  const now = await queue.getJobScheduler(scheduler.key);
  if (now === undefined) return false;
  return !(now.next !== scheduler.next && (await hasPendingJob(queue, now)));
}
