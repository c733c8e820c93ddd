import { z } from 'zod';
import { RetentionError } from '../errors.js';
import { describeRefusedValue } from '../validation/refused-value.js';
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
  throw new RetentionError('ERR_ACCESS_GRANTS_INVALID', describeGrantsIssue(input, result.error.issues[0]));
}

const LIST_RULES: Readonly<Record<'dataTypes' | 'capabilities', { noun: string; accepted: string }>> = {
  dataTypes: { noun: 'Data types', accepted: `choose from ${RECORD_TYPES.join(', ')}` },
  capabilities: { noun: 'Permissions', accepted: `choose from ${CAPABILITIES.join(', ')}` },
};

/** A refusal of grants in words: the list, the value given and what is accepted; never zod's own text. */
function describeGrantsIssue(input: unknown, issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) {
    return 'Access grants must name data types and permissions: give dataTypes and capabilities as lists.';
  }
  if (issue.code === 'unrecognized_keys') {
    return `Access grants hold only dataTypes and capabilities; ${issue.keys.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')} cannot be granted.`;
  }
  const [list, index] = issue.path;
  if (list !== 'dataTypes' && list !== 'capabilities') return 'Access grants must name data types and permissions: give dataTypes and capabilities as lists.';
  const rule = LIST_RULES[list];
  const given = (input as Record<string, unknown>)[list];
  if (!Array.isArray(given)) return `${rule.noun}: ${describeRefusedValue(given, `give a list; ${rule.accepted}`)}`;
  if (issue.code === 'too_big') return `${rule.noun}: the list is too long; ${rule.accepted}, each once.`;
  return `${rule.noun}: ${describeRefusedValue(typeof index === 'number' ? given[index] : given, rule.accepted)}`;
}
