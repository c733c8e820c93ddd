import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEvent, RunFailedAlert } from '../src/alerts/alert-event.js';
import { schedulePausedAlert } from '../src/alerts/schedule-paused-alert.js';
import type { ExportQueues } from '../src/queue/export-queues.js';
import type { ChunkJobData, ChunkResult, FinalizeJobData, RunJobData, RunJobResult } from '../src/queue/job-payloads.js';
import { pauseAfterFailedRuns } from '../src/queue/auto-pause.js';
import { errorCodeOf, finalFailureMessage, isPermanentFailure, toJobError } from '../src/queue/permanent-failure.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import type { ExportDeps } from './export-deps.js';
import { exportChunk } from './processors/chunk-processor.js';
import { finalizeRun, type FinalizeResult } from './processors/finalize-processor.js';
import { planRun } from './processors/run-processor.js';

/** Options of the export workers. */
export interface ExportWorkerOptions {
  /** Chunk jobs this process runs at once. Default 4. */
  concurrency?: number;
  /** How often stalled jobs (of a crashed worker) are looked for. BullMQ's default is 30 000 ms. */
  stalledIntervalMs?: number;
  /** Lock duration of an active job; a worker that dies loses its jobs after this. BullMQ's default is 30 000 ms. */
  lockDurationMs?: number;
}

/** The running export workers of one process. */
export interface ExportWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for the running ones (BullMQ retries what is cut off). */
  close(): Promise<void>;
}

/** BullMQ's reason for a parent failed by its child (`failParentOnFailure`): "child <prefix>:chunks:<id> failed". */
const CHILD_FAILED = new RegExp(`^child \\S+:${QUEUE_NAMES.chunks}:\\S+ failed$`);

/**
 * True when a finalize job failed only because one of its chunks did (BullMQ fails the parent with "child … failed").
 * That failure carries no code of its own; the chunk's failure is the one to record.
 */
export function failedForAChunk(job: Job<ChunkJobData | FinalizeJobData>, err: Error): boolean {
  return job.queueName === QUEUE_NAMES.finalize && CHILD_FAILED.test(err.message);
}

/**
 * Hands an alert to `deps.alerts` (when there is one). The failure it is about is recorded by then, so even an alert
 * sink that throws (it should not) is only logged.
 */
