import type { CallLog } from '../records/call-log-schema.js';
import type { ChatMessage } from '../records/chat-schema.js';
import type { Contact } from '../records/contact-schema.js';
import type { RecordType } from '../records/record-type.js';
import type { ArchivedChat } from '../store/archive/archive-documents.js';
import type { CsvValue } from './csv-encoding.js';

/**
 * The records a results export holds per type, as the lists return them (a chat without its transcript: an export
 * with messages adds them from the transcript, see {@link CHAT_MESSAGE_COLUMNS}).
 */
export interface ExportedRecordByType {
  'call-logs': CallLog;
  chats: ArchivedChat;
  contacts: Contact;
}

/** One CSV column: its header and how a record gives its value. */
export type ExportColumn<R> = readonly [header: string, value: (record: R) => CsvValue];

const list = (values: readonly (string | undefined)[]): string => values.filter((v): v is string => v !== undefined && v !== '').join('; ');

const CALL_LOG_COLUMNS: readonly ExportColumn<CallLog>[] = [
  ['id', (c) => c.id],
  ['startedAt', (c) => c.startedAt],
  ['answeredAt', (c) => c.answeredAt],
  ['endedAt', (c) => c.endedAt],
  ['direction', (c) => c.direction],
  ['initiation', (c) => c.initiation],
  ['outcome', (c) => c.outcome],
  ['disconnectReason', (c) => c.disconnectReason],
  ['from', (c) => c.from.e164],
  ['fromName', (c) => c.from.displayName],
  ['fromContactId', (c) => c.from.contactId],
  ['to', (c) => c.to.e164],
  ['toName', (c) => c.to.displayName],
  ['toContactId', (c) => c.to.contactId],
  ['callerId', (c) => c.callerId],
  ['queueId', (c) => c.queue?.id],
  ['queueName', (c) => c.queue?.name],
  ['queueWaitSec', (c) => c.queue?.waitSec],
  ['agents', (c) => list(c.agents.map((a) => `${a.name} (${a.staffId})`))],
  ['durationSec', (c) => c.durationSec],
  ['ringSec', (c) => c.ringSec],
  ['transferTo', (c) => c.transfer?.toE164 ?? c.transfer?.toQueueId],
  ['transferType', (c) => c.transfer?.type],
  ['wrapUpCode', (c) => c.wrapUpCode],
  ['recordings', (c) => c.recordings.length],
  ['tags', (c) => list(c.tags)],
  ['notes', (c) => c.notes],
  ['createdAt', (c) => c.createdAt],
  ['updatedAt', (c) => c.updatedAt],
];

const CHAT_COLUMNS: readonly ExportColumn<ArchivedChat>[] = [
  ['id', (c) => c.id],
  ['startedAt', (c) => c.startedAt],
  ['closedAt', (c) => c.closedAt],
  ['channel', (c) => c.channel],
  ['status', (c) => c.status],
  ['visitorName', (c) => c.visitor.name],
  ['visitorLocale', (c) => c.visitor.locale],
  ['visitorLocation', (c) => c.visitor.location],
  ['participants', (c) => list(c.participants.map((p) => `${p.displayName} (${p.role})`))],
  ['messageCount', (c) => c.messageCount],
  ['rating', (c) => c.rating],
  ['tags', (c) => list(c.tags)],
  ['createdAt', (c) => c.createdAt],
  ['updatedAt', (c) => c.updatedAt],
];

const CONTACT_COLUMNS: readonly ExportColumn<Contact>[] = [
  ['id', (c) => c.id],
  ['displayName', (c) => c.displayName],
  ['firstName', (c) => c.firstName],
  ['lastName', (c) => c.lastName],
  ['title', (c) => c.title],
  ['organization', (c) => c.organization],
  ['emails', (c) => list(c.emails.map((e) => e.value))],
  ['phones', (c) => list(c.phones.map((p) => p.e164))],
  ['city', (c) => c.address?.city],
  ['country', (c) => c.address?.country],
  ['timezone', (c) => c.timezone],
  ['language', (c) => c.language],
  ['tags', (c) => list(c.tags)],
  ['ownerStaffId', (c) => c.ownerStaffId],
  ['mergedInto', (c) => c.mergedInto],
  ['createdAt', (c) => c.createdAt],
  ['updatedAt', (c) => c.updatedAt],
  ['deletedAt', (c) => c.deletedAt],
];

/**
 * The CSV columns of each record type, in order. CSV is the flat view (a chat's participants and a call's agents
 * joined with `; `); the JSON export carries the complete records.
 */
export const EXPORT_COLUMNS: { readonly [T in RecordType]: readonly ExportColumn<ExportedRecordByType[T]>[] } = {
  'call-logs': CALL_LOG_COLUMNS,
  chats: CHAT_COLUMNS,
  contacts: CONTACT_COLUMNS,
};

/** One row of a chats-with-messages CSV: a transcript message (or none, for a chat without messages) and its chat. */
export interface ChatMessageRow {
  chat: ArchivedChat;
  message: ChatMessage | undefined;
}

/**
 * The message columns of a chats-with-messages CSV, after the chat's own columns ({@link EXPORT_COLUMNS}`.chats`,
 * repeated on every row of the chat). The sender's name is the chat participant's display name (as the transcript
 * page shows it); attachments are listed by name, an event as `kind: detail`.
 */
export const CHAT_MESSAGE_COLUMNS: readonly ExportColumn<ChatMessageRow>[] = [
  ['messageSeq', (r) => r.message?.seq],
  ['messageId', (r) => r.message?.id],
  ['messageSentAt', (r) => r.message?.sentAt],
  ['messageSenderId', (r) => r.message?.senderId],
  ['messageSenderRole', (r) => r.message?.senderRole],
  ['messageSenderName', (r) => (r.message ? r.chat.participants.find((p) => p.id === r.message?.senderId)?.displayName : undefined)],
  ['messageType', (r) => r.message?.type],
  ['messageText', (r) => r.message?.text],
  ['messageAttachments', (r) => (r.message ? list(r.message.attachments.map((a) => a.name)) : undefined)],
  ['messageEvent', (r) => (r.message?.event ? [r.message.event.kind, r.message.event.detail].filter((v) => v !== undefined).join(': ') : undefined)],
];

/** The CSV header cells of a type. */
export function exportHeader(type: RecordType): string[] {
  return EXPORT_COLUMNS[type].map(([header]) => header);
}

/** The CSV cells of one record. */
export function exportCells<T extends RecordType>(type: T, record: ExportedRecordByType[T]): CsvValue[] {
  return (EXPORT_COLUMNS[type] as readonly ExportColumn<ExportedRecordByType[T]>[]).map(([, value]) => value(record));
}

/** The CSV header of a chats-with-messages export: the chat columns, then {@link CHAT_MESSAGE_COLUMNS}. */
export function chatMessageHeader(): string[] {
  return [...exportHeader('chats'), ...CHAT_MESSAGE_COLUMNS.map(([header]) => header)];
}

/**
 * The CSV cells of one chats-with-messages row: the chat's cells, then the message's (all empty for a chat without
 * messages, which still gets one row so that every exported chat appears in the file).
 */
export function chatMessageCells(
  chat: ArchivedChat,
  message: ChatMessage | undefined,
  chatCells: readonly CsvValue[] = exportCells('chats', chat),
): CsvValue[] {
  const row: ChatMessageRow = { chat, message };
  return [...chatCells, ...CHAT_MESSAGE_COLUMNS.map(([, value]) => value(row))];
}
