import { createHash } from 'node:crypto';
import { Queue, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetentionError } from '../errors.js';
import { PERMANENT_IMPORT_ERROR_CODES } from '../import/import-errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { isPermanentFailure, toJobError } from './permanent-failure.js';

/** Queue names of the online archive; they share the configured prefix (`QUEUE_PREFIX`). */
export const IMPORT_QUEUE_NAMES = {
  /** `import` (one manifest), `poll` (fans out to every online tenant) and `poll-tenant` jobs. */
  imports: 'imports',
  /** `purge` (every online tenant with archive retention) and `purge-tenant` jobs. */
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
  await queues.imports.add('poll-tenant', data, { jobId: `poll.${tenantId}`, attempts: 3, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } });
}

/**
 * Creates or updates the job schedulers of the online archive: the drop poll (every `pollEveryMs`) and archive
 * retention (`purgeCron`, UTC). Idempotent; safe from any process.
 */
export async function scheduleArchiveJobs(queues: ImportQueues, options: { pollEveryMs?: number; purgeCron?: string } = {}): Promise<void> {
  await queues.imports.upsertJobScheduler(IMPORT_POLL_SCHEDULER_ID, { every: options.pollEveryMs ?? DEFAULT_IMPORT_POLL_MS }, { name: 'poll', data: {}, opts: { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } } });
  await queues.maintenance.upsertJobScheduler(ARCHIVE_PURGE_SCHEDULER_ID, { pattern: options.purgeCron ?? DEFAULT_ARCHIVE_PURGE_CRON, tz: 'UTC' }, { name: 'purge', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } } });
}

/** True when an import or maintenance failure must not be retried. */
export function isPermanentImportFailure(err: unknown): boolean {
  return isPermanentFailure(err) || (err instanceof RetentionError && PERMANENT_IMPORT_ERROR_CODES.has(err.code));
}

/** Rethrows a permanent import failure as BullMQ's `UnrecoverableError` (`[CODE] message`); transient ones pass through. */
export function toImportJobError(err: unknown): Error {
  if (err instanceof RetentionError && PERMANENT_IMPORT_ERROR_CODES.has(err.code)) {
    const permanent = new UnrecoverableError(`[${err.code}] ${err.message}`);
    permanent.cause = err;
    return permanent;
  }
  return toJobError(err);
}
