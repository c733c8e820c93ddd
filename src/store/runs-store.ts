import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
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

/** One delivered file, as listed in the run's manifest. */
export interface RunFile {
  path: string;
  type: RecordType;
  kind: 'records' | 'rejected';
  records: number;
  bytes: number;
  sha256: string;
}

export interface RunError {
  at: Date;
  code: string;
  message: string;
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
}

interface RunDocument extends Omit<Run, 'id'> {
  _id: string;
}

const toRun = ({ _id, ...rest }: RunDocument): Run => ({ id: _id, ...rest });

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
  async createIfAbsent(run: Omit<Run, 'status' | 'finishedAt' | 'totals' | 'files' | 'manifest' | 'errors'>): Promise<Run> {
    const { id, ...rest } = run;
    const doc = await this.runs.findOneAndUpdate(
      { _id: id },
      { $setOnInsert: { ...rest, tenantId: assertTenantId(run.tenantId), status: 'running', finishedAt: null, totals: {}, files: [], manifest: null, errors: [] } },
      { upsert: true, returnDocument: 'after' },
    );
    if (!doc || doc.tenantId !== run.tenantId) throw new RetentionError('ERR_RUN_CONFLICT', `run id ${id} belongs to another tenant`, 409);
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

  async markDone(
    tenantId: string,
    runId: string,
    result: { manifest: ChainHead; files: RunFile[]; totals: Partial<Record<RecordType, TypeTotals>> },
    now = new Date(),
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId) },
      { $set: { status: 'done', finishedAt: now, manifest: result.manifest, files: result.files, totals: result.totals } },
    );
  }

  async markFailed(tenantId: string, runId: string, error: { code: string; message: string }, now = new Date()): Promise<void> {
    await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId), status: 'running' },
      { $set: { status: 'failed', finishedAt: now }, $push: { errors: { $each: [{ at: now, code: error.code, message: error.message }], $slice: -50 } } },
    );
  }

  /** Notes an error that did not end the run (a retried chunk), keeping the last 50. */
  async recordError(tenantId: string, runId: string, error: { code: string; message: string }, now = new Date()): Promise<void> {
    await this.runs.updateOne(
      { _id: runId, tenantId: assertTenantId(tenantId) },
      { $push: { errors: { $each: [{ at: now, code: error.code, message: error.message }], $slice: -50 } } },
    );
  }
}
