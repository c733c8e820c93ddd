import { createHash } from 'node:crypto';
import { Queue, type Job, type JobSchedulerJson } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditActor } from '../audit/audit-entry.js';
import { RetentionError } from '../errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { lostItsNextJob } from './scheduler-slot.js';

/** Queue names of the online archive; they share the configured prefix (`QUEUE_PREFIX`). */
export const IMPORT_QUEUE_NAMES = {
  /** `import` (one manifest), `poll` (fans out to every online tenant) and `poll-tenant` jobs. */
  imports: 'imports',
  /** `purge` (every online tenant with archive retention), `purge-tenant` and `rebuild-tenant` jobs. */
  maintenance: 'archive-maintenance',
} as const;

/** Payload of an `import` job: one manifest of one tenant's drop. */
export interface ImportJobData {
  tenantId: string;
  manifestPath: string;
}

/** Payload of a `poll-tenant` or `purge-tenant` job (`poll` and `purge` carry no tenant). */
export interface TenantJobData {
  tenantId: string;
}

/** Name of the job that rebuilds one tenant's online archive from its drop (on the maintenance queue). */
export const REBUILD_JOB_NAME = 'rebuild-tenant';

/** Payload of a `rebuild-tenant` job. */
export interface RebuildJobData {
  tenantId: string;
  /** Who asked for the rebuild (a portal user, or the portal itself after the archive URI changed). */
  requestedBy: AuditActor;
}

/**
 * What a finished `rebuild-tenant` job returns: how many manifests were imported and refused, and the first
 * refusals (a refused manifest's successors are refused with it).
 */
export interface RebuildJobResult {
  imported: number;
  refused: number;
  refusals: { path: string; code: string }[];
}

/**
 * Retry policy of rebuild jobs: like imports (a busy archive is waited for, other transient failures back off up to
 * 10 minutes); finished jobs are kept 30 days so the Retention page can show the last outcome.
 */
export const REBUILD_JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'import' },
  removeOnComplete: { age: 30 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/**
 * Retry policy of import jobs: a transient failure (MongoDB or SFTP unreachable, the previous manifest still
 * importing, the tenant's archive busy) is retried with {@link importBackoff}. A job that runs out of attempts is
 * retried by the next drop poll.
 */
export const IMPORT_JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'import' },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/** Error codes that mean "not yet": another job holds the tenant's archive, or the previous manifest is importing. */
const WAITING_CODES: ReadonlySet<string> = new Set(['ERR_ARCHIVE_BUSY', 'ERR_IMPORT_PREVIOUS_PENDING']);

/**
 * The delay before the next attempt of an import job (BullMQ `backoffStrategy`, backoff type `import`): waiting for
 * the tenant's archive or for the previous manifest grows by one second per attempt up to 15 s; other transient
 * failures back off exponentially from 5 s up to 10 minutes.
 *
 * @example
 * new Worker('imports', processor, { settings: { backoffStrategy: importBackoff } });
 */
export function importBackoff(attemptsMade: number, _type?: string, err?: Error): number {
  const code = err instanceof RetentionError ? err.code : err?.cause instanceof RetentionError ? err.cause.code : undefined;
  if (code !== undefined && WAITING_CODES.has(code)) return Math.min(1_000 * attemptsMade, 15_000);
  return Math.min(5_000 * 2 ** Math.max(0, attemptsMade - 1), 600_000);
}

/** How often the drop of every online tenant is polled for manifests not yet imported. */
export const DEFAULT_IMPORT_POLL_MS = 10 * 60_000;
/** When archive retention runs (cron, UTC). */
export const DEFAULT_ARCHIVE_PURGE_CRON = '30 3 * * *';
/** Id of the poll's job scheduler. */
export const IMPORT_POLL_SCHEDULER_ID = 'archive-import-poll';
/** Id of the purge's job scheduler. */
export const ARCHIVE_PURGE_SCHEDULER_ID = 'archive-purge';

/**
 * The deterministic job id of a manifest's import, so a manifest is never imported by two jobs at once and adding it
 * again while a job exists is a no-op: `import.<tenant>.<16 hex of the path's SHA-256>` (BullMQ ids may not hold `:`).
 */
export function importJobId(tenantId: string, manifestPath: string): string {
  return `import.${assertTenantId(tenantId)}.${createHash('sha256').update(manifestPath).digest('hex').slice(0, 16)}`;
}

/**
 * The two deterministic job ids of a tenant's rebuild: `rebuild.<tenant>` and `rebuild.<tenant>.next`. One may run
 * while the other waits to follow it (a rebuild reads the settings when it starts, so a request made while one runs
 * must run again afterwards); a third request while one waits is the waiting one.
 */
export function rebuildJobIds(tenantId: string): readonly [string, string] {
  const tenant = assertTenantId(tenantId);
  return [`rebuild.${tenant}`, `rebuild.${tenant}.next`];
}

