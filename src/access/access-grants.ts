import { z } from 'zod';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import { CAPABILITIES, type Capability } from './capabilities.js';

const inOrder =
  <T extends string>(all: readonly T[]) =>
  (values: readonly T[]): T[] =>
    all.filter((value) => values.includes(value));

/**
 * What an administrator was granted: data scopes (`dataTypes`: any subset of call logs, chats and contacts) and
 * capabilities. Duplicates are removed and both lists come back in canonical order, so equal grants compare equal.
 * Unknown names are refused (never silently dropped: a typo must not look like a granted right).
 *
 * @example
 * accessGrantsSchema.parse({ dataTypes: ['chats'], capabilities: ['export'] });
 */
export const accessGrantsSchema = z.strictObject({
  dataTypes: z
    .array(z.enum(RECORD_TYPES))
    .max(RECORD_TYPES.length * 2)
    .transform(inOrder<RecordType>(RECORD_TYPES)),
  capabilities: z
    .array(z.enum(CAPABILITIES))
    .max(CAPABILITIES.length * 2)
    .transform(inOrder<Capability>(CAPABILITIES)),
});

/** Validated grants of one administrator. */
export type AccessGrants = z.output<typeof accessGrantsSchema>;

/** The grants of the owner: every data type and every capability. */
export const OWNER_GRANTS: Readonly<AccessGrants> = Object.freeze({
  dataTypes: Object.freeze([...RECORD_TYPES]) as RecordType[],
  capabilities: Object.freeze([...CAPABILITIES]) as Capability[],
});

/**
 * Validates grants as a form or an API sends them. Throws `ERR_ACCESS_GRANTS_INVALID` (400) naming the field.
 *
 * @example
 * parseAccessGrants({ dataTypes: ['chats'], capabilities: ['root'] }); // throws ERR_ACCESS_GRANTS_INVALID
 */
export function parseAccessGrants(input: unknown): AccessGrants {
  const result = accessGrantsSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? `"${issue.path.map(String).join('.')}"` : 'grants';
  throw new RetentionError(
    'ERR_ACCESS_GRANTS_INVALID',
    `access grants field ${field} is invalid (${issue?.message ?? 'unknown problem'}): data types are ${RECORD_TYPES.join(', ')}; capabilities are ${CAPABILITIES.join(', ')}`,
  );
}
