import type { Db, Document, IndexDescription } from 'mongodb';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import type { CallLog } from '../../records/call-log-schema.js';
import type { Contact } from '../../records/contact-schema.js';
import { isIanaTimeZone } from '../../records/record-fields.js';
import type { RecordType } from '../../records/record-type.js';
import {
  ARCHIVE_COLLECTIONS,
  archivedChatOf,
  archivedMessageOf,
  COLLECTION_OF_TYPE,
  recordOf,
  type ArchivedChat,
  type ArchivedChatMessage,
  type CallLogDocument,
  type ChatDocument,
  type ChatMessageDocument,
  type ContactDocument,
} from './archive-documents.js';
import {
  filterIdSchema,
  filterInstantSchema,
  listPageRequestSchema,
  MAX_COUNTED_MATCHES,
  pageRequestSchema,
  parseArchiveInput,
  timePageRequestSchema,
  type ListPageRequest,
  type MatchCount,
  type Page,
  type PageRequest,
  type TimeOrder,
  type TimePageRequest,
} from './archive-filters.js';
import { listRowOf, listRowProjection, type ListRowByType } from './archive-list-rows.js';
import { assertArchiveAccess, scopedTypes, type ArchiveAccess } from './archive-scope.js';
import { CALL_LOG_INDEXES, callLogConditions, callLogFilterSchema, type CallLogFilter } from './call-log-queries.js';
import { CHAT_INDEXES, CHAT_MESSAGE_INDEXES, chatConditions, chatFilterSchema, type ChatFilter } from './chat-queries.js';
import { CONTACT_INDEXES, contactConditions, contactFilterSchema, type ContactFilter } from './contact-queries.js';
import { DAILY_COUNTS_COLLECTION, DAILY_COUNTS_INDEXES, readDailyCounts } from './daily-counts.js';
import { decodeCursor, encodeCursor, type CursorList } from './keyset-cursor.js';

/** A chat's page as {@link ArchiveStore.chatView} reads it. */
export interface ChatView {
  chat: ArchivedChat;
  transcript: Page<ArchivedChatMessage>;
  /** The ids of the chat's contacts that the archive holds; undefined when contacts are outside the reader's scope. */
  contactsHeld: Set<string> | undefined;
}

/** Finds a tenant's archive database (see `ArchiveDatabases`). */
export interface ArchiveDatabaseResolver {
  forTenant(tenantId: string): Promise<Db>;
}

/** Records of each type created on one day, for charts. */
export interface DailyCounts {
  /** `YYYY-MM-DD` in the requested time zone. */
  day: string;
  counts: Partial<Record<RecordType, number>>;
}

export { MAX_COUNTED_MATCHES, type MatchCount } from './archive-filters.js';

/** Each list's filter conditions, from the caller's (unvalidated) filter. */
const LIST_CONDITIONS: Readonly<Record<RecordType, (filter: unknown) => Document>> = {
  'call-logs': (filter) => callLogConditions(parseArchiveInput(callLogFilterSchema, filter, 'filter')),
  chats: (filter) => chatConditions(parseArchiveInput(chatFilterSchema, filter, 'filter')),
  contacts: (filter) => contactConditions(parseArchiveInput(contactFilterSchema, filter, 'filter')),
};

const countLimitSchema = z.number().int().min(1).max(MAX_COUNTED_MATCHES);

/** Every index of a tenant's archive, by collection: created at start by {@link ArchiveStore.ensureIndexes}. */
export const ARCHIVE_INDEXES: Readonly<Record<string, IndexDescription[]>> = {
  [ARCHIVE_COLLECTIONS.callLogs]: CALL_LOG_INDEXES,
  [ARCHIVE_COLLECTIONS.chats]: CHAT_INDEXES,
  [ARCHIVE_COLLECTIONS.chatMessages]: CHAT_MESSAGE_INDEXES,
  [ARCHIVE_COLLECTIONS.contacts]: CONTACT_INDEXES,
  [DAILY_COUNTS_COLLECTION]: DAILY_COUNTS_INDEXES,
};

