import type { ManifestFile } from '../archive/manifest.js';
import type { RecordType } from '../records/record-type.js';
import type { RunTrigger } from '../store/runs-store.js';

/**
 * Payload of a run job. Scheduled runs carry no window: the run plans it from the checkpoints.
 * A backfill carries the explicit range; it delivers a manifest in the chain but leaves the checkpoints.
 */
export interface RunJobData {
  tenantId: string;
  trigger: RunTrigger;
  /** ISO-8601 UTC bounds of a backfill. */
  backfill?: { from: string; to: string };
  /** Data types of a backfill (default: the tenant's). */
  types?: RecordType[];
}

/** Payload of a chunk job: one type and one time slice of one run. */
export interface ChunkJobData {
  tenantId: string;
  runId: string;
  type: RecordType;
  index: number;
  /** ISO-8601 UTC bounds, half-open. */
  from: string;
  to: string;
}

/**
 * Return value of a chunk job, read by its finalize parent (BullMQ stores it in Redis as JSON, so a finalize job may
 * read results stored by an earlier version of this code: keep every field and its meaning).
 */
export interface ChunkResult {
  type: RecordType;
  index: number;
  records: number;
  rejected: number;
  bytes: number;
  /** The manifest entries of the files the chunk uploaded, in upload order, as the manifest will list them. */
  files: ManifestFile[];
}

/** Payload of a finalize job. */
export interface FinalizeJobData {
  tenantId: string;
  runId: string;
}

/** What a run job returns. */
export type RunJobResult = { status: 'planned'; runId: string; chunks: number } | { status: 'already-running'; runId: string } | { status: 'nothing-to-do' };
