/** BullMQ queue names; all share the configured key prefix (`QUEUE_PREFIX`). */
export const QUEUE_NAMES = {
  /** One job per planned run: reads checkpoints, plans windows, adds the chunk flow. */
  runs: 'runs',
  /** One job per (type, time slice): read, validate, encode, upload. */
  chunks: 'chunks',
  /** Parent of a run's chunks: uploads the manifest, advances checkpoints. */
  finalize: 'finalize',
} as const;

/** Job id of a run's finalize job. */
export const finalizeJobId = (runId: string): string => `finalize.${runId}`;

/** Id of a tenant's job scheduler in the runs queue. */
export const schedulerId = (tenantId: string): string => `tenant.${tenantId}`;