/** Time zones the stored daily counts answer for (they count UTC days); any other is counted from the records. */
const UTC_ZONES: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC']);
const DAY_MS = 86_400_000;

const dailyCountsSchema = z.strictObject({
  from: filterInstantSchema,
  to: filterInstantSchema,
  timeZone: z.string().max(64).refine(isIanaTimeZone, 'must be an IANA time zone such as Europe/Paris').default('UTC'),
});
const MAX_DAILY_RANGE_MS = 400 * 86_400_000;

interface SortSpec {
  list: CursorList;
  field: string;
  direction: 1 | -1;
  keyKind: 'instant' | 'string' | 'number';
  keyOf: (doc: Document) => string | number;
}

/**
 * What a read leaves out of a stored document: the index fields only the queries use (search tokens, name keys,
 * numbers, ids), which can be far larger than the record (a chat keeps up to 5,000 search tokens). The sort keys
 * (`ix.at`, `ix.name`) stay, for the cursors; `recordOf` drops `ix` from what is returned.
 */
const READ_PROJECTION: Readonly<Record<string, 0>> = Object.freeze(
  Object.fromEntries(
    ['textTokens', 'words', 'names', 'emails', 'numbers', 'participants', 'contactIds', 'agentNames', 'queueNames', 'contactNames', 'participantNames'].map(
      (field) => [`ix.${field}`, 0 as const],
    ),
  ),
);

/** Calls and chats by their start: newest first (the default) or oldest first, each order a cursor list of its own. */
const BY_TIME = (list: 'call-logs' | 'chats', order: TimeOrder): SortSpec => ({
  list: order === 'oldest' ? `${list}-oldest` : list,
  field: 'ix.at',
  direction: order === 'oldest' ? 1 : -1,
  keyKind: 'instant',
  keyOf: (doc) => (doc as { ix: { at: Date } }).ix.at.toISOString(),
});
const BY_NAME: SortSpec = { list: 'contacts', field: 'ix.name', direction: 1, keyKind: 'string', keyOf: (doc) => (doc as { ix: { name: string } }).ix.name };
const BY_SEQ: SortSpec = { list: 'transcript', field: 'seq', direction: 1, keyKind: 'number', keyOf: (doc) => (doc as { seq: number }).seq };

/**
 * Read access to the online archive for the portal: typed list queries with keyset pagination, get by id, chat
 * transcripts in pages and daily counts. Every method takes an {@link ArchiveAccess}: the tenant (whose own
 * database is the only one read, and whose id every returned document must carry) and the reader's data scope
 * (a type outside it is `ERR_ARCHIVE_SCOPE_DENIED`). Filters and page requests are validated
 * (`ERR_ARCHIVE_FILTER_INVALID`, `ERR_ARCHIVE_CURSOR_INVALID`): no caller input becomes a query operator.
 * Values are returned raw; masking is the caller's job.
 *
 * Pages are stable while imports run: a cursor is the last item's sort key and `_id`, so records inserted or
 * updated meanwhile never shift or repeat the following pages.
 *
 * @example
 * const page = await archive.listCallLogs({ tenantId: 'acme', scope: user.scope }, { outcome: 'missed', number: '+1 415' });
 * const next = await archive.listCallLogs(access, filter, { cursor: page.nextCursor });
 */
export class ArchiveStore {
  constructor(private readonly databases: ArchiveDatabaseResolver) {}

  /** Creates every archive index of the tenant's database (idempotent; run at start and before imports). */
  async ensureIndexes(tenantId: string): Promise<void> {
    const db = await this.databases.forTenant(tenantId);
    for (const [collection, indexes] of Object.entries(ARCHIVE_INDEXES)) await db.collection(collection).createIndexes(indexes);
  }

  async listCallLogs(access: ArchiveAccess, filter: CallLogFilter | unknown = {}, page: TimePageRequest | unknown = {}): Promise<Page<CallLog>> {
    const docs = await this.list<CallLogDocument>('call-logs', access, filter, page, () => READ_PROJECTION);
    return { ...docs, items: docs.items.map((doc) => recordOf<CallLog>(doc)) };
  }

