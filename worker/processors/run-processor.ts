import { deriveRunId } from '../../src/archive/drop-layout.js';
import { RetentionError } from '../../src/errors.js';
import { chunkJobId, planBackfill, planWindows, type WindowPlan } from '../../src/archive/plan-windows.js';
import type { ExportQueues } from '../../src/queue/export-queues.js';
import type { ChunkJobData, FinalizeJobData, RunJobData, RunJobResult } from '../../src/queue/job-payloads.js';
import { QUEUE_NAMES, finalizeJobId } from '../../src/queue/queue-names.js';
import type { RunsStore } from '../../src/store/runs-store.js';
import type { TenantCheckpoint } from '../../src/store/checkpoints-store.js';
import type { RetentionSettings } from '../../src/tenants/retention-settings.js';
import { endLostRun } from '../../src/queue/lost-runs.js';
import type { ExportDeps } from '../export-deps.js';

/** Retry policy of chunk jobs: transient failures back off exponentially; permanent ones fail the run at once. */
export const CHUNK_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2_000 },
  failParentOnFailure: true,
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/** Retry policy of finalize jobs. */
export const FINALIZE_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 30 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/**
 * The id under which a plan runs: its derived id, or, when runs of the same plan already failed (a backfill retried
 * after its credentials were fixed), the next `-rN` attempt, so the retry gets fresh job ids and file names (which
 * carry the run id) and the failed attempt's last chunks cannot touch it. Deterministic: a retried run job finds the same attempt. `undefined` when the plan was
 * already delivered.
 */
async function attemptId(runs: RunsStore, tenantId: string, baseId: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const candidate = attempt === 0 ? baseId : `${baseId}-r${attempt}`;
    const run = await runs.get(tenantId, candidate);
    if (run === undefined || run.status === 'running') return candidate;
    if (run.status === 'done') return undefined;
  }
  throw new RetentionError(
    'ERR_RUN_ATTEMPTS_EXHAUSTED',
    `run ${baseId} of "${tenantId}" failed 100 times; fix the cause shown by \`retention runs ${tenantId}\` before retrying`,
  );
}

/**
 * The tenant (it must exist), its retention settings and its checkpoint, read at once; errors in that order of
 * precedence (`ERR_TENANT_NOT_FOUND` before `ERR_SETTINGS_MISSING`).
 */
async function readPlanInputs(deps: ExportDeps, tenantId: string): Promise<{ settings: RetentionSettings; checkpoint: TenantCheckpoint }> {
  const { controlPlane } = deps;
  const [tenant, settings, checkpoint] = await Promise.allSettled([
    controlPlane.tenants.require(tenantId),
    controlPlane.settings.requireRetention(tenantId),
    controlPlane.checkpoints.get(tenantId),
  ]);
  valueOf(tenant);
  return { settings: valueOf(settings).value, checkpoint: valueOf(checkpoint) };
}

function valueOf<T>(read: PromiseSettledResult<T>): T {
  if (read.status === 'rejected') throw read.reason;
  return read.value;
}

/**
 * Plans a run: reads the tenant's checkpoints, cuts the windows into chunk slices, records the run and adds the
 * flow (a finalize parent over one chunk job per slice). Only one run per tenant delivers at a time; a run job that
 * finds another run still in flight leaves it alone, and one that finds an abandoned run (its finalize job gone or
 * failed) ends it ({@link endLostRun}: a lost backfill's windows are queued again) and plans afresh from the
 * unchanged checkpoints.
 */
export async function planRun(deps: ExportDeps, queues: ExportQueues, job: RunJobData): Promise<RunJobResult> {
  const { controlPlane } = deps;
  const { settings, checkpoint } = await readPlanInputs(deps, job.tenantId);

  if (checkpoint.activeRunId) {
    const active = checkpoint.activeRunId;
    const finalize = await queues.finalize.getJob(finalizeJobId(active));
    const state = finalize ? await finalize.getState() : 'missing';
    if (state !== 'failed' && state !== 'missing' && state !== 'completed') return { status: 'already-running', runId: active };
    if (state !== 'completed') await endLostRun({ ...deps, queues }, job.tenantId, active, state === 'missing' ? 'missing' : 'failed');
    else await controlPlane.checkpoints.releaseRun(job.tenantId, active);
  }

  const now = deps.now();
  const types = job.types ?? settings.dataTypes;
  const plan: WindowPlan = job.backfill
    ? planBackfill({
        from: new Date(job.backfill.from),
        to: new Date(job.backfill.to),
        types,
        now,
        settleLagMs: deps.options.settleLagMs,
        sliceMs: deps.options.sliceMs,
      })
    : planWindows({
        now,
        checkpoints: checkpoint.through,
        types,
        settleLagMs: deps.options.settleLagMs,
        initialLookbackMs: deps.options.initialLookbackMs,
        maxWindowMs: deps.options.maxWindowMs,
        sliceMs: deps.options.sliceMs,
      });
  if (Object.keys(plan.windows).length === 0) return { status: 'nothing-to-do' };

  const runId = await attemptId(controlPlane.runs, job.tenantId, deriveRunId(job.tenantId, plan.windows, checkpoint.head?.sha256 ?? null));
  if (runId === undefined) return { status: 'nothing-to-do' };
  const current = await controlPlane.checkpoints.claimRunReading(job.tenantId, runId, now);
  if (current === undefined) {
    const holder = (await controlPlane.checkpoints.get(job.tenantId)).activeRunId;
    return { status: 'already-running', runId: holder ?? runId };
  }
  const children = plan.types.flatMap((typePlan) =>
    typePlan.slices.map((slice) => {
      const data: ChunkJobData = {
        tenantId: job.tenantId,
        runId,
        type: typePlan.type,
        index: slice.index,
        from: slice.from.toISOString(),
        to: slice.to.toISOString(),
      };
      return {
        name: 'chunk',
        queueName: QUEUE_NAMES.chunks,
        data,
        opts: { ...CHUNK_JOB_OPTIONS, jobId: chunkJobId(job.tenantId, runId, typePlan.type, slice.index) },
      };
    }),
  );
  const run = await controlPlane.runs.createIfAbsent({
    id: runId,
    tenantId: job.tenantId,
    trigger: job.trigger,
    windows: plan.windows,
    previous: current.head,
    chunkCount: children.length,
    createdAt: now,
  });
  if (run.status !== 'running') return { status: 'already-running', runId };

  if (!(await queues.finalize.getJob(finalizeJobId(runId)))) {
    const data: FinalizeJobData = { tenantId: job.tenantId, runId };
    await queues.flows.add({
      name: 'finalize',
      queueName: QUEUE_NAMES.finalize,
      data,
      opts: { ...FINALIZE_JOB_OPTIONS, jobId: finalizeJobId(runId) },
      children,
    });
  }
  deps.logger.info({ tenantId: job.tenantId, runId, chunks: children.length, trigger: job.trigger }, 'run planned');
  return { status: 'planned', runId, chunks: children.length };
}
