import type { CallLog } from '../../records/call-log-schema.js';
import type { Chat, ChatMessage } from '../../records/chat-schema.js';
import type { Contact } from '../../records/contact-schema.js';
import type { RecordType } from '../../records/record-type.js';
import { RetentionError } from '../../errors.js';
import { NAME_KEY_RULE_VERSION, nameSearchKeys } from './name-search-keys.js';
import { recordTextTokens, TEXT_TOKEN_RULE_VERSION } from './text-search-tokens.js';

/** Collection names of a tenant's archive database. */
export const ARCHIVE_COLLECTIONS = {
  callLogs: 'callLogs',
  chats: 'chats',
  chatMessages: 'chatMessages',
  contacts: 'contacts',
} as const;

/** The collection holding the records of each type (chat transcripts live apart, in `chatMessages`). */
export const COLLECTION_OF_TYPE: Readonly<Record<RecordType, string>> = {
  'call-logs': ARCHIVE_COLLECTIONS.callLogs,
  chats: ARCHIVE_COLLECTIONS.chats,
  contacts: ARCHIVE_COLLECTIONS.contacts,
};

/**
 * Fields the archive derives from a record for its indexes, kept under `ix` so they never collide with record
 * fields. The record itself is stored unchanged (raw values; masking is the portal's job).
 */
export interface IndexFields {
  /** `updatedAt` as a fixed-width string (nanosecond digits), compared by the guarded upsert. */
  v: string;
  /** When it happened: `startedAt` of a call or chat, `createdAt` of a contact. Time filters, charts, range holds. */
  at: Date;
  /** `updatedAt` as a date: the age archive retention measures. */
  updatedAt: Date;
  /** The verified manifest this version was loaded from. */
  src: string;
  /** Contacts the record refers to (legal holds on a contact). */
  contactIds: string[];
  /** E.164 numbers of a call or a contact (number filter, legal holds on a number). */
  numbers?: string[];
  /** Chats: participant ids, staff ids and contact ids. */
  participants?: string[];
  /** Chats: distinct search tokens of the transcript (`text-search-tokens.ts`), by the rule of {@link textTokensVersion}. */
  textTokens?: string[];
  /** Chats: the version of the search-token rule `textTokens` were made by (`TEXT_TOKEN_RULE_VERSION`). */
  textTokensVersion?: number;
  /**
   * Chats imported before search tokens (no `textTokensVersion`): distinct lowercased words of the transcript,
   * searched by the old rule (`legacyTextWords`) until the archive is rebuilt. No longer written.
   */
  words?: string[];
  /** Calls: name search keys of the agents (`name-search-keys.ts`). */
  agentNames?: string[];
  /** Calls: name search keys of the queue. */
  queueNames?: string[];
  /** Calls: name search keys of the customer's side (a party linked to a contact, the outside caller or callee). */
  contactNames?: string[];
  /** Chats: name search keys of the participants and the visitor. */
  participantNames?: string[];
  /** Calls and chats: the version of the name-key rule the `*Names` keys were made by (`NAME_KEY_RULE_VERSION`). */
  namesVersion?: number;
  /** Contacts: lowercased display name (sort key). */
  name?: string;
  /** Contacts: lowercased full names and their words (name prefix search). */
  names?: string[];
  /** Contacts: lowercased email addresses. */
  emails?: string[];
}

/** A call log as stored in `callLogs`. */
export type CallLogDocument = CallLog & { _id: string; ix: IndexFields };
/** A chat room (without its messages) as stored in `chats`. */
export type ChatDocument = Omit<Chat, 'messages'> & { _id: string; messageCount: number; ix: IndexFields };
/** One transcript message as stored in `chatMessages`, keyed by chat id and message id. */
export type ChatMessageDocument = ChatMessage & { _id: string; tenantId: string; chatId: string; ix: { chatV: string; src: string } };
/** A contact as stored in `contacts`. */
export type ContactDocument = Contact & { _id: string; ix: IndexFields };

/** A chat room as the archive returns it: the record without its transcript, and how many messages it has. */
export type ArchivedChat = Omit<Chat, 'messages'> & { messageCount: number };
/** A transcript message as the archive returns it. */
export type ArchivedChatMessage = ChatMessage & { chatId: string };

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/;

/**
 * A fixed-width, lexically ordered form of an ISO-8601 UTC instant (`2026-11-23T17:00:00.120000000Z`), so versions
 * compare exactly even beyond millisecond precision (a `Date` would round `.1234` and `.1235` to the same value).
 *
 * @example
 * versionKey('2026-11-23T17:00:00.12Z'); // '2026-11-23T17:00:00.120000000Z'
 */