  async listChats(access: ArchiveAccess, filter: ChatFilter | unknown = {}, page: TimePageRequest | unknown = {}): Promise<Page<ArchivedChat>> {
    const docs = await this.list<ChatDocument>('chats', access, filter, page, () => READ_PROJECTION);
    return { ...docs, items: docs.items.map(archivedChatOf) };
  }

  async listContacts(access: ArchiveAccess, filter: ContactFilter | unknown = {}, page: ListPageRequest | unknown = {}): Promise<Page<Contact>> {
    const docs = await this.list<ContactDocument>('contacts', access, filter, page, () => READ_PROJECTION);
    return { ...docs, items: docs.items.map((doc) => recordOf<Contact>(doc)) };
  }

  /**
   * One page of a list as its table shows it: the same filter, order, cursor and count as `listCallLogs`,
   * `listChats` or `listContacts` (validated the same way), with only {@link LIST_ROW_FIELDS} of each record read.
   *
   * @example
   * const page = await archive.listRows(access, 'call-logs', { outcome: 'missed' }, { limit: 50, countUpTo: 1_000 });
   */
  async listRows<T extends RecordType>(access: ArchiveAccess, type: T, filter: unknown = {}, page: unknown = {}): Promise<Page<ListRowByType[T]>> {
    const docs = await this.list<Document>(type, access, filter, page, (sort) => listRowProjection(type, sort.field));
    return { ...docs, items: docs.items.map((doc) => listRowOf(type, doc)) };
  }

  /** A list page of `type`: scope, filter and page request checked, read in the list's order with `projectionOf` its sort. */
  private async list<D extends Document>(
    type: RecordType,
    access: ArchiveAccess,
    filter: unknown,
    page: unknown,
    projectionOf: (sort: SortSpec) => Document,
  ): Promise<Page<D>> {
    const tenant = assertArchiveAccess(access, type);
    const conditions = LIST_CONDITIONS[type](filter);
    if (type === 'contacts') {
      return this.page<D>(tenant, COLLECTION_OF_TYPE.contacts, conditions, BY_NAME, parseArchiveInput(listPageRequestSchema, page, 'page'), {
        projection: projectionOf(BY_NAME),
      });
    }
    const { order, ...request } = parseArchiveInput(timePageRequestSchema, page, 'page');
    const sort = BY_TIME(type, order);
    return this.page<D>(tenant, COLLECTION_OF_TYPE[type], conditions, sort, request, { projection: projectionOf(sort) });
  }

  /**
   * How many records of a list match `filter` (the same filter the list takes, validated the same way), counted up
   * to `upTo` (at most {@link MAX_COUNTED_MATCHES}): the count stops there, so a broad filter costs a bounded scan.
   */
  async countMatching(access: ArchiveAccess, type: RecordType, filter: unknown, upTo: number): Promise<MatchCount> {
    const tenant = assertArchiveAccess(access, type);
    const conditions = LIST_CONDITIONS[type](filter);
    const limit = parseArchiveInput(countLimitSchema, upTo, 'count limit');
    const db = await this.databases.forTenant(tenant);
    const counted = await db.collection(COLLECTION_OF_TYPE[type]).countDocuments({ $and: [{ tenantId: tenant }, conditions] }, { limit: limit + 1 });
    return { count: Math.min(counted, limit), more: counted > limit };
  }

  async getCallLog(access: ArchiveAccess, id: unknown): Promise<CallLog | undefined> {
    const doc = await this.getById<CallLogDocument>(assertArchiveAccess(access, 'call-logs'), ARCHIVE_COLLECTIONS.callLogs, id);
    return doc ? recordOf<CallLog>(doc) : undefined;
  }

  async getChat(access: ArchiveAccess, id: unknown): Promise<ArchivedChat | undefined> {
    const doc = await this.getById<ChatDocument>(assertArchiveAccess(access, 'chats'), ARCHIVE_COLLECTIONS.chats, id);
    return doc ? archivedChatOf(doc) : undefined;
  }

