import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetentionError } from '../errors.js';
import { errorCodeOf, isPermanentFailure } from '../queue/permanent-failure.js';
import { runResultsExport, type RunResultsExportDeps } from './run-results-export.js';

/** The queue of results exports (shares the configured `QUEUE_PREFIX`). */
export const RESULTS_EXPORT_QUEUE_NAME = 'result-exports';

/** Payload of a results-export job: everything else is read from the export's document. */
export interface ResultsExportJobData {
  tenantId: string;
  exportId: string;
}

/** Progress a job reports (`job.progress`), also kept on the export's document. */
export interface ResultsExportProgress {
  records: number;
  /** Transcript messages written (exports of chats with their messages only). */
  messages?: number;
  bytes: number;
}

/** Retry policy: transient failures (MongoDB unreachable) are retried; limits and bad filters fail at once. */
export const RESULTS_EXPORT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** The job id of an export (`result-export.<id>`): adding the same export twice is a no-op. */
export const resultsExportJobId = (exportId: string): string => `result-export.${exportId}`;

/**
 * The producers' side of the results-export queue, on a shared ioredis connection.
 *
 * @example
 * const queue = createResultsExportQueue(redis, config.queuePrefix);
 */
export function createResultsExportQueue(connection: Redis, prefix: string): Queue<ResultsExportJobData> {
  return new Queue<ResultsExportJobData>(RESULTS_EXPORT_QUEUE_NAME, { connection, prefix });
}

/**
 * The BullMQ processor of results exports: runs {@link runResultsExport}, reports progress, fails at once
 * (`UnrecoverableError`, `[CODE] message`) on a permanent error, and marks the export failed when no attempt is left.
 */
export function resultsExportProcessor(deps: RunResultsExportDeps) {
  return async (job: Job<ResultsExportJobData>): Promise<ResultsExportProgress> => {
    try {
      const file = await runResultsExport(job.data, deps, (progress) => job.updateProgress(progress));
      return { records: file.records, ...(file.messages !== undefined ? { messages: file.messages } : {}), bytes: file.bytes };
    } catch (err) {
      const code = errorCodeOf(err);
      const permanent = isPermanentFailure(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        const message = err instanceof RetentionError ? err.message : 'the export failed unexpectedly: try again, and tell your operator if it keeps failing';
        await deps.exports.markFailed(job.data.tenantId, job.data.exportId, { code, message }, (deps.now ?? (() => new Date()))());
      }
      if (permanent && !(err instanceof UnrecoverableError)) {
        const unrecoverable = new UnrecoverableError(`[${code}] ${err instanceof Error ? err.message : String(err)}`);
        unrecoverable.cause = err;
        throw unrecoverable;
      }
      throw err;
    }
  };
}

/**
 * A worker of the results-export queue (`maxRetriesPerRequest: null` connection, as BullMQ requires).
 *
 * @example
 * const worker = createResultsExportWorker(redis, config.queuePrefix, { archive, exports, options });
 */
export function createResultsExportWorker(
  connection: Redis,
  prefix: string,
  deps: RunResultsExportDeps,
  options: { concurrency?: number } = {},
): Worker<ResultsExportJobData, ResultsExportProgress> {
  return new Worker<ResultsExportJobData, ResultsExportProgress>(RESULTS_EXPORT_QUEUE_NAME, resultsExportProcessor(deps), {
    connection,
    prefix,
    concurrency: options.concurrency ?? 2,
  });
}
