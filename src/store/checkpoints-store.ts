import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { isDuplicateKeyError } from './duplicate-key.js';

/** The newest manifest of a tenant's drop: the link the next manifest carries. */
export interface ChainHead {
  runId: string;
  path: string;
  sha256: string;
}

/** Per-tenant export progress. */
export interface TenantCheckpoint {
  /** Per type, every record with `updatedAt` before this instant has been delivered in a manifest. */
  through: Partial<Record<RecordType, Date>>;
  /** The last manifest delivered, or null before the first run. */
  head: ChainHead | null;
  /** The run currently allowed to deliver, so two runs of one tenant never interleave. */
  activeRunId: string | null;
}

interface CheckpointDocument {
  _id: string;
  through: Partial<Record<RecordType, Date>>;
  head: ChainHead | null;
  activeRunId: string | null;
  updatedAt: Date;
}

const toCheckpoint = (doc: CheckpointDocument | null): TenantCheckpoint => ({
  through: doc?.through ?? {},
  head: doc?.head ?? null,
  activeRunId: doc?.activeRunId ?? null,
});

/**
 * The `checkpoints` collection: one document per tenant holding the per-type watermarks, the manifest chain head
 * and the active run. Checkpoints advance in one atomic update together with the chain head, and only for the run
 * that holds the tenant, so two finalizes can never fork the chain.
 */
export class CheckpointsStore {
  private readonly checkpoints: Collection<CheckpointDocument>;

  constructor(db: Db) {
    this.checkpoints = db.collection<CheckpointDocument>('checkpoints');
  }

  async ensureIndexes(): Promise<void> {}

  async get(tenantId: string): Promise<TenantCheckpoint> {
    return toCheckpoint(await this.checkpoints.findOne({ _id: assertTenantId(tenantId) }));
  }

  /**
   * The tenants among `tenantIds` that a run holds, with that run, in one query (the reconciler's look for lost runs).
   *
   * @example
   * for (const { tenantId, activeRunId } of await checkpoints.listHeld(tenantIds)) console.log(tenantId, activeRunId);
   */
  async listHeld(tenantIds: readonly string[]): Promise<Array<{ tenantId: string; activeRunId: string }>> {
    const wanted = new Set(tenantIds.map((tenantId) => assertTenantId(tenantId)));
    if (wanted.size === 0) return [];
    // Held checkpoints are few next to all tenants' (one per run in flight): read them all, keep the wanted ones.
    const docs = await this.checkpoints
      .find({ activeRunId: { $ne: null } }, { projection: { activeRunId: 1 } })
      .sort({ _id: 1 })
      .toArray();
    return docs.flatMap((doc) => (wanted.has(doc._id) && typeof doc.activeRunId === 'string' ? [{ tenantId: doc._id, activeRunId: doc.activeRunId }] : []));
  }

  /**
   * Makes `runId` the tenant's active run. True if it now holds the tenant (also when it already did);
   * false if another run holds it.
   */
  async claimRun(tenantId: string, runId: string, now = new Date()): Promise<boolean> {
    return (await this.claimRunReading(tenantId, runId, now)) !== undefined;
  }

  /**
   * Like {@link claimRun}, and returns the checkpoint as the claim left it (what a read right after the claim would
   * return, in the same round trip); `undefined` when another run holds the tenant.
   *
   * @example
   * const claimed = await checkpoints.claimRunReading('acme', runId);
   * if (claimed) await runs.createIfAbsent({ ...run, previous: claimed.head });
   */
  async claimRunReading(tenantId: string, runId: string, now = new Date()): Promise<TenantCheckpoint | undefined> {
    const id = assertTenantId(tenantId);
    try {
      const doc = await this.checkpoints.findOneAndUpdate(
        { _id: id, activeRunId: { $in: [null, runId] } },
        { $set: { activeRunId: runId, updatedAt: now }, $setOnInsert: { through: {}, head: null } },
        { upsert: true, returnDocument: 'after' },
      );
      return doc?.activeRunId === runId ? toCheckpoint(doc) : undefined;
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      throw err;
    }
  }

  /** Lets go of the tenant if `runId` holds it (after a failed run). */
  async releaseRun(tenantId: string, runId: string, now = new Date()): Promise<void> {
    await this.checkpoints.updateOne({ _id: assertTenantId(tenantId), activeRunId: runId }, { $set: { activeRunId: null, updatedAt: now } });
  }

  /**
   * Advances the watermarks and the chain head for a finished run, and releases the tenant, in one update.
   * Only succeeds while `runId` holds the tenant and the head is still `expectedHead` (the link the run's manifest
   * carries). Repeating it after success is a no-op. Otherwise `ERR_CHAIN_CONFLICT`.
   */
  async advance(
    tenantId: string,
    runId: string,
    update: { through: Partial<Record<RecordType, Date>>; head: ChainHead; expectedHead: ChainHead | null },
    now = new Date(),
  ): Promise<void> {
    const id = assertTenantId(tenantId);
    const set: Record<string, unknown> = { head: update.head, activeRunId: null, updatedAt: now };
    for (const [type, through] of Object.entries(update.through)) set[`through.${type}`] = through;
    const headFilter = update.expectedHead === null ? { head: null } : { 'head.sha256': update.expectedHead.sha256 };
    const result = await this.checkpoints.updateOne({ _id: id, activeRunId: runId, ...headFilter }, { $set: set });
    if (result.matchedCount === 1) return;
    const current = await this.get(id);
    if (current.head?.runId === runId && current.head.sha256 === update.head.sha256) return;
    throw new RetentionError(
      'ERR_CHAIN_CONFLICT',
      `run ${runId} of tenant "${id}" cannot advance the checkpoints: the tenant is held by ${current.activeRunId ?? 'no run'} and its chain head is ${current.head?.path ?? 'empty'}; the run will be planned again`,
    );
  }
}
