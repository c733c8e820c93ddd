import type { CallLog } from '../../records/call-log-schema.js';
import type { Contact } from '../../records/contact-schema.js';
import type { RecordType } from '../../records/record-type.js';
import type { ArchivedChat } from './archive-documents.js';

/**
 * What a list table shows of each record type (the portal's call-log, chat and contact lists): a list page reads only
 * these fields of each stored document, so a page of 50 decodes a fraction of what the records hold (a call log's
 * recordings, timings and attributes, a contact's addresses and external ids stay in the database). Every field a
 * masking rule covers among them comes whole (`from`, `visitor`, `participants`, `emails`, `phones`), so a row is
 * masked like a record (`maskRecord`).
 */
export const LIST_ROW_FIELDS = {
  'call-logs': ['id', 'startedAt', 'direction', 'from', 'to', 'queue', 'agents', 'durationSec', 'outcome'],
  chats: ['id', 'startedAt', 'channel', 'status', 'visitor', 'participants', 'messageCount', 'tags'],
  contacts: ['id', 'displayName', 'organization', 'emails', 'phones', 'tags', 'createdAt'],
} as const satisfies {
  'call-logs': readonly (keyof CallLog)[];
  chats: readonly (keyof ArchivedChat)[];
  contacts: readonly (keyof Contact)[];
};

export type CallLogRow = Pick<CallLog, (typeof LIST_ROW_FIELDS)['call-logs'][number]>;
export type ChatRow = Pick<ArchivedChat, (typeof LIST_ROW_FIELDS)['chats'][number]>;
export type ContactRow = Pick<Contact, (typeof LIST_ROW_FIELDS)['contacts'][number]>;

/** A list row of each record type. */
export interface ListRowByType {
  'call-logs': CallLogRow;
  chats: ChatRow;
  contacts: ContactRow;
}

const projections = new Map<string, Readonly<Record<string, 1>>>();

/**
 * The inclusion projection of a list of `type`: its row fields, the tenant (every returned document's tenant is
 * checked) and the list's sort key `sortField` (for the next page's cursor).
 */
export function listRowProjection(type: RecordType, sortField: string): Readonly<Record<string, 1>> {
  const key = `${type} ${sortField}`;
  let projection = projections.get(key);
  if (projection === undefined) {
    projection = Object.freeze(Object.fromEntries([...LIST_ROW_FIELDS[type], 'tenantId', sortField].map((field) => [field, 1 as const])));
    projections.set(key, projection);
  }
  return projection;
}

/** The row of `type` in a stored document read with {@link listRowProjection}: its row fields, nothing else. */
export function listRowOf<T extends RecordType>(type: T, doc: Readonly<Record<string, unknown>>): ListRowByType[T] {
  const row: Record<string, unknown> = {};
  for (const field of LIST_ROW_FIELDS[type]) if (doc[field] !== undefined) row[field] = doc[field];
  return row as unknown as ListRowByType[T];
}
