import type { Collection, Db } from 'mongodb';
import type { ManifestFile } from '../archive/manifest.js';
import { RetentionError } from '../errors.js';
import { isRecordType, type RecordType } from '../records/record-type.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { ChainHead } from './checkpoints-store.js';

/** What started a run. */
export type RunTrigger = 'schedule' | 'manual' | 'backfill';
export type RunStatus = 'running' | 'done' | 'failed';

/** Counts of one data type in one run. */
export interface TypeTotals {
  records: number;
  rejected: number;
  files: number;
  bytes: number;
}

/** What a run keeps of each file its manifest lists (what the jobs page shows): part of the manifest's entry. */
export type RunFile = Pick<ManifestFile, 'path' | 'type' | 'kind' | 'records' | 'bytes' | 'sha256'>;

export interface RunError {
  at: Date;
  code: string;
  message: string;
}

/** A chunk's delivery as recorded on its run: the counts of its files, all uploaded. */
export interface ChunkDone {
  type: RecordType;
  /** Slice index of the chunk within its type. */
  index: number;
  records: number;
  rejected: number;
  bytes: number;
  at: Date;
}

/** Progress of one type within a run, summed over its delivered chunks. */
export interface TypeProgress {
  chunks: number;
  records: number;
  rejected: number;
  bytes: number;
}

/**
 * How far a run got: computed from the chunks recorded by {@link RunsStore.recordChunkDone}, each counted once however
 * often it ran. `records`, `rejected` and `bytes` are sums over the types.
 */
export interface RunProgress {
  chunksDone: number;
  chunkCount: number;
  types: Partial<Record<RecordType, TypeProgress>>;
  records: number;
  rejected: number;
  bytes: number;
  /** When the latest chunk was delivered; `null` before the first. */
  lastChunkAt: Date | null;
}

/** An archive run of one tenant. */
export interface Run {
  id: string;
  tenantId: string;
  trigger: RunTrigger;
  status: RunStatus;
  windows: Partial<Record<RecordType, { from: Date; to: Date }>>;
  previous: ChainHead | null;
  chunkCount: number;
  createdAt: Date;
  finishedAt: Date | null;
  totals: Partial<Record<RecordType, TypeTotals>>;
  files: RunFile[];
  manifest: ChainHead | null;
  errors: RunError[];
  progress: RunProgress;
}

interface RunDocument extends Omit<Run, 'id' | 'progress'> {
  _id: string;
  /** Delivered chunks keyed by {@link chunkProgressKey}; absent on runs recorded before progress existed. */
  progress?: Record<string, ChunkDone>;
}

const CHUNK_KEY = /^(call-logs|chats|contacts):(0|[1-9]\d{0,8})$/;

/**
 * The key of a chunk in a run's progress: `<type>:<slice index>`, one field name (no dot, no `$`).
 *
 * @example
 * chunkProgressKey('chats', 3); // 'chats:3'
 */
export function chunkProgressKey(type: RecordType, index: number): string {
  const key = `${String(type)}:${String(index)}`;
  if (!isRecordType(type) || !Number.isSafeInteger(index) || !CHUNK_KEY.test(key)) {
    throw new RetentionError('ERR_CHUNK_INVALID', `chunk ${key.slice(0, 60)} is not a record type and a non-negative slice index`);
  }
  return key;
}

const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

/**
 * Sums a run's delivered chunks into its progress.
 *
 * @example
 * computeRunProgress(3, { 'chats:0': { type: 'chats', index: 0, records: 7, rejected: 0, bytes: 900, at } });
 * // { chunksDone: 1, chunkCount: 3, records: 7, bytes: 900, types: { chats: { chunks: 1, ... } }, ... }
 */
export function computeRunProgress(chunkCount: number, chunks: Record<string, ChunkDone> = {}): RunProgress {
  const progress: RunProgress = { chunksDone: 0, chunkCount, types: {}, records: 0, rejected: 0, bytes: 0, lastChunkAt: null };
  for (const [key, chunk] of Object.entries(chunks)) {
    if (!CHUNK_KEY.test(key) || !isRecordType(chunk.type)) continue;
    const type = (progress.types[chunk.type] ??= { chunks: 0, records: 0, rejected: 0, bytes: 0 });
    type.chunks += 1;
    type.records += chunk.records;
    type.rejected += chunk.rejected;
    type.bytes += chunk.bytes;
    progress.chunksDone += 1;
    progress.records += chunk.records;
    progress.rejected += chunk.rejected;
    progress.bytes += chunk.bytes;
    if (progress.lastChunkAt === null || chunk.at.getTime() > progress.lastChunkAt.getTime()) progress.lastChunkAt = chunk.at;
  }
  return progress;
}

const toRun = ({ _id, progress, ...rest }: RunDocument): Run => ({ id: _id, ...rest, progress: computeRunProgress(rest.chunkCount, progress) });

/** The fields of a {@link RunFile} only, whatever else the entry carries, so stored documents keep their shape. */
const toRunFileDocument = ({ path, type, kind, records, bytes, sha256 }: RunFile): RunFile => ({ path, type, kind, records, bytes, sha256 });

/** The `runs` collection: one document per run, keyed by the deterministic run id. */
export class RunsStore {
  private readonly runs: Collection<RunDocument>;

