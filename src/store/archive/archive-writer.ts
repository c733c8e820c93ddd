import { MongoBulkWriteError, type AnyBulkWriteOperation, type BulkWriteResult, type Db, type Document } from 'mongodb';
import { RetentionError } from '../../errors.js';
import type { RecordByType } from '../../records/archive-record.js';
import type { RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { ARCHIVE_COLLECTIONS, callLogDocument, chatDocuments, contactDocument } from './archive-documents.js';

/** Options of an {@link ArchiveWriter}. */
export interface ArchiveWriterOptions {
  /** Operations sent per bulk write (one round trip). Default 1,000; only the last batch of a load may be smaller. */
  batchSize?: number;
  /** Called after every command sent to MongoDB (tests and benchmarks count round trips with it). */
  onRoundTrip?: (collection: string, operations: number) => void;
}

/** What happened to the records of one type. */
export interface TypeWriteCounts {
  /** Records handed to the writer. */
  records: number;
  /** New in the archive. */
  inserted: number;
  /** Replaced an older version. */
  updated: number;
  /** Already there in the same or a newer version: nothing changed. */
  unchanged: number;
}

/** Counts of one load, per type, plus the transcript messages and the number of round trips. */
export interface ArchiveWriteStats {
  types: Record<RecordType, TypeWriteCounts>;
  messages: TypeWriteCounts & { removed: number };
  roundTrips: number;
}

/** Default operations per bulk write. */
export const DEFAULT_ARCHIVE_BATCH_SIZE = 1_000;
/** Codes of MongoDB write errors that retrying cannot fix (the document itself is refused). */
const REFUSED_WRITE_CODES: ReadonlySet<number> = new Set([2, 10334, 17419, 17280, 16733]);

/** An archive document: every archive collection keys its documents by a string `_id`. */
interface StringIdDocument {
  _id: string;
  [field: string]: unknown;
}

const emptyCounts = (): TypeWriteCounts => ({ records: 0, inserted: 0, updated: 0, unchanged: 0 });

/**
 * The update that stores `document` unless the archive already holds the same or a newer version: a pipeline update
 * whose `$replaceWith` picks the new document only when the stored `versionPath` is lower (or missing, on insert).
 *
 * Why this form: the filter is an equality on `_id` alone, so an upsert that races another insert of the same `_id`
 * is retried by the server itself (MongoDB ≥ 4.2) instead of failing with E11000, and an equal or older version
 * matches, compares, and leaves the document byte-for-byte unchanged (`nModified` 0). `$literal` keeps record
 * values such as a chat text `"$100 refund"` from being read as field paths.
 *
 * @example
 * collection.bulkWrite([guardedUpsert(doc, 'ix.v', doc.ix.v)], { ordered: false });
 */
export function guardedUpsert(document: Document & { _id: string }, versionPath: string, version: string): AnyBulkWriteOperation<StringIdDocument> {
  return {
    updateOne: {
      filter: { _id: document._id },
      update: [{ $replaceWith: { $cond: { if: { $lt: [`$${versionPath}`, version] }, then: { $literal: document }, else: '$$ROOT' } } }],
      upsert: true,
    },
  };
}

interface PendingBatch {
  collection: string;
  operations: AnyBulkWriteOperation<StringIdDocument>[];
  counts: TypeWriteCounts;
  /** For chat rooms: the ids, in operation order, so inserted rooms can be told from updated ones. */
  chatIds?: string[];
}

/**
 * Loads validated records of one tenant into its archive database with unordered bulk writes of `batchSize`
 * operations, each guarded by `updatedAt` (see {@link guardedUpsert}). Chats are split into the room (`chats`) and
 * one document per message (`chatMessages`); once the messages are written, messages a newer version of a chat
 * no longer has are removed. Call {@link add} for each record, then {@link finish}. Idempotent: loading the same
 * records again changes nothing.
 *
 * @example
 * const writer = new ArchiveWriter(db, 'acme', 'acme/2026/11/23/manifest-r1.json');
 * for (const record of records) await writer.add('chats', record);
 * const stats = await writer.finish();
 */
export class ArchiveWriter {
  private readonly tenantId: string;
  private readonly batchSize: number;
  private readonly buffers = new Map<string, PendingBatch>();
  private readonly existingChats = new Set<string>();
  private readonly stats: ArchiveWriteStats = {
    types: { 'call-logs': emptyCounts(), chats: emptyCounts(), contacts: emptyCounts() },
    messages: { ...emptyCounts(), removed: 0 },
    roundTrips: 0,
  };

  constructor(
    private readonly db: Db,
    tenantId: string,
    private readonly src: string,
    private readonly options: ArchiveWriterOptions = {},
  ) {
    this.tenantId = assertTenantId(tenantId);
    this.batchSize = options.batchSize ?? DEFAULT_ARCHIVE_BATCH_SIZE;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 100_000) {
      throw new RetentionError('ERR_ARCHIVE_OPTIONS_INVALID', `batchSize ${String(this.batchSize)} must be a whole number from 1 to 100000`, 500);
    }
  }

  /** Queues one validated record; writes a batch whenever one is full. */
  async add<T extends RecordType>(type: T, record: RecordByType[T]): Promise<void> {
    if (record.tenantId !== this.tenantId) {
      throw new RetentionError('ERR_ARCHIVE_TENANT_MISMATCH', `record ${record.id} belongs to tenant "${record.tenantId}", not "${this.tenantId}"; it is not loaded`, 422);
    }
    this.stats.types[type].records += 1;
    if (type === 'call-logs') {
      const doc = callLogDocument(record as RecordByType['call-logs'], this.src);
      await this.push(ARCHIVE_COLLECTIONS.callLogs, guardedUpsert(doc, 'ix.v', doc.ix.v), this.stats.types['call-logs']);
    } else if (type === 'contacts') {
      const doc = contactDocument(record as RecordByType['contacts'], this.src);
      await this.push(ARCHIVE_COLLECTIONS.contacts, guardedUpsert(doc, 'ix.v', doc.ix.v), this.stats.types.contacts);
    } else {
      const { room, messages } = chatDocuments(record as RecordByType['chats'], this.src);
      await this.push(ARCHIVE_COLLECTIONS.chats, guardedUpsert(room, 'ix.v', room.ix.v), this.stats.types.chats, room._id);
      this.stats.messages.records += messages.length;
      for (const message of messages) {
        await this.push(ARCHIVE_COLLECTIONS.chatMessages, guardedUpsert(message, 'ix.chatV', message.ix.chatV), this.stats.messages);
      }
    }
  }

  /** Writes what is still buffered, removes superseded transcript messages, and returns the counts. */
  async finish(): Promise<ArchiveWriteStats> {
    for (const collection of [ARCHIVE_COLLECTIONS.callLogs, ARCHIVE_COLLECTIONS.contacts, ARCHIVE_COLLECTIONS.chats, ARCHIVE_COLLECTIONS.chatMessages]) {
      await this.flush(collection);
    }
    await this.removeSupersededMessages();
    return this.stats;
  }

  private async push(collection: string, operation: AnyBulkWriteOperation<StringIdDocument>, counts: TypeWriteCounts, chatId?: string): Promise<void> {
    let batch = this.buffers.get(collection);
    if (!batch) {
      batch = { collection, operations: [], counts, ...(chatId !== undefined ? { chatIds: [] } : {}) };
      this.buffers.set(collection, batch);
    }
    batch.operations.push(operation);
    if (chatId !== undefined) batch.chatIds?.push(chatId);
    if (batch.operations.length >= this.batchSize) await this.flush(collection);
  }

  private async flush(collection: string): Promise<void> {
    const batch = this.buffers.get(collection);
    if (!batch || batch.operations.length === 0) return;
    this.buffers.delete(collection);
    const result = await this.bulkWrite(collection, batch.operations);
    const inserted = result.upsertedCount;
    batch.counts.inserted += inserted;
    batch.counts.updated += result.modifiedCount;
    batch.counts.unchanged += result.matchedCount - result.modifiedCount;
    if (batch.chatIds) {
      const upserted = new Set(Object.keys(result.upsertedIds).map(Number));
      batch.chatIds.forEach((id, index) => {
        if (!upserted.has(index)) this.existingChats.add(id);
      });
    }
  }

  private async bulkWrite(collection: string, operations: AnyBulkWriteOperation<StringIdDocument>[]): Promise<BulkWriteResult> {
    try {
      return await this.db.collection<StringIdDocument>(collection).bulkWrite(operations, { ordered: false });
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        const refused = errors.find((e) => REFUSED_WRITE_CODES.has(e.code));
        if (refused) {
          throw new RetentionError('ERR_ARCHIVE_WRITE_REFUSED', `MongoDB refused a ${collection} document of tenant "${this.tenantId}": ${refused.errmsg ?? `code ${refused.code}`}`, 422, { cause: err });
        }
      }
      throw err;
    } finally {
      this.stats.roundTrips += 1;
      this.options.onRoundTrip?.(collection, operations.length);
    }
  }

  private async removeSupersededMessages(): Promise<void> {
    const ids = [...this.existingChats];
    this.existingChats.clear();
    let deletes: AnyBulkWriteOperation<StringIdDocument>[] = [];
    for (let start = 0; start < ids.length; start += this.batchSize) {
      const slice = ids.slice(start, start + this.batchSize);
      const rooms = await this.db
        .collection<{ _id: string; ix: { v: string } }>(ARCHIVE_COLLECTIONS.chats)
        .find({ _id: { $in: slice }, tenantId: this.tenantId }, { projection: { 'ix.v': 1 } })
        .toArray();
      this.stats.roundTrips += 1;
      this.options.onRoundTrip?.(ARCHIVE_COLLECTIONS.chats, 1);
      for (const room of rooms) {
        deletes.push({ deleteMany: { filter: { chatId: room._id, tenantId: this.tenantId, 'ix.chatV': { $lt: room.ix.v } } } });
      }
      if (deletes.length >= this.batchSize) {
        this.stats.messages.removed += (await this.bulkWrite(ARCHIVE_COLLECTIONS.chatMessages, deletes)).deletedCount;
        deletes = [];
      }
    }
    if (deletes.length > 0) this.stats.messages.removed += (await this.bulkWrite(ARCHIVE_COLLECTIONS.chatMessages, deletes)).deletedCount;
  }
}
