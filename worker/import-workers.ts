import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ImportDeps } from '../src/import/import-manifest.js';
import {
  IMPORT_QUEUE_NAMES,
  REBUILD_JOB_NAME,
  importBackoff,
  type ImportJobData,
  type ImportQueues,
  type RebuildJobData,
  type TenantJobData,
} from '../src/queue/import-queues.js';
import { errorCodeOf, isPermanentFailure, toJobError } from '../src/queue/permanent-failure.js';
import { processImport, processPoll, processPurge, processRebuild, processTenantPoll, processTenantPurge } from './processors/import-processor.js';

/** Options of the archive workers. */
export interface ImportWorkerOptions {
  /** Import jobs this process runs at once (one tenant's imports never overlap: they share a lease). Default 2. */
  concurrency?: number;
  /** Maintenance jobs (purges, rebuilds) this process runs at once, each of another tenant in effect. Default 2. */
  maintenanceConcurrency?: number;
  /** How often stalled jobs are looked for. BullMQ's default is 30 000 ms. */
  stalledIntervalMs?: number;
  /** Lock duration of an active job. BullMQ's default is 30 000 ms. */
  lockDurationMs?: number;
}

/** The running archive workers of one process. */
export interface ImportWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Writes `archive.rebuilt` (failure) when a rebuild job failed for good: permanently, or on its last attempt. The
 * counts are those of the attempt that failed (`imported` so far). A rebuild that finishes writes its own entry.
 */
async function auditRebuildFailure(deps: ImportDeps, job: Job, err: Error): Promise<void> {
  const final = isPermanentFailure(err) || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!final) return;
  const data = job.data as RebuildJobData;
  const progress: unknown = job.progress;
  const imported =
    typeof progress === 'object' && progress !== null && typeof (progress as { imported?: unknown }).imported === 'number'
      ? (progress as { imported: number }).imported
      : 0;
  try {
    await deps.controlPlane.audit.append(data.tenantId, {
      actor: { type: 'system', id: 'worker' },
      action: 'archive.rebuilt',
      outcome: 'failure',
      details: {
        code: errorCodeOf(err),
        imported,
        attempts: job.attemptsMade,
        requestedBy: `${data.requestedBy.type}:${data.requestedBy.id}`,
        job: job.id ?? null,
      },
    });
  } catch (auditErr) {
    deps.logger.error({ tenantId: data.tenantId, jobId: job.id, err: auditErr }, 'could not record a failed rebuild');
  }
}

/**
 * Starts the workers of the online archive: `imports` (import, poll, poll-tenant) and `archive-maintenance`
 * (purge, purge-tenant, rebuild-tenant). Permanent failures (checksum mismatch, broken chain) fail at once; transient
 * ones (MongoDB or SFTP unreachable, the archive busy, the previous manifest still importing) are retried with backoff.
 * A rebuild that fails for good is audited (`archive.rebuilt`, failure).
 *
 * @example
 * const workers = startImportWorkers(deps, queues, redis);
 */
export function startImportWorkers(deps: ImportDeps, queues: ImportQueues, connection: Redis, options: ImportWorkerOptions = {}): ImportWorkers {
  const common = {
    connection,
    prefix: queues.prefix,
    ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
    ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
  };
  const imports = new Worker(
    IMPORT_QUEUE_NAMES.imports,
    async (job: Job) => {
      try {
        if (job.name === 'import') return await processImport(deps, job.data as ImportJobData);
        if (job.name === 'poll') return await processPoll(deps, queues);
        if (job.name === 'poll-tenant') return await processTenantPoll(deps, queues, (job.data as TenantJobData).tenantId);
        throw new Error(`unknown job ${job.name} in ${IMPORT_QUEUE_NAMES.imports}`);
      } catch (err) {
        throw toJobError(err);
      }
    },
    { ...common, concurrency: options.concurrency ?? 2, settings: { backoffStrategy: importBackoff } },
  );
  const maintenance = new Worker(
    IMPORT_QUEUE_NAMES.maintenance,
    async (job: Job) => {
      try {
        if (job.name === 'purge') return await processPurge(deps, queues);
        if (job.name === 'purge-tenant') return await processTenantPurge(deps, (job.data as TenantJobData).tenantId);
        if (job.name === REBUILD_JOB_NAME)
          return await processRebuild(deps, job.data as RebuildJobData, (imported) => void job.updateProgress({ imported }).catch(() => undefined));
        throw new Error(`unknown job ${job.name} in ${IMPORT_QUEUE_NAMES.maintenance}`);
      } catch (err) {
        throw toJobError(err);
      }
    },
    // Two at once, so that one tenant's long rebuild does not hold up every other tenant's nightly purge; jobs of one
    // tenant still never overlap (they share its archive lease and wait with backoff).
    { ...common, concurrency: options.maintenanceConcurrency ?? 2, settings: { backoffStrategy: importBackoff } },
  );
  maintenance.on('failed', (job, err) => {
    if (job?.name === REBUILD_JOB_NAME) void auditRebuildFailure(deps, job, err);
  });
  for (const worker of [imports, maintenance]) {
    worker.on('failed', (job, err) => {
      deps.logger.warn(
        { queue: worker.name, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, code: errorCodeOf(err), err: { message: err.message } },
        'archive job failed',
      );
    });
    worker.on('error', (err) => deps.logger.error({ queue: worker.name, err }, 'worker error'));
  }
  return {
    workers: [imports, maintenance],
    async close() {
      await Promise.all([imports.close(), maintenance.close()]);
    },
  };
}
