import { BSON, MongoBulkWriteError, type AnyBulkWriteOperation, type BulkWriteResult, type Db, type Document } from 'mongodb';
import { RetentionError } from '../../errors.js';
import type { RecordByType } from '../../records/archive-record.js';
import type { RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { ARCHIVE_COLLECTIONS, callLogDocument, chatDocuments, contactDocument } from './archive-documents.js';
import {
  applyDailyCountChanges,
  beginCountedWrite,
  DAILY_COUNTS_COLLECTION,
  countChangesOfUpserts,
  endCountedWrite,
  type CountedVersion,
} from './daily-counts.js';

/** Options of an {@link ArchiveWriter}. */
export interface ArchiveWriterOptions {
  /** Operations sent per bulk write (one round trip). Default 1,000; only the last batch of a load may be smaller. */
  batchSize?: number;
  /** Called after every command sent to MongoDB (tests and benchmarks count round trips with it). */
  onRoundTrip?: (collection: string, operations: number) => void;
  /** The clock of the counts' state (see `daily-counts.ts`). Default `new Date()`. */
  now?: () => Date;
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
  /** Per type; `records` counts the records stored, not the rejected ones. */
  types: Record<RecordType, TypeWriteCounts>;
  /** Records handed to the writer that the archive cannot store (see {@link ArchiveRejection}), per type. */
  rejected: Record<RecordType, number>;
  messages: TypeWriteCounts & { removed: number };
  roundTrips: number;
}

/**
 * Largest document MongoDB stores, in BSON bytes (16 MiB). The driver refuses, before sending, any write statement
 * of this size or more, and a statement holds the whole document, so the statement is what is measured.
 */
export const MAX_BSON_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of objects and arrays in a stored document (MongoDB documents at most 100 levels). */
export const MAX_DOCUMENT_DEPTH = 100;

/** One problem that keeps a validated record out of the archive: where (`(record)`, `messages[3]`) and what. */
export interface ArchiveRejectionIssue {
  path: string;
  message: string;
}

/**
 * Why a validated record cannot be stored in the archive, as the writer reports it instead of sending a write that
 * MongoDB or its driver would refuse: `too-large` (a document or its write over {@link MAX_BSON_DOCUMENT_BYTES}),
 * `too-deep` (nested deeper than {@link MAX_DOCUMENT_DEPTH}) or `field-name` (a field name with a NUL character,
 * which BSON cannot carry). Decided from the record alone, so the same record is always rejected the same way.
 */
export interface ArchiveRejection {
  reason: 'too-large' | 'too-deep' | 'field-name';
  issues: ArchiveRejectionIssue[];
  /** For `too-large`: BSON bytes of the largest write the record needs. */
  bytes?: number;
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

/** The version and time of a planned record document, as the daily counts see it. */
function versionOf(document: Document & { _id: string }): { id: string } & CountedVersion {
  const ix = document.ix as CountedVersion;
  return { id: document._id, v: ix.v, at: ix.at };
}

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

/** One write of a planned record: its collection, the stored document, its guarded upsert and, for a chat room, its id. */
export interface PlannedWrite {
  collection: string;
  kind: 'record' | 'message';
  document: Document & { _id: string };
  operation: AnyBulkWriteOperation<StringIdDocument>;
  chatId?: string;
}

/** What storing one validated record takes: its writes, or why the archive cannot store it. */
export type ArchiveWritePlan = { ok: true; writes: PlannedWrite[] } | { ok: false; rejection: ArchiveRejection };

type NestingIssue = { kind: 'too-deep' | 'field-name'; path: string };

/** The first field name BSON cannot carry, or the first place nested deeper than {@link MAX_DOCUMENT_DEPTH}. */
function nestingIssueOf(document: Document): NestingIssue | undefined {
  const stack: { value: object; level: number; path: string }[] = [{ value: document, level: 1, path: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.level > MAX_DOCUMENT_DEPTH) return { kind: 'too-deep', path: item.path };
    const { value, level, path } = item;
    if (Array.isArray(value)) {
      value.forEach((element: unknown, index) => {
        if (typeof element === 'object' && element !== null && !(element instanceof Date))
          stack.push({ value: element, level: level + 1, path: `${path}[${index}]` });
      });
      continue;
    }
    for (const [key, element] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (key.includes('\u0000')) return { kind: 'field-name', path: at };
      if (typeof element === 'object' && element !== null && !(element instanceof Date)) stack.push({ value: element as object, level: level + 1, path: at });
    }
  }
  return undefined;
}

const shortPath = (path: string): string => JSON.stringify(path.length > 120 ? `${path.slice(0, 120)}...` : path);

/** Why MongoDB or its driver would refuse one planned write of a record, if they would. `where` names the document in the record. */
function refusalOf(write: PlannedWrite, where: string): ArchiveRejection | undefined {
  const nesting = nestingIssueOf(write.document);
  if (nesting?.kind === 'field-name') {
    return {
      reason: 'field-name',
      issues: [{ path: where, message: `${where}: field name ${shortPath(nesting.path)} holds a NUL character, which MongoDB cannot store` }],
    };
  }
  if (nesting?.kind === 'too-deep') {
    return {
      reason: 'too-deep',
      issues: [
        {
          path: where,
          message: `${where}: nests objects and arrays more than ${MAX_DOCUMENT_DEPTH} levels deep (at ${shortPath(nesting.path)}), more than MongoDB stores`,
        },
      ],
    };
  }
  const { filter, update } = (write.operation as { updateOne: { filter: Document; update: Document[] } }).updateOne;
  const bytes = BSON.calculateObjectSize({ q: filter, u: update, upsert: true });
  if (bytes < MAX_BSON_DOCUMENT_BYTES) return undefined;
  const stored = BSON.calculateObjectSize(write.document);
  return {
    reason: 'too-large',
    bytes,
    issues: [
      {
        path: where,
        message: `${where}: would be stored as a ${write.collection} document of ${stored} BSON bytes (its write ${bytes}); MongoDB stores at most ${MAX_BSON_DOCUMENT_BYTES} bytes per document`,
      },
    ],
  };
}

/**
 * The writes that store one validated record of `type` loaded from the manifest `src`: its archive documents (a chat:
 * the room, then one per message) as guarded upserts, without checking that MongoDB can store them (see
 * {@link planArchiveWrite}). Pure: nothing is sent. Throws `ERR_ARCHIVE_RECORD_INVALID` for a timestamp the archive
 * cannot order.
 *
 * @example
 * const writes = archiveWritesOf('call-logs', record, 'acme/2026/11/23/manifest-r1.json');
 */
export function archiveWritesOf<T extends RecordType>(type: T, record: RecordByType[T], src: string): PlannedWrite[] {
  const recordWrite = (collection: string, document: Document & { _id: string; ix: { v: string } }, chatId?: string): PlannedWrite => ({
    collection,
    kind: 'record',
    document,
    operation: guardedUpsert(document, 'ix.v', document.ix.v),
    ...(chatId !== undefined ? { chatId } : {}),
  });
  if (type === 'call-logs') return [recordWrite(ARCHIVE_COLLECTIONS.callLogs, callLogDocument(record as RecordByType['call-logs'], src))];
  if (type === 'contacts') return [recordWrite(ARCHIVE_COLLECTIONS.contacts, contactDocument(record as RecordByType['contacts'], src))];
  const { room, messages } = chatDocuments(record as RecordByType['chats'], src);
  return [
    recordWrite(ARCHIVE_COLLECTIONS.chats, room, room._id),
    ...messages.map((message): PlannedWrite => ({
      collection: ARCHIVE_COLLECTIONS.chatMessages,
      kind: 'message',
      document: message,
      operation: guardedUpsert(message, 'ix.chatV', message.ix.chatV),
    })),
  ];
}

/**
 * Plans the writes of one validated record ({@link archiveWritesOf}) or, when MongoDB or its driver would refuse one
 * of them, returns an {@link ArchiveRejection} for the whole record (a chat is never stored without one of its
 * messages). Pure: nothing is sent.
 *
 * @example
 * const plan = planArchiveWrite('call-logs', record, 'acme/2026/11/23/manifest-r1.json');
 * if (!plan.ok) console.warn(plan.rejection.issues[0]?.message);
 */
export function planArchiveWrite<T extends RecordType>(type: T, record: RecordByType[T], src: string): ArchiveWritePlan {
  const writes = archiveWritesOf(type, record, src);
  for (const [index, write] of writes.entries()) {
    const rejection = refusalOf(write, index === 0 ? '(record)' : `messages[${index - 1}]`);
    if (rejection !== undefined) return { ok: false, rejection };
  }
  return { ok: true, writes };
}

interface PendingBatch {
  collection: string;
  operations: AnyBulkWriteOperation<StringIdDocument>[];
  counts: TypeWriteCounts;
  /** For chat rooms: the ids, in operation order, so inserted rooms can be told from updated ones. */
  chatIds?: string[];
  /** For records (not transcript messages): their type and versions, in operation order, for the daily counts. */
  counted?: { type: RecordType; versions: ({ id: string } & CountedVersion)[] };
}

/**
 * Loads validated records of one tenant into its archive database with unordered bulk writes of `batchSize`
 * operations, each guarded by `updatedAt` (see {@link guardedUpsert}). Chats are split into the room (`chats`) and
 * one document per message (`chatMessages`); once the messages are written, messages a newer version of a chat
 * no longer has are removed. Call {@link add} for each record, then {@link finish}. Idempotent: loading the same
 * records again changes nothing. A record MongoDB would refuse (see {@link planArchiveWrite}) is never sent: `add`
 * returns its {@link ArchiveRejection} and the load goes on. The archive's records per type and UTC day
 * (`daily-counts.ts`) follow each batch: the stored versions of the batch are read first, so an insert adds one and an
 * update that moves a record to another day moves its count; a load that stops halfway leaves them to be recounted.
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
  private countingStarted = false;
  private readonly stats: ArchiveWriteStats = {
    types: { 'call-logs': emptyCounts(), chats: emptyCounts(), contacts: emptyCounts() },
    rejected: { 'call-logs': 0, chats: 0, contacts: 0 },
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
      throw new RetentionError('ERR_ARCHIVE_OPTIONS_INVALID', `batchSize ${String(this.batchSize)} must be a whole number from 1 to 100000`);
    }
  }

  /**
   * Queues one validated record; writes a batch whenever one is full. A record the archive cannot store is not
   * queued: its {@link ArchiveRejection} is returned (and counted in `rejected`), so the caller records it.
   */
  async add<T extends RecordType>(type: T, record: RecordByType[T]): Promise<ArchiveRejection | undefined> {
    if (record.tenantId !== this.tenantId) {
      throw new RetentionError(
        'ERR_ARCHIVE_TENANT_MISMATCH',
        `record ${record.id} belongs to tenant "${record.tenantId}", not "${this.tenantId}"; it is not loaded`,
      );
    }
    const plan = planArchiveWrite(type, record, this.src);
    if (!plan.ok) {
      this.stats.rejected[type] += 1;
      return plan.rejection;
    }
    this.stats.types[type].records += 1;
    for (const write of plan.writes) {
      if (write.kind === 'message') this.stats.messages.records += 1;
      const counted = write.kind === 'record' ? { type, version: versionOf(write.document) } : undefined;
      await this.push(write.collection, write.operation, write.kind === 'message' ? this.stats.messages : this.stats.types[type], write.chatId, counted);
    }
    return undefined;
  }

  /**
   * Writes what is still buffered, removes superseded transcript messages, and returns the counts. The archive's
   * daily counts (`daily-counts.ts`) follow every batch of records and are marked as matching the records again here.
   */
  async finish(): Promise<ArchiveWriteStats> {
    for (const collection of [ARCHIVE_COLLECTIONS.callLogs, ARCHIVE_COLLECTIONS.contacts, ARCHIVE_COLLECTIONS.chats, ARCHIVE_COLLECTIONS.chatMessages]) {
      await this.flush(collection);
    }
    await this.removeSupersededMessages();
    if (this.countingStarted) {
      await endCountedWrite(this.db, this.now());
      this.roundTrip(DAILY_COUNTS_COLLECTION, 1);
      this.countingStarted = false;
    }
    return this.stats;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private roundTrip(collection: string, operations: number): void {
    this.stats.roundTrips += 1;
    this.options.onRoundTrip?.(collection, operations);
  }

  private async push(
    collection: string,
    operation: AnyBulkWriteOperation<StringIdDocument>,
    counts: TypeWriteCounts,
    chatId?: string,
    counted?: { type: RecordType; version: { id: string } & CountedVersion },
  ): Promise<void> {
    let batch = this.buffers.get(collection);
    if (!batch) {
      batch = {
        collection,
        operations: [],
        counts,
        ...(chatId !== undefined ? { chatIds: [] } : {}),
        ...(counted !== undefined ? { counted: { type: counted.type, versions: [] } } : {}),
      };
      this.buffers.set(collection, batch);
    }
    batch.operations.push(operation);
    if (chatId !== undefined) batch.chatIds?.push(chatId);
    if (counted !== undefined) batch.counted?.versions.push(counted.version);
    if (batch.operations.length >= this.batchSize) await this.flush(collection);
  }

  /** The stored versions of a batch's records before it is written: what its count changes start from. */
  private async storedVersions(collection: string, ids: string[]): Promise<Map<string, CountedVersion>> {
    if (!this.countingStarted) {
      await beginCountedWrite(this.db, this.tenantId, `import of ${this.src}`, this.now());
      this.roundTrip(DAILY_COUNTS_COLLECTION, 1);
      this.countingStarted = true;
    }
    const docs = await this.db
      .collection<{ _id: string; ix: CountedVersion }>(collection)
      .find({ _id: { $in: [...new Set(ids)] } }, { projection: { 'ix.v': 1, 'ix.at': 1 } })
      .toArray();
    this.roundTrip(collection, 1);
    return new Map(docs.map((doc) => [doc._id, { v: doc.ix.v, at: doc.ix.at }]));
  }

  private async flush(collection: string): Promise<void> {
    const batch = this.buffers.get(collection);
    if (!batch || batch.operations.length === 0) return;
    this.buffers.delete(collection);
    const stored = batch.counted
      ? await this.storedVersions(
          collection,
          batch.counted.versions.map((version) => version.id),
        )
      : undefined;
    const result = await this.bulkWrite(collection, batch.operations);
    if (batch.counted && stored) {
      if (await applyDailyCountChanges(this.db, this.tenantId, countChangesOfUpserts(batch.counted.type, stored, batch.counted.versions))) {
        this.roundTrip(DAILY_COUNTS_COLLECTION, 1);
      }
    }
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
          throw new RetentionError(
            'ERR_ARCHIVE_WRITE_REFUSED',
            `MongoDB refused a ${collection} document of tenant "${this.tenantId}": ${refused.errmsg ?? `code ${refused.code}`}`,
            { cause: err },
          );
        }
      }
      throw err;
    } finally {
      this.roundTrip(collection, operations.length);
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
      this.roundTrip(ARCHIVE_COLLECTIONS.chats, 1);
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