/** The producers' side of the archive queues. */
export interface ImportQueues {
  prefix: string;
  imports: Queue;
  maintenance: Queue;
  close(): Promise<void>;
}

/**
 * Opens the archive queues on a shared ioredis connection (`maxRetriesPerRequest: null`).
 *
 * @example
 * const queues = createImportQueues(redis, config.queuePrefix);
 * await enqueueImport(queues, 'acme', 'acme/2026/11/23/manifest-r1.json');
 */
export function createImportQueues(connection: Redis, prefix: string): ImportQueues {
  const imports = new Queue(IMPORT_QUEUE_NAMES.imports, { connection, prefix });
  const maintenance = new Queue(IMPORT_QUEUE_NAMES.maintenance, { connection, prefix });
  return {
    prefix,
    imports,
    maintenance,
    async close() {
      await Promise.all([imports.close(), maintenance.close()]);
    },
  };
}

/**
 * Asks for the import of one manifest. A job of the same manifest that is waiting, running or finished is left as it
 * is; with `retryFailed`, a failed one is retried from its first attempt. Returns the job id.
 */
export async function enqueueImport(queues: ImportQueues, tenantId: string, manifestPath: string, options: { retryFailed?: boolean } = {}): Promise<string> {
  const jobId = importJobId(tenantId, manifestPath);
  if (options.retryFailed) {
    const existing = await queues.imports.getJob(jobId);
    if (existing && (await existing.isFailed())) {
      await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return jobId;
    }
  }
  const data: ImportJobData = { tenantId, manifestPath };
  await queues.imports.add('import', data, { ...IMPORT_JOB_OPTIONS, jobId });
  return jobId;
}