  async getContact(access: ArchiveAccess, id: unknown): Promise<Contact | undefined> {
    const doc = await this.getById<ContactDocument>(assertArchiveAccess(access, 'contacts'), ARCHIVE_COLLECTIONS.contacts, id);
    return doc ? recordOf<Contact>(doc) : undefined;
  }

  /** A chat's transcript in `seq` order, one page at a time. */
  async chatTranscript(access: ArchiveAccess, chatId: unknown, page: PageRequest | unknown = {}): Promise<Page<ArchivedChatMessage>> {
    const tenant = assertArchiveAccess(access, 'chats');
    const id = parseArchiveInput(filterIdSchema, chatId, 'chat id');
    const docs = await this.page<ChatMessageDocument>(
      tenant,
      ARCHIVE_COLLECTIONS.chatMessages,
      { chatId: id },
      BY_SEQ,
      parseArchiveInput(pageRequestSchema, page, 'page'),
      { projection: READ_PROJECTION, chatId: id },
    );
    return { items: docs.items.map(archivedMessageOf), nextCursor: docs.nextCursor };
  }

  /**
   * What a chat's page shows, read in **one** aggregation: the chat, one page of its transcript (`page`; none read
   * when `page` is undefined) and, when contacts are in the reader's scope, which of the chat's contacts the archive
   * holds. Messages come as documents of their own (a `$unionWith`), so a page of long messages never meets
   * MongoDB's 16 MB document limit. Undefined when the chat is not in the archive.
   */
  async chatView(access: ArchiveAccess, chatId: unknown, page: PageRequest | unknown | undefined): Promise<ChatView | undefined> {
    const tenant = assertArchiveAccess(access, 'chats');
    const id = parseArchiveInput(filterIdSchema, chatId, 'chat id');
    const request = page === undefined ? undefined : parseArchiveInput(pageRequestSchema, page, 'page');
    const messagesAfter = request === undefined ? [] : this.afterCursor(request.cursor, BY_SEQ, id);
    const withContacts = Array.isArray(access.scope?.types) && access.scope.types.includes('contacts');
    const db = await this.databases.forTenant(tenant);
    const docs = await db
      .collection(ARCHIVE_COLLECTIONS.chats)
      .aggregate(
        [
          { $match: { _id: id, tenantId: tenant } },
          { $project: READ_PROJECTION },
          withContacts
            ? {
                $lookup: {
                  from: ARCHIVE_COLLECTIONS.contacts,
                  localField: 'participants.contactId',
                  foreignField: '_id',
                  pipeline: [{ $match: { tenantId: tenant } }, { $project: { _id: 1 } }],
                  as: CHAT_VIEW_CONTACTS,
                },
              }
            : { $set: { [CHAT_VIEW_CONTACTS]: null } },
          ...(request === undefined
            ? []
            : [
                {
                  $unionWith: {
                    coll: ARCHIVE_COLLECTIONS.chatMessages,
                    pipeline: [
                      { $match: { $and: [{ tenantId: tenant }, { chatId: id }, ...messagesAfter] } },
                      { $sort: { [BY_SEQ.field]: BY_SEQ.direction, _id: BY_SEQ.direction } },
                      { $limit: request.limit + 1 },
                      { $project: READ_PROJECTION },
                    ],
                  },
                },
              ]),
        ],
        // the chat and every message of the page in the first batch: no getMore
        { batchSize: (request?.limit ?? 0) + 2 },
      )
      .toArray();
    const first = docs[0];
    if (first === undefined || first._id !== id || !(CHAT_VIEW_CONTACTS in first)) return undefined;
    const { [CHAT_VIEW_CONTACTS]: held, ...chatDoc } = checkTenant(first, tenant);
    const messages =
      request === undefined ? { items: [], nextCursor: null } : this.pageOf<ChatMessageDocument>(docs.slice(1), tenant, BY_SEQ, request.limit, id);
    return {
      chat: archivedChatOf(chatDoc as ChatDocument),
      transcript: { items: messages.items.map(archivedMessageOf), nextCursor: messages.nextCursor },
      contactsHeld: Array.isArray(held) ? new Set((held as { _id: unknown }[]).map((contact) => String(contact._id))) : undefined,
    };
  }

