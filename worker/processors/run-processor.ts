import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { deriveRunId } from '../../src/archive/drop-layout.js';
import { RetentionError } from '../../src/errors.js';
import { chunkJobId, planBackfill, planWindows, type WindowPlan } from '../../src/archive/plan-windows.js';
import type { ExportQueues } from '../../src/queue/export-queues.js';
import type { ChunkJobData, FinalizeJobData, RunJobData, RunJobResult } from '../../src/queue/job-payloads.js';
import { QUEUE_NAMES, finalizeJobId } from '../../src/queue/queue-names.js';
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
 * Removes a failed run's flow so its job ids can be used again. Chunks of it may still be finishing (a parent fails as
 * soon as one child fails for good), and BullMQ refuses to remove a locked job: wait for them a little, then give up
 * with a transient error so the run job is retried later.
 */
async function removeFailedFlow(parent: Job): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    try {
      await parent.remove({ removeChildren: true });
      return;
    } catch (err) {
      if (!(err instanceof Error) || !/locked/.test(err.message)) throw err;
      await sleep(250);
    }
  }
  throw new RetentionError('ERR_RUN_FLOW_BUSY', `chunks of the failed run ${String(parent.data.runId)} are still finishing; the run will be planned again shortly`, 503);
}

/**
 * Plans a run: reads the tenant's checkpoints, cuts the windows into chunk slices, records the run and adds the
 * flow (a finalize parent over one chunk job per slice). Only one run per tenant delivers at a time; a run job that
 * finds another run still in flight leaves it alone, and one that finds an abandoned run (its finalize job gone or
 * failed) marks it failed and plans afresh from the unchanged checkpoints.
 */
export async function planRun(deps: ExportDeps, queues: ExportQueues, job: RunJobData): Promise<RunJobResult> {
  const { controlPlane } = deps;
  await controlPlane.tenants.require(job.tenantId);
  const { value: settings } = await controlPlane.settings.requireRetention(job.tenantId);
  const checkpoint = await controlPlane.checkpoints.get(job.tenantId);

  if (checkpoint.activeRunId) {
    const active = checkpoint.activeRunId;
    const finalize = await queues.finalize.getJob(finalizeJobId(active));
    const state = finalize ? await finalize.getState() : 'missing';
    if (state !== 'failed' && state !== 'missing' && state !== 'completed') return { status: 'already-running', runId: active };
    if (state !== 'completed') {
      await controlPlane.runs.markFailed(job.tenantId, active, { code: 'ERR_RUN_ABANDONED', message: `run ${active} did not finish (its finalize job is ${state}); the next run covers its windows again` }, deps.now());
    }
    await controlPlane.checkpoints.releaseRun(job.tenantId, active);
  }

  const now = deps.now();
  const types = job.types ?? settings.dataTypes;
  const plan: WindowPlan = job.backfill
    ? planBackfill({ from: new Date(job.backfill.from), to: new Date(job.backfill.to), types, now, settleLagMs: deps.options.settleLagMs, sliceMs: deps.options.sliceMs })
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

  const runId = deriveRunId(job.tenantId, plan.windows, checkpoint.head?.sha256 ?? null);
  if (!(await controlPlane.checkpoints.claimRun(job.tenantId, runId, now))) {
    const holder = (await controlPlane.checkpoints.get(job.tenantId)).activeRunId;
    return { status: 'already-running', runId: holder ?? runId };
  }
  const current = await controlPlane.checkpoints.get(job.tenantId);
  const children = plan.types.flatMap((typePlan) =>
    typePlan.slices.map((slice) => {
      const data: ChunkJobData = { tenantId: job.tenantId, runId, type: typePlan.type, index: slice.index, from: slice.from.toISOString(), to: slice.to.toISOString() };
      return { name: 'chunk', queueName: QUEUE_NAMES.chunks, data, opts: { ...CHUNK_JOB_OPTIONS, jobId: chunkJobId(job.tenantId, runId, typePlan.type, slice.index) } };
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
  if (run.status === 'done') {
    await controlPlane.checkpoints.releaseRun(job.tenantId, runId);
    return { status: 'nothing-to-do' };
  }
  if (run.status === 'failed') {
    // The same plan failed before (e.g. a backfill retried after its credentials were fixed): run it again under the
    // same id, replacing the failed flow so its deterministic job ids can be used anew.
    await controlPlane.runs.reopenFailed(job.tenantId, runId);
    const stale = await queues.finalize.getJob(finalizeJobId(runId));
    if (stale && (await stale.getState()) === 'failed') await removeFailedFlow(stale);
  }

  if (!(await queues.finalize.getJob(finalizeJobId(runId)))) {
    const data: FinalizeJobData = { tenantId: job.tenantId, runId };
    await queues.flows.add({ name: 'finalize', queueName: QUEUE_NAMES.finalize, data, opts: { ...FINALIZE_JOB_OPTIONS, jobId: finalizeJobId(runId) }, children });
  }
  deps.logger.info({ tenantId: job.tenantId, runId, chunks: children.length, trigger: job.trigger }, 'run planned');
  return { status: 'planned', runId, chunks: children.length };
}
