import type { AnyBulkWriteOperation, Db, IndexDescription } from 'mongodb';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { COLLECTION_OF_TYPE } from './archive-documents.js';
import { archiveHasRecords } from './archive-marker.js';

/**
 * The collection of a tenant's archive database holding its records per type and UTC day (by the record's time,
 * `ix.at`), kept up to date by every write to the archive (imports, rebuilds, purges), so the dashboard reads a few
 * dozen small documents instead of grouping every record of the last 30 days.
 */
export const DAILY_COUNTS_COLLECTION = 'dailyCounts';

/** Indexes of `dailyCounts`: the dashboard reads a range of days of some types. */
export const DAILY_COUNTS_INDEXES: IndexDescription[] = [{ key: { type: 1, day: 1 }, name: 'type_day' }];

const STATE_ID = 'state';

/** One type's records on one UTC day. */
interface DayCountDocument {
  _id: string;
  tenantId: string;
  type: RecordType;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  count: number;
}

/**
 * Whether the counts match the records: `writing` names the write in progress (set before its first record write,
 * cleared after its last count update). Counts found with `writing` set by a write that never finished are recounted
 * by the next writer; a reader does not trust them meanwhile.
 */
interface CountsStateDocument {
  _id: typeof STATE_ID;
  tenantId: string;
  writing: string | null;
  since: Date;
}

type CountsDocument = DayCountDocument | CountsStateDocument;

/** The UTC day (`YYYY-MM-DD`) a record time is counted on. */
export function countedDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

const dayCountId = (type: RecordType, day: string): string => `${type}/${day}`;

/** Changes of the counts, per type and day, collected while records are written or removed. */
export class DailyCountChanges {
  private readonly changes = new Map<string, { type: RecordType; day: string; delta: number }>();

  /** Adds `delta` (negative: removed) records of `type` on `day`. */
  add(type: RecordType, day: string, delta: number): void {
    const id = dayCountId(type, day);
    const entry = this.changes.get(id) ?? { type, day, delta: 0 };
    entry.delta += delta;
    this.changes.set(id, entry);
  }

  /** The non-zero changes. */
  entries(): { type: RecordType; day: string; delta: number }[] {
    return [...this.changes.values()].filter((entry) => entry.delta !== 0);
  }
}

/** A record version as the counts see it: its version key (`ix.v`) and its time (`ix.at`). */
export interface CountedVersion {
  v: string;
  at: Date;
}

/**
 * The count changes of guarded upserts of one batch: per record id, the stored version before (if any) and the
 * versions written; the version kept is the newest (an equal or older one leaves the stored one), so a record
 * inserted adds one on its day and a record updated to another day moves from the old day to the new one.
 *
 * @example
 * const changes = countChangesOfUpserts('call-logs', stored, [{ id: 'c1', v: '2026-…', at }]);
 */
export function countChangesOfUpserts(
  type: RecordType,
  stored: ReadonlyMap<string, CountedVersion>,
  written: readonly ({ id: string } & CountedVersion)[],
  changes: DailyCountChanges = new DailyCountChanges(),
): DailyCountChanges {
  const kept = new Map<string, CountedVersion | undefined>();
  for (const version of written) {
    const current = kept.has(version.id) ? kept.get(version.id) : stored.get(version.id);
    kept.set(version.id, current === undefined || current.v < version.v ? version : current);
  }
  for (const [id, final] of kept) {
    const before = stored.get(id);
    if (before !== undefined) changes.add(type, countedDay(before.at), -1);
    if (final !== undefined) changes.add(type, countedDay(final.at), 1);
  }
  return changes;
}

/**
 * Applies count changes in one bulk write (nothing is sent when there are none).
 *
 * @example
 * await applyDailyCountChanges(db, 'acme', changes);
 */
export async function applyDailyCountChanges(db: Db, tenantId: string, changes: DailyCountChanges): Promise<boolean> {
  const entries = changes.entries();
  if (entries.length === 0) return false;
  const operations: AnyBulkWriteOperation<CountsDocument>[] = entries.map(({ type, day, delta }) => ({
    updateOne: {
      filter: { _id: dayCountId(type, day) },
      update: { $inc: { count: delta }, $setOnInsert: { tenantId, type, day } },
      upsert: true,
    },
  }));
  await db.collection<CountsDocument>(DAILY_COUNTS_COLLECTION).bulkWrite(operations, { ordered: false });
  return true;
}