  /**
   * Records per type and day (by the record's time: a call's or chat's start, a contact's creation) in
   * `[from, to)`, at most 400 days, for the types in the reader's scope. Days without records are left out.
   */
  async countsPerDay(access: ArchiveAccess, range: unknown): Promise<DailyCounts[]> {
    const { tenant, types } = scopedTypes(access);
    const { from, to, timeZone } = parseArchiveInput(dailyCountsSchema, range, 'range');
    if (to.getTime() <= from.getTime() || to.getTime() - from.getTime() > MAX_DAILY_RANGE_MS) {
      throw new RetentionError('ERR_ARCHIVE_FILTER_INVALID', 'range "to" must be after "from" and at most 400 days later');
    }
    const db = await this.databases.forTenant(tenant);
    const days = new Map<string, DailyCounts>();
    for (const type of types) {
      const collection = COLLECTION_OF_TYPE[type];
      const rows = await db
        .collection(collection)
        .aggregate<{ _id: string; n: number }>([
          { $match: { tenantId: tenant, 'ix.at': { $gte: from, $lt: to } } },
          { $group: { _id: { $dateToString: { format: '%Y-%m-%d', date: '$ix.at', timezone: timeZone } }, n: { $sum: 1 } } },
        ])
        .toArray();
      for (const row of rows) {
        const day = days.get(row._id) ?? { day: row._id, counts: {} };
        day.counts[type] = row.n;
        days.set(row._id, day);
      }
    }
    return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  }

  /**
   * The same as {@link countsPerDay}, read from the counts the archive keeps per type and UTC day (one small read)
   * when the range is whole UTC days and the counts are trusted (no write in progress or interrupted); otherwise
   * counted from the records by {@link countsPerDay}.
   */
  async dailyCounts(access: ArchiveAccess, range: unknown): Promise<DailyCounts[]> {
    const { tenant, types } = scopedTypes(access);
    const { from, to, timeZone } = parseArchiveInput(dailyCountsSchema, range, 'range');
    const wholeDays = from.getTime() % DAY_MS === 0 && to.getTime() % DAY_MS === 0;
    if (UTC_ZONES.has(timeZone) && wholeDays && to.getTime() > from.getTime() && to.getTime() - from.getTime() <= MAX_DAILY_RANGE_MS) {
      const db = await this.databases.forTenant(tenant);
      const stored = await readDailyCounts(db, tenant, types, {
        fromDay: from.toISOString().slice(0, 10),
        toDay: new Date(to.getTime() - DAY_MS).toISOString().slice(0, 10),
      });
      if (stored !== undefined) return stored;
    }
    return this.countsPerDay(access, range);
  }

  /** Which of `ids` name a record of `type` in the archive (one read for all of them), for links between records. */
  async existingIds(access: ArchiveAccess, type: RecordType, ids: Iterable<string>): Promise<Set<string>> {
    const tenant = assertArchiveAccess(access, type);
    const wanted = [...new Set(ids)].filter((id) => typeof id === 'string' && id.length > 0 && id.length <= 200);
    if (wanted.length === 0) return new Set();
    const db = await this.databases.forTenant(tenant);
    const docs = await db
      .collection<{ _id: string }>(COLLECTION_OF_TYPE[type])
      .find({ _id: { $in: wanted }, tenantId: tenant }, { projection: { _id: 1 } })
      .toArray();
    return new Set(docs.map((doc) => doc._id));
  }

  private async getById<D extends Document>(tenant: string, collection: string, id: unknown): Promise<D | undefined> {
    const recordId = parseArchiveInput(filterIdSchema, id, 'id');
    const db = await this.databases.forTenant(tenant);
    const doc = (await db.collection(collection).findOne({ _id: recordId, tenantId: tenant } as Document, { projection: READ_PROJECTION })) as D | null;
    return doc ? (checkTenant(doc, tenant) as D) : undefined;
  }