export function versionKey(iso: string): string {
  const match = INSTANT.exec(iso);
  if (!match?.[1]) throw new RetentionError('ERR_ARCHIVE_RECORD_INVALID', `timestamp ${JSON.stringify(iso.slice(0, 40))} is not an ISO-8601 UTC instant`);
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** `<chatId length>:<chatId>:<messageId>`: a message key no pair of ids can share. */
export function chatMessageKey(chatId: string, messageId: string): string {
  return `${chatId.length}:${chatId}:${messageId}`;
}

const unique = <T>(values: Iterable<T>): T[] => [...new Set(values)];

function baseIndex(record: { updatedAt: string }, at: string, src: string, contactIds: string[]): IndexFields {
  return { v: versionKey(record.updatedAt), at: new Date(at), updatedAt: new Date(record.updatedAt), src, contactIds: unique(contactIds) };
}

/**
 * The parties of a call that are the customer, not the contact center: those linked to a contact, and the caller of
 * an inbound or the callee of an outbound call unless they are staff (the other end is the center's own line).
 */
function customerParties(record: CallLog): CallLog['from'][] {
  const outside = record.direction === 'inbound' ? record.from : record.direction === 'outbound' ? record.to : undefined;
  return [record.from, record.to].filter((party) => party.contactId !== undefined || (party === outside && party.staffId === undefined));
}

/** The archive document of a call log. */
export function callLogDocument(record: CallLog, src: string): CallLogDocument {
  const numbers = [record.from.e164, record.to.e164, record.callerId, ...(record.transfer?.toE164 ? [record.transfer.toE164] : [])];
  const contactIds = [record.from.contactId, record.to.contactId].filter((id): id is string => id !== undefined);
  const names = {
    agentNames: nameSearchKeys(record.agents.map((agent) => agent.name)),
    queueNames: nameSearchKeys([record.queue?.name]),
    contactNames: nameSearchKeys(customerParties(record).map((party) => party.displayName)),
    namesVersion: NAME_KEY_RULE_VERSION,
  };
  return { _id: record.id, ...record, ix: { ...baseIndex(record, record.startedAt, src, contactIds), numbers: unique(numbers), ...names } };
}

/** The archive documents of a chat: the room (with a message count and its transcript's search tokens) and one per message. */
export function chatDocuments(record: Chat, src: string): { room: ChatDocument; messages: ChatMessageDocument[] } {
  const { messages, ...room } = record;
  const textTokens = recordTextTokens(messages.map((message) => message.text ?? ''));
  const participants = record.participants.flatMap((p) => [p.id, p.staffId, p.contactId].filter((id): id is string => id !== undefined));
  const contactIds = record.participants.map((p) => p.contactId).filter((id): id is string => id !== undefined);
  const index = baseIndex(record, record.startedAt, src, contactIds);
  const chatV = index.v;
  return {
    room: {
      _id: record.id,
      ...room,
      messageCount: messages.length,
      ix: {
        ...index,
        participants: unique(participants),
        textTokens,
        textTokensVersion: TEXT_TOKEN_RULE_VERSION,
        participantNames: nameSearchKeys([...record.participants.map((participant) => participant.displayName), record.visitor.name]),
        namesVersion: NAME_KEY_RULE_VERSION,
      },
    },
    messages: messages.map((message) => ({
      _id: chatMessageKey(record.id, message.id),
      tenantId: record.tenantId,
      chatId: record.id,
      ...message,
      ix: { chatV, src },
    })),
  };
}

/** The archive document of a contact. */
export function contactDocument(record: Contact, src: string): ContactDocument {
  const fullNames = [record.displayName, [record.firstName, record.lastName].filter(Boolean).join(' ')]
    .map((name) => name.normalize('NFKC').toLowerCase().trim())
    .filter((name) => name.length > 0);
  const names = unique([...fullNames, ...fullNames.flatMap((name) => name.split(/\s+/))]);
  return {
    _id: record.id,
    ...record,
    ix: {
      ...baseIndex(record, record.createdAt, src, [record.id]),
      name: record.displayName.normalize('NFKC').toLowerCase(),
      names,
      emails: unique(record.emails.map((email) => email.value.toLowerCase())),
      numbers: unique(record.phones.map((phone) => phone.e164)),
    },
  };
}

/** The record of a stored call log or contact: the document without `_id` and `ix`. */
export function recordOf<R>(document: R & { _id: string; ix: unknown }): R {
  const { _id: _ignored, ix: _index, ...record } = document;
  return record as unknown as R;
}

/** A stored chat room as the archive returns it. */
export function archivedChatOf(document: ChatDocument): ArchivedChat {
  const { _id: _ignored, ix: _index, ...chat } = document;
  return chat;
}

/** A stored transcript message as the archive returns it. */
export function archivedMessageOf(document: ChatMessageDocument): ArchivedChatMessage {
  const { _id: _ignored, ix: _index, tenantId: _tenant, ...message } = document;
  return message;
}
