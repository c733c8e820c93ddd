import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkJobData, FinalizeJobData, RunJobData } from './job-payloads.js';
import { QUEUE_NAMES } from './queue-names.js';
import { RUN_JOB_OPTIONS } from './tenant-schedules.js';

/** The producers' side of the export queues. */
export interface ExportQueues {
  prefix: string;
  runs: Queue<RunJobData>;
  chunks: Queue<ChunkJobData>;
  finalize: Queue<FinalizeJobData>;
  flows: FlowProducer;
  close(): Promise<void>;
}

/**
 * Opens the export queues on a shared ioredis connection (`maxRetriesPerRequest: null`, as BullMQ requires).
 *
 * @example
 * const queues = createExportQueues(redis, config.queuePrefix);
 * await enqueueRunNow(queues, 'acme');
 */
export function createExportQueues(connection: Redis, prefix: string): ExportQueues {
  const runs = new Queue<RunJobData>(QUEUE_NAMES.runs, { connection, prefix });
  const chunks = new Queue<ChunkJobData>(QUEUE_NAMES.chunks, { connection, prefix });
  const finalize = new Queue<FinalizeJobData>(QUEUE_NAMES.finalize, { connection, prefix });
  const flows = new FlowProducer({ connection, prefix });
  return {
    prefix,
    runs,
    chunks,
    finalize,
    flows,
    async close() {
      await Promise.all([runs.close(), chunks.close(), finalize.close(), flows.close()]);
    },
  };
}

/** Asks for a run of `tenantId` now (the run plans its own windows). Returns the job id. */
export async function enqueueRunNow(queues: ExportQueues, tenantId: string, now = new Date()): Promise<string> {
  const jobId = `manual.${tenantId}.${now.getTime()}`;
  await queues.runs.add('run', { tenantId, trigger: 'manual' }, { ...RUN_JOB_OPTIONS, jobId });
  return jobId;
}

/** Asks for a backfill of `[from, to)`; it is delivered as its own manifest in the chain. Returns the job id. */
export async function enqueueBackfill(
  queues: ExportQueues,
  tenantId: string,
  range: { from: Date; to: Date; types?: RunJobData['types'] },
  now = new Date(),
): Promise<string> {
  const jobId = `backfill.${tenantId}.${now.getTime()}`;
  const data: RunJobData = { tenantId, trigger: 'backfill', backfill: { from: range.from.toISOString(), to: range.to.toISOString() } };
  if (range.types) data.types = range.types;
  await queues.runs.add('run', data, { ...RUN_JOB_OPTIONS, jobId });
  return jobId;
}