  /**
   * One page of `collection` in `sort` order after the request's cursor, read with one aggregation: the page, and
   * when `countUpTo` is asked, the number of matches (without the cursor) appended by a `$unionWith` that stops
   * counting at `countUpTo + 1` (an index-only count in MongoDB: it needs no field of the documents).
   */
  private async page<D extends Document>(
    tenant: string,
    collection: string,
    conditions: Document,
    sort: SortSpec,
    request: { limit: number; cursor?: string | undefined; countUpTo?: number | undefined },
    { projection, chatId }: { projection: Document; chatId?: string },
  ): Promise<Page<D>> {
    const matching: Document = { $and: [{ tenantId: tenant }, conditions] };
    const clauses: Document[] = [{ tenantId: tenant }, conditions, ...this.afterCursor(request.cursor, sort, chatId)];
    const countUpTo = request.countUpTo;
    const db = await this.databases.forTenant(tenant);
    const docs = await db
      .collection(collection)
      .aggregate(
        [
          { $match: { $and: clauses } },
          { $sort: { [sort.field]: sort.direction, _id: sort.direction } },
          { $limit: request.limit + 1 },
          { $project: projection },
          ...(countUpTo === undefined
            ? []
            : [
                {
                  $unionWith: {
                    coll: collection,
                    pipeline: [{ $match: matching }, { $limit: countUpTo + 1 }, { $group: { _id: null, [COUNT_FIELD]: { $sum: 1 } } }],
                  },
                },
              ]),
        ],
        // the page, the one after it and the count in the first batch: no getMore
        { batchSize: request.limit + 2 },
      )
      .toArray();
    if (countUpTo === undefined) return this.pageOf<D>(docs, tenant, sort, request.limit, chatId);
    // the count comes last, the only document with a null _id (a record's _id is its id); none when nothing matches
    const counted = countOf(docs);
    return { ...this.pageOf<D>(docs, tenant, sort, request.limit, chatId), matches: { count: Math.min(counted, countUpTo), more: counted > countUpTo } };
  }

  /** The condition that keeps only what comes after `cursor` in `sort` order (none without a cursor). */
  private afterCursor(cursor: string | undefined, sort: SortSpec, chatId?: string): Document[] {
    if (cursor === undefined) return [];
    const position = decodeCursor(cursor, sort.list, sort.keyKind, chatId);
    const key = sort.keyKind === 'instant' ? new Date(position.key as string) : position.key;
    const beyond = sort.direction === 1 ? '$gt' : '$lt';
    return [{ $or: [{ [sort.field]: { [beyond]: key } }, { [sort.field]: key, _id: { [beyond]: position.id } }] }];
  }

  /** A page of `limit` documents from up to `limit + 1` read in order (the extra one says a next page exists). */
  private pageOf<D extends Document>(docs: Document[], tenant: string, sort: SortSpec, limit: number, chatId?: string): Page<D> {
    const items = docs.slice(0, limit).map((doc) => checkTenant(doc, tenant) as D);
    const last = items.at(-1);
    const nextCursor =
      docs.length > limit && last !== undefined
        ? encodeCursor({ list: sort.list, key: sort.keyOf(last), id: String(last._id), ...(chatId !== undefined ? { chatId } : {}) })
        : null;
    return { items, nextCursor };
  }
}

/** The field the chat view's aggregation gives the chat: its contacts the archive holds (null: not looked up). */
const CHAT_VIEW_CONTACTS = '__contactsHeld';

/** The field of the count document a list page's aggregation appends. */
const COUNT_FIELD = 'matches';

/** Takes the count document off the end of a page's documents and returns its count (0 when there is none). */
function countOf(docs: Document[]): number {
  const last = docs.at(-1);
  if (last === undefined || last._id !== null || typeof last[COUNT_FIELD] !== 'number') return 0;
  docs.pop();
  return last[COUNT_FIELD];
}

function checkTenant(doc: Document, tenant: string): Document {
  if (doc.tenantId !== tenant) {
    throw new RetentionError(
      'ERR_ARCHIVE_TENANT_MISMATCH',
      `the archive of "${tenant}" holds a document of another tenant; nothing is returned (rebuild the archive: retention rebuild ${tenant})`,
    );
  }
  return doc;
}
