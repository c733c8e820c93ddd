import type { RecordType } from '../record-type.js';
import { hashString } from './seeded-random.js';

const TYPE_NIBBLE: Record<RecordType, string> = { 'call-logs': 'a', chats: 'b', contacts: 'c' };

/** Eight hex characters that tell records of different seeds apart. */
export function seedTag(seed: string): string {
  return hashString(seed).toString(16).padStart(8, '0');
}

/**
 * The id of the demo record in `slot` of `type`: shaped like a UUID (platforms export UUIDs), and injective in
 * (type, slot) for a given seed, so ids never collide within a type or across types.
 *
 * @example
 * demoRecordId('demo', 'chats', 42); // '1f0c9d2e-b000-4000-8000-00000000002a'
 */
export function demoRecordId(seed: string, type: RecordType, slot: number): string {
  const digits = slot.toString(16).padStart(21, '0');
  return `${seedTag(seed)}-${TYPE_NIBBLE[type]}${digits.slice(0, 3)}-4${digits.slice(3, 6)}-8${digits.slice(6, 9)}-${digits.slice(9)}`;
}