/** Asks for a poll of one tenant's drop (deduplicated while one is waiting). */
export async function enqueueTenantPoll(queues: ImportQueues, tenantId: string): Promise<void> {
  const data: TenantJobData = { tenantId: assertTenantId(tenantId) };
  await queues.imports.add('poll-tenant', data, {
    jobId: `poll.${tenantId}`,
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** What {@link enqueueRebuild} did: `queued` false means a rebuild of the tenant was already waiting to start. */
export interface RebuildRequest {
  jobId: string;
  queued: boolean;
}

const WAITING_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Asks for a rebuild of a tenant's online archive (`rebuild-tenant` on the maintenance queue). While a rebuild waits
 * to start (or waits to retry), asking again changes nothing; while one runs, one more is queued to follow it. The
 * older finished job is replaced (the newer stays, for {@link rebuildStatus}).
 *
 * @example
 * const { queued } = await enqueueRebuild(queues, 'acme', { type: 'user', id: user.id });
 */
export async function enqueueRebuild(queues: ImportQueues, tenantId: string, requestedBy: AuditActor): Promise<RebuildRequest> {
  const slots = await Promise.all(
    rebuildJobIds(tenantId).map(async (jobId) => {
      const job = await queues.maintenance.getJob(jobId);
      return { jobId, job, state: job === undefined ? 'absent' : await job.getState() };
    }),
  );
  const waiting = slots.find((slot) => WAITING_STATES.has(slot.state));
  if (waiting !== undefined) return { jobId: waiting.jobId, queued: false };
  const slot = slots
    .filter((candidate) => candidate.state !== 'active')
    .sort((a, b) => (a.job?.finishedOn ?? (a.job === undefined ? -1 : 0)) - (b.job?.finishedOn ?? (b.job === undefined ? -1 : 0)))[0];
  const free = slot?.jobId;
  if (slot?.job !== undefined) await slot.job.remove();
  if (free === undefined) {
    throw new RetentionError('ERR_REBUILD_SLOTS_BUSY', `both rebuild jobs of "${tenantId}" are running; wait until one finishes, then ask again`);
  }
  const data: RebuildJobData = { tenantId: assertTenantId(tenantId), requestedBy: { type: requestedBy.type, id: requestedBy.id } };
  await queues.maintenance.add(REBUILD_JOB_NAME, data, { ...REBUILD_JOB_OPTIONS, jobId: free });
  return { jobId: free, queued: true };
}

/** Where a tenant's rebuilds stand, from the BullMQ states of its rebuild jobs. */
export interface RebuildStatus {
  /** The rebuild that runs now, with the manifests it imported so far. */
  running?: { startedAt?: Date; imported: number };
  /** A rebuild waiting to start; `retry` when it waits to try again after a failed attempt. */
  queued?: { queuedAt: Date; retry?: { attempt: number; reason: string } };
  /** The last finished rebuild. */
  last?: { outcome: 'completed'; finishedAt?: Date; imported: number; refused: number } | { outcome: 'failed'; finishedAt?: Date; reason: string };
}

const dateOf = (ms: number | undefined): Date | undefined => (ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms));
const countOf = (value: unknown, key: string): number => {
  const n = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
};

/**
 * A job and its state, read so that the job's fields agree with the state. The job is read first and its state
 * second, so a job that finished between the two reads carries no `finishedOn` or return value yet: it is read again
 * (a finished job's fields no longer change). Without this, a rebuild that had just completed was reported as
 * completed with 0 manifests imported.
 */
async function readJobAndState(queue: Queue, jobId: string): Promise<{ job: Job; state: string } | undefined> {
  const job = await queue.getJob(jobId);
  if (job === undefined) return undefined;
  const state = await job.getState();
  if ((state === 'completed' || state === 'failed') && job.finishedOn === undefined) {
    const settled = await queue.getJob(jobId);
    return settled === undefined ? undefined : { job: settled, state: await settled.getState() };
  }
  return { job, state };
}

/**
 * Reads where the tenant's rebuilds stand (running, waiting, last finished) from the maintenance queue.
 *
 * @example
 * const status = await rebuildStatus(queues, 'acme');
 * if (status.running) console.log(`${status.running.imported} manifest(s) imported so far`);
 */
export async function rebuildStatus(queues: ImportQueues, tenantId: string): Promise<RebuildStatus> {
  const status: RebuildStatus = {};
  let lastFinished = -1;
  for (const jobId of rebuildJobIds(tenantId)) {
    const read = await readJobAndState(queues.maintenance, jobId);
    if (read === undefined) continue;
    const { job, state } = read;
    if (state === 'active') {
      status.running = { ...(job.processedOn !== undefined ? { startedAt: new Date(job.processedOn) } : {}), imported: countOf(job.progress, 'imported') };
    } else if (WAITING_STATES.has(state)) {
      status.queued = {
        queuedAt: new Date(job.timestamp),
        ...(job.attemptsMade > 0 ? { retry: { attempt: job.attemptsMade + 1, reason: String(job.failedReason ?? '').slice(0, 300) } } : {}),
      };
    } else if ((state === 'completed' || state === 'failed') && (job.finishedOn ?? 0) > lastFinished) {
      lastFinished = job.finishedOn ?? 0;
      const finishedAt = dateOf(job.finishedOn);
      const at = finishedAt !== undefined ? { finishedAt } : {};
      status.last =
        state === 'completed'
          ? { outcome: 'completed', ...at, imported: countOf(job.returnvalue, 'imported'), refused: countOf(job.returnvalue, 'refused') }
          : { outcome: 'failed', ...at, reason: String(job.failedReason ?? '').slice(0, 300) };
    }
  }
  return status;
}

/**
 * Creates or updates the job schedulers of the online archive: the drop poll (every `pollEveryMs`) and archive
 * retention (`purgeCron`, UTC). Idempotent; safe from any process. A scheduler that already repeats as asked and whose
 * next job is still to come is left alone: BullMQ's upsert replaces the pending job and computes the next slot from
 * the current time, so an upsert at every worker start would drop a slot that is due but not yet picked up. One whose
 * next job is gone is armed again. Returns the ids of the schedulers it created or changed.
 *
 * @example
 * await scheduleArchiveJobs(importQueues); // at worker start
 */
export async function scheduleArchiveJobs(queues: ImportQueues, options: { pollEveryMs?: number; purgeCron?: string } = {}): Promise<string[]> {
  const changed: string[] = [];
  const every = options.pollEveryMs ?? DEFAULT_IMPORT_POLL_MS;
  if (await needsUpsert(queues.imports, IMPORT_POLL_SCHEDULER_ID, (scheduler) => scheduler.every === every && scheduler.pattern === undefined)) {
    await queues.imports.upsertJobScheduler(
      IMPORT_POLL_SCHEDULER_ID,
      { every },
      { name: 'poll', data: {}, opts: { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } } },
    );
    changed.push(IMPORT_POLL_SCHEDULER_ID);
  }
  const pattern = options.purgeCron ?? DEFAULT_ARCHIVE_PURGE_CRON;
  if (await needsUpsert(queues.maintenance, ARCHIVE_PURGE_SCHEDULER_ID, (scheduler) => scheduler.pattern === pattern && scheduler.tz === 'UTC')) {
    await queues.maintenance.upsertJobScheduler(
      ARCHIVE_PURGE_SCHEDULER_ID,
      { pattern, tz: 'UTC' },
      { name: 'purge', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } } },
    );
    changed.push(ARCHIVE_PURGE_SCHEDULER_ID);
  }
  return changed;
}

/** True when the scheduler is missing, repeats otherwise than `matches` wants, or lost its next job. */
async function needsUpsert(queue: Queue, id: string, matches: (scheduler: JobSchedulerJson) => boolean): Promise<boolean> {
  const current = await queue.getJobScheduler(id);
  return current === undefined || !matches(current) || (await lostItsNextJob(queue, current));
}