async function raiseAlert(deps: ExportDeps, event: AlertEvent): Promise<void> {
  if (deps.alerts === undefined) return;
  try {
    await deps.alerts.raise(event);
  } catch (err) {
    deps.logger.error(
      { tenantId: event.tenantId, alert: event.kind, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not raise an alert',
    );
  }
}

/**
 * Starts the run, chunk and finalize workers. Failures are recorded on the run; a permanent failure
 * (or the last attempt of a transient one) fails the run and frees the tenant for the next run, with a message that
 * promises no further attempt ({@link finalFailureMessage}). The chunks of a failed run that are still queued stop
 * without connecting (`ERR_RUN_ENDED`) and record nothing. The one failure that ends the run raises the `run-failed`
 * alert, and a pause of the schedule it causes the `schedule-paused` alert (`deps.alerts`).
 *
 * @example
 * const workers = startExportWorkers(deps, queues, redis, { concurrency: config.workerConcurrency });
 * process.on('SIGTERM', () => void workers.close());
 */
export function startExportWorkers(deps: ExportDeps, queues: ExportQueues, connection: Redis, options: ExportWorkerOptions = {}): ExportWorkers {
  const common = {
    connection,
    prefix: queues.prefix,
    ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
    ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
  };

  const runs = new Worker<RunJobData, RunJobResult>(
    QUEUE_NAMES.runs,
    async (job) => {
      try {
        return await planRun(deps, queues, job.data);
      } catch (err) {
        throw toJobError(err);
      }
    },
    { ...common, concurrency: 2 },
  );

  const chunks = new Worker<ChunkJobData, ChunkResult>(
    QUEUE_NAMES.chunks,
    async (job, _token, signal) => {
      try {
        return await exportChunk(deps, job.data, (progress) => job.updateProgress(progress), signal);
      } catch (err) {
        throw toJobError(err);
      }
    },
    { ...common, concurrency: options.concurrency ?? 4 },
  );

  const finalize = new Worker<FinalizeJobData, FinalizeResult>(
    QUEUE_NAMES.finalize,
    async (job) => {
      try {
        const values = await job.getChildrenValues<ChunkResult>();
        return await finalizeRun(deps, job.data, Object.values(values));
      } catch (err) {
        throw toJobError(err);
      }
    },
    { ...common, concurrency: 2 },
  );

  const onFailed = async (job: Job<ChunkJobData | FinalizeJobData> | undefined, err: Error): Promise<void> => {
    if (!job) return;
    const { tenantId, runId } = job.data;
    if (failedForAChunk(job, err)) {
      // The chunk's own failure handler records the run's failure with the chunk's code and message.
      deps.logger.info({ tenantId, runId, jobId: job.id }, 'finalize job failed because a chunk of its run failed');
      return;
    }
    const code = errorCodeOf(err);
    if (code === 'ERR_RUN_ENDED') {
      deps.logger.info({ tenantId, runId, jobId: job.id }, 'chunk of a failed run stopped without connecting');
      return;
    }
    const permanent = isPermanentFailure(err);
    const final = permanent || job.attemptsMade >= (job.opts.attempts ?? 1);
    deps.logger.warn({ tenantId, runId, jobId: job.id, code, final, err: { message: err.message } }, 'export job failed');
    let runFailed: RunFailedAlert | undefined;
    let recordedFinal = false;
    try {
      if (final) {
        const run = await deps.controlPlane.runs.get(tenantId, runId);
        const message = finalFailureMessage(err.message, { attemptsMade: job.attemptsMade, permanent, trigger: run?.trigger });
        const failedAt = deps.now();
        const ended = await deps.controlPlane.runs.markFailed(tenantId, runId, { code, message }, failedAt);
        if (ended && run !== undefined)
          runFailed = { kind: 'run-failed', tenantId, runId, trigger: run.trigger, startedAt: run.createdAt, failedAt, code, message };
        await deps.controlPlane.checkpoints.releaseRun(tenantId, runId);
        await deps.controlPlane.audit.append(tenantId, {
          actor: { type: 'system', id: 'worker' },
          action: 'run.failed',
          outcome: 'failure',
          target: runId,
          details: { code, job: job.id ?? null },
        });
        recordedFinal = true;
      } else {
        await deps.controlPlane.runs.recordError(tenantId, runId, { code, message: err.message }, deps.now());
      }
    } catch (recordErr) {
      deps.logger.error({ tenantId, runId, err: recordErr }, 'could not record a job failure');
    }
    // Only the handler whose update ended the run alerts it (markFailed is true once per run).
    if (runFailed !== undefined) await raiseAlert(deps, runFailed);
    if (!recordedFinal) return;
    try {
      const paused = await pauseAfterFailedRuns(deps.controlPlane, queues.runs, tenantId, undefined, deps.now);
      if (paused.outcome === 'paused') {
        deps.logger.warn({ tenantId }, 'schedule paused after failed runs in a row');
        await raiseAlert(deps, schedulePausedAlert(tenantId, paused.pause));
      }
    } catch (pauseErr) {
      deps.logger.error({ tenantId, runId, err: pauseErr }, 'could not record a job failure');
    }
  };
  chunks.on('failed', (job, err) => void onFailed(job, err));
  finalize.on('failed', (job, err) => void onFailed(job, err));
  for (const worker of [runs, chunks, finalize]) {
    worker.on('error', (err) => deps.logger.error({ queue: worker.name, err }, 'worker error'));
  }

  return {
    workers: [runs, chunks, finalize],
    async close() {
      await Promise.all([runs.close(), chunks.close(), finalize.close()]);
    },
  };
}
