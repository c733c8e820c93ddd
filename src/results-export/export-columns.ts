import type { CallLog } from '../records/call-log-schema.js';
import type { Contact } from '../records/contact-schema.js';
import type { RecordType } from '../records/record-type.js';
import type { ArchivedChat } from '../store/archive/archive-documents.js';
import type { CsvValue } from './csv-encoding.js';

/** The records a results export holds per type (chats without their transcripts, as the list returns them). */
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

/** The CSV header cells of a type. */
export function exportHeader(type: RecordType): string[] {
  return EXPORT_COLUMNS[type].map(([header]) => header);
}

/** The CSV cells of one record. */
export function exportCells<T extends RecordType>(type: T, record: ExportedRecordByType[T]): CsvValue[] {
  return (EXPORT_COLUMNS[type] as readonly ExportColumn<ExportedRecordByType[T]>[]).map(([, value]) => value(record));
}