  constructor(db: Db) {
    this.runs = db.collection<RunDocument>('runs');
  }

  async ensureIndexes(): Promise<void> {
    await this.runs.createIndex({ tenantId: 1, createdAt: -1 }, { name: 'tenant_created' });
  }

  /** Records a planned run; if it already exists (a retried run job), returns the stored one unchanged. */
  async createIfAbsent(run: Omit<Run, 'status' | 'finishedAt' | 'totals' | 'files' | 'manifest' | 'errors' | 'progress'>): Promise<Run> {
    const { id, ...rest } = run;
    const doc = await this.runs.findOneAndUpdate(
      { _id: id },
      {
        $setOnInsert: {
          ...rest,
          tenantId: assertTenantId(run.tenantId),
          status: 'running',
          finishedAt: null,
          totals: {},
          files: [],
          manifest: null,
          errors: [],
          progress: {},
        },
      },
      { upsert: true, returnDocument: 'after' },
    );
    if (!doc || doc.tenantId !== run.tenantId) throw new RetentionError('ERR_RUN_CONFLICT', `run id ${id} belongs to another tenant`);
    return toRun(doc);
  }

  async get(tenantId: string, runId: string): Promise<Run | undefined> {
    const doc = await this.runs.findOne({ _id: runId, tenantId: assertTenantId(tenantId) });
    return doc ? toRun(doc) : undefined;
  }

  /** Newest first; `before` pages by creation time. */
  async listByTenant(tenantId: string, options: { limit?: number; before?: Date } = {}): Promise<Run[]> {
    const filter = { tenantId: assertTenantId(tenantId), ...(options.before ? { createdAt: { $lt: options.before } } : {}) };
    const limit = Math.min(Math.max(options.limit ?? 20, 1), 200);
    return (await this.runs.find(filter).sort({ createdAt: -1 }).limit(limit).toArray()).map(toRun);
  }

  /** The runs created after `after`, oldest first (at most `limit`, 1 to 500; default 200). */
  async listCreatedAfter(tenantId: string, after: Date, limit = 200): Promise<Run[]> {
    const bounded = Math.min(Math.max(limit, 1), 500);
    return (
      await this.runs
        .find({ tenantId: assertTenantId(tenantId), createdAt: { $gt: after } })
        .sort({ createdAt: 1 })
        .limit(bounded)
        .toArray()
    ).map(toRun);
  }

  /**
   * Records a finalized run: its manifest, the files it lists (each kept as a {@link RunFile}; a whole manifest entry
   * may be passed) and its totals.
   *
   * @example
   * await runs.markDone('acme', runId, { manifest: head, files: manifest.files, totals });
   */
  async markDone(
    tenantId: string,
    runId: string,
    result: { manifest: ChainHead; files: readonly RunFile[]; totals: Partial<Record<RecordType, TypeTotals>> },
    now = new Date(),
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId) },
      { $set: { status: 'done', finishedAt: now, manifest: result.manifest, files: result.files.map(toRunFileDocument), totals: result.totals } },
    );
  }

  /**
   * Records that a chunk of a running run delivered all its files. Keyed by the chunk's type and slice index, so a
   * retried chunk replaces its earlier entry instead of counting twice. Returns false when the run is not running
   * (finished, failed, or of another tenant) and nothing was recorded.
   *
   * @example
   * await runs.recordChunkDone('acme', runId, { type: 'chats', index: 0, records: 120, rejected: 2, bytes: 48_213 });
   */
  async recordChunkDone(
    tenantId: string,
    runId: string,
    chunk: { type: RecordType; index: number; records: number; rejected: number; bytes: number },
    now = new Date(),
  ): Promise<boolean> {
    const key = chunkProgressKey(chunk.type, chunk.index);
    for (const name of ['records', 'rejected', 'bytes'] as const) {
      if (!isCount(chunk[name])) throw new RetentionError('ERR_CHUNK_INVALID', `chunk ${key}: ${name} must be a non-negative integer`);
    }
    const done: ChunkDone = { type: chunk.type, index: chunk.index, records: chunk.records, rejected: chunk.rejected, bytes: chunk.bytes, at: now };
    const result = await this.runs.updateOne({ _id: runId, tenantId: assertTenantId(tenantId), status: 'running' }, { $set: { [`progress.${key}`]: done } });
    return result.matchedCount === 1;
  }

  /** Marks a running run failed with the error; false when it was not running (already ended by someone else). */
  async markFailed(tenantId: string, runId: string, error: { code: string; message: string }, now = new Date()): Promise<boolean> {
    const result = await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId), status: 'running' },
      { $set: { status: 'failed', finishedAt: now }, $push: { errors: { $each: [{ at: now, code: error.code, message: error.message }], $slice: -50 } } },
    );
    return result.matchedCount === 1;
  }

  /** Notes an error that did not end the run (a retried chunk), keeping the last 50. */
  async recordError(tenantId: string, runId: string, error: { code: string; message: string }, now = new Date()): Promise<void> {
    await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId) },
      { $push: { errors: { $each: [{ at: now, code: error.code, message: error.message }], $slice: -50 } } },
    );
  }
}
