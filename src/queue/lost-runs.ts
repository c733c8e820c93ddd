import type { Logger } from 'pino';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import type { ControlPlane } from '../store/control-plane.js';
import type { Run } from '../store/runs-store.js';
import type { AlertSink } from '../alerts/alert-event.js';
import type { ExportQueues } from './export-queues.js';
import type { RunJobData } from './job-payloads.js';
import { finalizeJobId } from './queue-names.js';
import { RUN_JOB_OPTIONS } from './tenant-schedules.js';

/** What ending a run whose jobs are gone needs. */
export interface LostRunDeps {
  controlPlane: Pick<ControlPlane, 'runs' | 'checkpoints' | 'audit'>;
  queues: Pick<ExportQueues, 'runs' | 'finalize'>;
  logger: Logger;
  now: () => Date;
  /** Where the `run-failed` alert of a run ended here goes; none: no alert. */
  alerts?: AlertSink;
}

/** Why a run is ended as lost: its finalize job is missing (Redis lost it) or failed for good. */
export type LostRunCause = 'missing' | 'failed';

/** What {@link endLostRun} did. */
export interface LostRunOutcome {
  /** False when another process ended the run first (nothing was done here). */
  ended: boolean;
  /** The job id of the backfill queued again with the lost run's own windows (backfills only). */
  replannedJobId?: string;
}

/** The job id under which a lost backfill's windows are queued again: one per lost run, whoever notices it. */
export const replanJobId = (tenantId: string, runId: string): string => `backfill.${tenantId}.replan.${runId}`;

/** The range and types of a backfill run, from the windows it recorded. */
function backfillRange(run: Run): { from: Date; to: Date; types: RecordType[] } | undefined {
  const types = RECORD_TYPES.filter((type) => run.windows[type] !== undefined);
  if (types.length === 0) return undefined;
  const windows = types.map((type) => run.windows[type] as { from: Date; to: Date });
  return {
    from: new Date(Math.min(...windows.map((w) => new Date(w.from).getTime()))),
    to: new Date(Math.max(...windows.map((w) => new Date(w.to).getTime()))),
    types,
  };
}

/**
 * Ends a run that can no longer finish because its jobs are gone (Redis restarted without its data) or its finalize
 * job failed: marks it failed with `ERR_RUN_LOST` (missing) or `ERR_RUN_ABANDONED` (failed) and a message that is
 * true for its trigger, and releases the tenant. A scheduled or manual run's windows are covered again by the next
 * run (its checkpoints never advanced); a backfill's windows are not (the schedule never covers a past range), so they
 * are queued again as a backfill of their own, under a job id derived from the lost run, so that of several workers
 * noticing the same run only one backfill is queued. Audited as `run.lost` by the worker, and alerted (`run-failed`) to
 * the tenant's alert recipients by the process that ended it.
 *
 * Safe from any number of processes: only the one whose conditional update ended the run does the rest.
 *
 * @example
 * await endLostRun(deps, 'acme', activeRunId, 'missing');
 */
export async function endLostRun(deps: LostRunDeps, tenantId: string, runId: string, cause: LostRunCause): Promise<LostRunOutcome> {
  const { controlPlane } = deps;
  const run = await controlPlane.runs.get(tenantId, runId);
  const range = run?.trigger === 'backfill' ? backfillRange(run) : undefined;
  const jobId = range !== undefined ? replanJobId(tenantId, runId) : undefined;
  const why = cause === 'missing' ? 'its jobs were lost (Redis lost its data, or they were removed)' : 'its finalize job failed';
  const message =
    range !== undefined
      ? `run ${runId} did not finish: ${why}; its backfill of ${range.from.toISOString()} to ${range.to.toISOString()} (${range.types.join(', ')}) was queued again as job ${jobId ?? ''}`
      : `run ${runId} did not finish: ${why}; the next run covers its windows again`;
  const code = cause === 'missing' ? 'ERR_RUN_LOST' : 'ERR_RUN_ABANDONED';
  const failedAt = deps.now();
  const ended = run?.status === 'running' ? await controlPlane.runs.markFailed(tenantId, runId, { code, message }, failedAt) : false;
  await controlPlane.checkpoints.releaseRun(tenantId, runId, deps.now());
  if (!ended) return { ended: false };
  if (range !== undefined && jobId !== undefined) {
    const data: RunJobData = { tenantId, trigger: 'backfill', backfill: { from: range.from.toISOString(), to: range.to.toISOString() }, types: range.types };
    await deps.queues.runs.add('run', data, { ...RUN_JOB_OPTIONS, jobId });
  }
  await controlPlane.audit.append(
    tenantId,
    {
      actor: { type: 'system', id: 'worker' },
      action: 'run.lost',
      outcome: 'failure',
      target: runId,
      details: { code, trigger: run?.trigger ?? null, replannedAs: jobId ?? null },
    },
    deps.now(),
  );
  deps.logger.warn({ tenantId, runId, code, replannedAs: jobId }, 'run ended as lost');
  if (run !== undefined)
    await deps.alerts?.raise({ kind: 'run-failed', tenantId, runId, trigger: run.trigger, startedAt: run.createdAt, failedAt, code, message });
  return { ended: true, ...(jobId !== undefined ? { replannedJobId: jobId } : {}) };
}

/** Options of {@link findLostRuns}. */
export interface FindLostRunsOptions {
  /**
   * A run younger than this is never judged lost: its planner may be between recording it and adding its jobs.
   * Default 120 000 ms.
   */
  graceMs?: number;
}

/**
 * Ends every active run whose finalize job is missing from Redis (the run cannot finish: Redis lost its data or the
 * jobs were removed) and that is older than the grace period, with {@link endLostRun}. Returns the runs it ended.
 * Runs whose jobs still exist, waiting, delayed, active or failed, are left to their workers and planners.
 *
 * @example
 * const ended = await findLostRuns(deps, await controlPlane.settings.listRetentionTenants());
 */
export async function findLostRuns(
  deps: LostRunDeps,
  tenantIds: readonly string[],
  options: FindLostRunsOptions = {},
): Promise<Array<{ tenantId: string; runId: string } & LostRunOutcome>> {
  const graceMs = options.graceMs ?? 120_000;
  const ended: Array<{ tenantId: string; runId: string } & LostRunOutcome> = [];
  for (const { tenantId, activeRunId } of await deps.controlPlane.checkpoints.listHeld(tenantIds)) {
    if ((await deps.queues.finalize.getJob(finalizeJobId(activeRunId))) !== undefined) continue;
    const run = await deps.controlPlane.runs.get(tenantId, activeRunId);
    // No run recorded yet: its planner is between claiming the tenant and recording the run, or crashed there; the
    // planner's retry (or the next run job) resolves that.
    if (run === undefined || deps.now().getTime() - new Date(run.createdAt).getTime() < graceMs) continue;
    const outcome = await endLostRun(deps, tenantId, activeRunId, 'missing');
    if (outcome.ended) ended.push({ tenantId, runId: activeRunId, ...outcome });
  }
  return ended;
}
