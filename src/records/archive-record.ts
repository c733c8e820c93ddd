import type { z } from 'zod';
import { callLogSchema, type CallLog } from './call-log-schema.js';
import { chatSchema, type Chat } from './chat-schema.js';
import { contactSchema, type Contact } from './contact-schema.js';
import type { RecordType } from './record-type.js';

/** Any canonical record. */
export type ArchiveRecord = CallLog | Chat | Contact;

/** The record type each {@link RecordType} holds. */
export interface RecordByType {
  'call-logs': CallLog;
  chats: Chat;
  contacts: Contact;
}

/**
 * The zod schema of each record type.
 *
 * @example
 * const result = RECORD_SCHEMAS[type].safeParse(raw);
 */
export const RECORD_SCHEMAS = {
  'call-logs': callLogSchema,
  chats: chatSchema,
  contacts: contactSchema,
} as const satisfies Record<RecordType, z.ZodType>;

/** The schema of one record type, typed by the type name. */
export function recordSchemaFor<T extends RecordType>(type: T): z.ZodType<RecordByType[T]> {
  return RECORD_SCHEMAS[type] as unknown as z.ZodType<RecordByType[T]>;
}
