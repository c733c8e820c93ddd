/** The kinds of data Retention archives, as they appear in drop paths and settings. */
export const RECORD_TYPES = ['call-logs', 'chats', 'contacts'] as const;

/** One of {@link RECORD_TYPES}. */
export type RecordType = (typeof RECORD_TYPES)[number];

/** True when `value` names a record type. */
export function isRecordType(value: unknown): value is RecordType {
  return typeof value === 'string' && (RECORD_TYPES as readonly string[]).includes(value);
}
