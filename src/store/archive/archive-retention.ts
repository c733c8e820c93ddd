import type { Db, Document } from 'mongodb';
import { RetentionError } from '../../errors.js';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { ARCHIVE_COLLECTIONS, COLLECTION_OF_TYPE } from './archive-documents.js';
import { applyDailyCountChanges, beginCountedWrite, countedDay, DailyCountChanges, endCountedWrite } from './daily-counts.js';
import type { LegalHold } from './legal-holds-store.js';

/** What {@link purgeExpiredRecords} needs. */
export interface ArchivePurgeOptions {
  /** Per type, records not updated for this many days are purged; a type without a value is kept forever. */
  retentionDays: Partial<Record<RecordType, number>>;
  /** The tenant's active legal holds: records they cover are never purged. */
  holds: readonly LegalHold[];
  /** List what would be purged, delete nothing. */
  dryRun: boolean;
  now: Date;
  /** Ids deleted per statement. Default 1,000. */
  batchSize?: number;
}

/** What a purge removed (or, in a dry run, would remove) of one type. */
export interface TypePurge {
  /** Records not updated since before this instant are expired. */
  cutoff: Date;
  /** Ids of the purged records, sorted. */
  ids: string[];
  /** Chats: transcript messages removed with them. */
  messages: number;
}

/** The outcome of a purge, per type that has a retention period. */
export interface ArchivePurgeResult {
  tenantId: string;
  dryRun: boolean;
  types: Partial<Record<RecordType, TypePurge>>;
}

/** The conditions under which one legal hold covers records of `type`; undefined when it covers none of that type. */
export function legalHoldCondition(hold: LegalHold, type: RecordType): Document | undefined {
  const subject = hold.subject;
  switch (subject.kind) {
    case 'contact':
      return type === 'contacts' ? { _id: subject.contactId } : { 'ix.contactIds': subject.contactId };
    case 'chat':
      return type === 'chats' ? { _id: subject.chatId } : undefined;
    case 'number':
      return type === 'chats' ? undefined : { 'ix.numbers': subject.e164 };
    case 'range':
      return { 'ix.at': { $gte: subject.from, $lt: subject.to } };
  }
}

/** The filter of the records of `type` that a purge at `cutoff` removes: expired and under no hold. */
export function expiredRecordsFilter(tenantId: string, type: RecordType, cutoff: Date, holds: readonly LegalHold[]): Document {
  const held = holds.map((hold) => legalHoldCondition(hold, type)).filter((condition): condition is Document => condition !== undefined);
  return { tenantId, 'ix.updatedAt': { $lt: cutoff }, ...(held.length > 0 ? { $nor: held } : {}) };
}

/**
 * Archive retention: per type, removes the records whose `updatedAt` is older than the type's retention period,
 * except those under a legal hold (a contact and the calls and chats referring to it, a chat, a number, a date
 * range); a chat goes with its transcript, and the daily counts lose what was removed (should a batch delete other
 * than the records listed, the counts are left marked as in writing, so the next write recounts them). A dry run returns exactly the ids the real purge would remove at the same
 * `now` with the same holds. Run it while holding the tenant's archive lease, so no import interleaves.
 *
 * @example
 * const result = await purgeExpiredRecords(db, 'acme', { retentionDays: { 'call-logs': 365 }, holds, dryRun: true, now });
 * result.types['call-logs']?.ids; // what a real purge would delete
 */
export async function purgeExpiredRecords(db: Db, tenantId: string, options: ArchivePurgeOptions): Promise<ArchivePurgeResult> {
  const tenant = assertTenantId(tenantId);
  const batchSize = options.batchSize ?? 1_000;
  const result: ArchivePurgeResult = { tenantId: tenant, dryRun: options.dryRun, types: {} };
  let counting = false;
  let countsExact = true;
  for (const type of RECORD_TYPES) {
    const days = options.retentionDays[type];
    if (days === undefined) continue;
    if (!Number.isInteger(days) || days < 1) {
      throw new RetentionError(
        'ERR_ARCHIVE_RETENTION_INVALID',
        `archive retention of ${type} is ${String(days)} days; use a whole number of days of at least 1`,
      );
    }
    const cutoff = new Date(options.now.getTime() - days * 86_400_000);
    const filter = expiredRecordsFilter(tenant, type, cutoff, options.holds);
    const collection = db.collection<{ _id: string; ix: { at: Date } }>(COLLECTION_OF_TYPE[type]);
    const expired = await collection
      .find(filter, { projection: { _id: 1, 'ix.at': 1 } })
      .sort({ _id: 1 })
      .toArray();
    const ids = expired.map((doc) => doc._id);
    const dayOf = new Map(expired.map((doc) => [doc._id, countedDay(doc.ix.at)]));
    const purge: TypePurge = { cutoff, ids, messages: 0 };
    result.types[type] = purge;
    for (let start = 0; start < ids.length; start += batchSize) {
      const batch = ids.slice(start, start + batchSize);
      if (options.dryRun) {
        if (type === 'chats')
          purge.messages += await db.collection(ARCHIVE_COLLECTIONS.chatMessages).countDocuments({ tenantId: tenant, chatId: { $in: batch } });
        continue;
      }
      if (!counting) {
        await beginCountedWrite(db, tenant, 'archive retention purge', options.now);
        counting = true;
      }
      const deleted = await collection.deleteMany({ ...filter, _id: { $in: batch } });
      const changes = new DailyCountChanges();
      for (const id of batch) changes.add(type, dayOf.get(id) as string, -1);
      if (deleted.deletedCount === batch.length) await applyDailyCountChanges(db, tenant, changes);
      else countsExact = false;
      if (type === 'chats') {
        const removed = await db.collection(ARCHIVE_COLLECTIONS.chatMessages).deleteMany({ tenantId: tenant, chatId: { $in: batch } });
        purge.messages += removed.deletedCount;
      }
    }
  }
  if (counting && countsExact) await endCountedWrite(db, options.now);
  return result;
}