/**
 * Counts every record of the tenant's archive again, per type and UTC day, and replaces the stored counts with
 * them (after a write that did not finish, or for an archive filled before counts were kept).
 */
export async function recountDailyCounts(db: Db, tenantId: string): Promise<void> {
  const tenant = assertTenantId(tenantId);
  const counts = db.collection<CountsDocument>(DAILY_COUNTS_COLLECTION);
  const documents: DayCountDocument[] = [];
  for (const type of RECORD_TYPES) {
    const rows = await db
      .collection(COLLECTION_OF_TYPE[type])
      .aggregate<{ _id: string; n: number }>([
        { $match: { tenantId: tenant } },
        { $group: { _id: { $dateToString: { format: '%Y-%m-%d', date: '$ix.at', timezone: 'Etc/UTC' } }, n: { $sum: 1 } } },
      ])
      .toArray();
    for (const row of rows) documents.push({ _id: dayCountId(type, row._id), tenantId: tenant, type, day: row._id, count: row.n });
  }
  await counts.deleteMany({ _id: { $ne: STATE_ID } });
  if (documents.length > 0) await counts.insertMany(documents);
}

/**
 * Starts a write that changes the counts (an import's writes, a purge): counts left by a write that did not finish,
 * or missing for an archive that already holds records, are recounted first; then the write is recorded as in
 * progress until {@link endCountedWrite}. Run it holding the tenant's archive lease.
 */
export async function beginCountedWrite(db: Db, tenantId: string, purpose: string, now: Date): Promise<void> {
  const tenant = assertTenantId(tenantId);
  const counts = db.collection<CountsDocument>(DAILY_COUNTS_COLLECTION);
  const state = (await counts.findOne({ _id: STATE_ID })) as CountsStateDocument | null;
  const trusted = state === null ? !(await archiveHasRecords(db)) : state.writing === null;
  if (!trusted) await recountDailyCounts(db, tenant);
  await counts.updateOne({ _id: STATE_ID }, { $set: { tenantId: tenant, writing: purpose.slice(0, 300), since: now } }, { upsert: true });
}

/** Ends a write started with {@link beginCountedWrite}: the counts match the records again. */
export async function endCountedWrite(db: Db, now: Date): Promise<void> {
  await db.collection<CountsDocument>(DAILY_COUNTS_COLLECTION).updateOne({ _id: STATE_ID }, { $set: { writing: null, since: now } });
}

/** Records of each type per UTC day, as the counts hold them. */
export interface StoredDailyCounts {
  day: string;
  counts: Partial<Record<RecordType, number>>;
}

/**
 * The stored counts of `types` on the UTC days `[fromDay, toDay]` (days without records left out), in one read;
 * `undefined` when they cannot be trusted (never computed, or a write is in progress or did not finish), so the caller
 * counts the records instead.
 */
export async function readDailyCounts(
  db: Db,
  tenantId: string,
  types: readonly RecordType[],
  range: { fromDay: string; toDay: string },
): Promise<StoredDailyCounts[] | undefined> {
  const tenant = assertTenantId(tenantId);
  const docs = await db
    .collection<CountsDocument>(DAILY_COUNTS_COLLECTION)
    .find({ $or: [{ _id: STATE_ID }, { type: { $in: [...types] }, day: { $gte: range.fromDay, $lte: range.toDay }, count: { $gt: 0 } }] })
    .toArray();
  const state = docs.find((doc): doc is CountsStateDocument => doc._id === STATE_ID);
  if (state === undefined || state.writing !== null || state.tenantId !== tenant) return undefined;
  const days = new Map<string, StoredDailyCounts>();
  for (const doc of docs) {
    if (doc._id === STATE_ID || doc.tenantId !== tenant) continue;
    const { type, day, count } = doc as DayCountDocument;
    const entry = days.get(day) ?? { day, counts: {} };
    entry.counts[type] = count;
    days.set(day, entry);
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}
