import type { Collection, Db } from 'mongodb';
import type { ManifestLink } from '../../archive/manifest.js';
import type { RejectionIssue } from '../../archive/rejected-records-writer.js';
import type { RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { isDuplicateKeyError } from '../duplicate-key.js';
import type { ArchiveWriteStats } from './archive-writer.js';

/** Where the import of one manifest stands. `importing` also covers a transient failure waiting for its retry. */
export type ManifestImportStatus = 'importing' | 'imported' | 'failed';

/** Why an import failed. `file` names the listed file at fault (a checksum mismatch, a bad record). */
export interface ManifestImportError {
  code: string;
  message: string;
  file?: string;
  /** True when retrying cannot help: the manifest is refused until an operator acts. */
  permanent: boolean;
  at: Date;
}

/**
 * Per-type counts of an imported manifest, plus its transcript messages. For each type, `types[type].records`
 * (stored) and `rejected[type]` add up to the records the manifest's record files of that type hold.
 */
export interface ManifestImportCounts {
  types: Partial<Record<RecordType, { records: number; inserted: number; updated: number; unchanged: number }>>;
  /** Records the archive could not store (see {@link ImportRejection}), per type; empty when none, absent on imports recorded before rejections were counted. */
  rejected?: Partial<Record<RecordType, number>>;
  messages: { records: number; inserted: number; updated: number; unchanged: number; removed: number };
  files: number;
  bytes: number;
}

/** Most rejected records an import record lists one by one; `counts.rejected` counts them all. */
export const MAX_LISTED_REJECTIONS = 100;

/**
 * A record of an imported manifest that the archive could not store (too large for MongoDB, nested too deep, a field
 * name BSON cannot carry): where it is in the drop, which stays its faithful copy, and why. The import goes on
 * without it, as the exporter goes on without a record it puts in `rejected/`.
 */
export interface ImportRejection {
  type: RecordType;
  /** Path of the record file in the drop. */
  file: string;
  /** 0-based position of the record in that file. */
  index: number;
  /** The record's id. */
  id: string;
  /** `too-large`, `too-deep` or `field-name`. */
  reason: string;
  issues: RejectionIssue[];
}

/** The import record of one manifest of a tenant's drop. */
export interface ManifestImport {
  tenantId: string;
  /** Path of the manifest in the drop (relative to the target root). */
  path: string;
  runId: string;
  /** SHA-256 of the manifest bytes that were (or are being) imported: the link its successor must carry. */
  sha256: string;
  previous: ManifestLink | null;
  status: ManifestImportStatus;
  counts: ManifestImportCounts | null;
  /** The records the archive could not store, at most {@link MAX_LISTED_REJECTIONS} (empty when none). */
  rejections: ImportRejection[];
  error: ManifestImportError | null;
  attempts: number;
  startedAt: Date;
  finishedAt: Date | null;
}

interface ManifestImportDocument extends Omit<ManifestImport, 'rejections'> {
  _id: string;
  rejections?: ImportRejection[];
}

/** Import records written before rejections were recorded lack `rejections`. */
const toImport = ({ _id: _ignored, rejections, ...rest }: ManifestImportDocument): ManifestImport => ({ ...rest, rejections: rejections ?? [] });

/** Counts of an import from the writer's statistics. */
export function importCountsOf(stats: ArchiveWriteStats, files: number, bytes: number): ManifestImportCounts {
  const types: ManifestImportCounts['types'] = {};
  const rejected: Partial<Record<RecordType, number>> = {};
  for (const [type, counts] of Object.entries(stats.types) as [RecordType, ArchiveWriteStats['types'][RecordType]][]) {
    if (counts.records > 0) types[type] = { ...counts };
    if (stats.rejected[type] > 0) rejected[type] = stats.rejected[type];
  }
  return { types, rejected, messages: { ...stats.messages }, files, bytes };
}

/** An upsert guarded by `status != imported` collides with the imported record's `_id`: that record stays as it is. */
async function ignoreImported(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

/**
 * The control plane's `archiveImports` collection: one document per imported (or refused) manifest of a tenant,
 * keyed by the manifest's path. It is what the chain check reads (the hash each imported manifest had) and what makes
 * importing a manifest again a no-op.
 */
export class ArchiveImportsStore {
  private readonly imports: Collection<ManifestImportDocument>;

  constructor(db: Db) {
    this.imports = db.collection<ManifestImportDocument>('archiveImports');
  }

  async ensureIndexes(): Promise<void> {
    await this.imports.createIndex({ tenantId: 1, status: 1, startedAt: 1 }, { name: 'tenant_status' });
    await this.imports.createIndex({ tenantId: 1, 'previous.path': 1 }, { name: 'tenant_previous' });
  }

  async get(tenantId: string, path: string): Promise<ManifestImport | undefined> {
    const doc = await this.imports.findOne({ _id: path, tenantId: assertTenantId(tenantId) });
    return doc ? toImport(doc) : undefined;
  }

  /** Every import record of a tenant, oldest first. */
  async list(tenantId: string): Promise<ManifestImport[]> {
    return (
      await this.imports
        .find({ tenantId: assertTenantId(tenantId) })
        .sort({ startedAt: 1, _id: 1 })
        .toArray()
    ).map(toImport);
  }

  /** True when at least one manifest of the tenant is recorded as imported. */
  async hasImported(tenantId: string): Promise<boolean> {
    return (await this.imports.findOne({ tenantId: assertTenantId(tenantId), status: 'imported' }, { projection: { _id: 1 } })) !== null;
  }

  /** Another imported manifest that follows `previous` (`null`: another imported genesis), if any: a fork. */
  async findImportedFollower(tenantId: string, previous: string | null, exceptPath: string): Promise<ManifestImport | undefined> {
    const doc = await this.imports.findOne({
      tenantId: assertTenantId(tenantId),
      status: 'imported',
      _id: { $ne: exceptPath },
      ...(previous === null ? { previous: null } : { 'previous.path': previous }),
    });
    return doc ? toImport(doc) : undefined;
  }

  /** Notes that an attempt to import `path` starts (creates the record on the first attempt). */
  async begin(tenantId: string, entry: { path: string; runId: string; sha256: string; previous: ManifestLink | null }, now: Date): Promise<void> {
    const tenant = assertTenantId(tenantId);
    await ignoreImported(
      this.imports.updateOne(
        { _id: entry.path, tenantId: tenant, status: { $ne: 'imported' } },
        {
          $set: { runId: entry.runId, sha256: entry.sha256, previous: entry.previous, status: 'importing', finishedAt: null },
          $inc: { attempts: 1 },
          $setOnInsert: { tenantId: tenant, path: entry.path, counts: null, error: null, startedAt: now },
        },
        { upsert: true },
      ),
    );
  }

  /** Marks `path` imported with its counts and the records the archive could not store (listed up to {@link MAX_LISTED_REJECTIONS}). */
  async markImported(tenantId: string, path: string, counts: ManifestImportCounts, now: Date, rejections: readonly ImportRejection[] = []): Promise<void> {
    await this.imports.updateOne(
      { _id: path, tenantId: assertTenantId(tenantId) },
      { $set: { status: 'imported', counts, rejections: rejections.slice(0, MAX_LISTED_REJECTIONS), error: null, finishedAt: now } },
    );
  }

  /**
   * Records a failure. A permanent one marks the manifest `failed` (it is not imported again until an operator
   * retries it); a transient one is only noted, the status stays `importing` until the retry.
   */
  async recordFailure(
    tenantId: string,
    entry: { path: string; runId: string; sha256: string; previous: ManifestLink | null },
    error: Omit<ManifestImportError, 'at'>,
    now: Date,
  ): Promise<void> {
    const tenant = assertTenantId(tenantId);
    await ignoreImported(
      this.imports.updateOne(
        { _id: entry.path, tenantId: tenant, status: { $ne: 'imported' } },
        {
          $set: { error: { ...error, at: now }, ...(error.permanent ? { status: 'failed', finishedAt: now } : {}) },
          $setOnInsert: {
            tenantId: tenant,
            path: entry.path,
            runId: entry.runId,
            sha256: entry.sha256,
            previous: entry.previous,
            counts: null,
            attempts: 1,
            startedAt: now,
            ...(error.permanent ? {} : { status: 'importing', finishedAt: null }),
          },
        },
        { upsert: true },
      ),
    );
  }

  /** Forgets every import of a tenant (a rebuild starts the chain again). Returns how many records were removed. */
  async deleteAll(tenantId: string): Promise<number> {
    return (await this.imports.deleteMany({ tenantId: assertTenantId(tenantId) })).deletedCount;
  }
}
