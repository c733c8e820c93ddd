import type { Document } from 'mongodb';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import { describeRefusedValue } from '../../validation/refused-value.js';
import { nameKeyCondition } from './name-search-keys.js';

/** An instant given as ISO-8601 UTC text (from a URL) or a `Date`. */
export const filterInstantSchema = z.union([
  z.date().refine((date) => !Number.isNaN(date.getTime()), 'must be a valid date'),
  z.iso.datetime({ message: 'must be an ISO-8601 UTC timestamp such as 2026-11-23T00:00:00Z' }).transform((value) => new Date(value)),
]);

/** A source id (agent, queue, participant, contact): plain text, 1 to 200 characters. */
export const filterIdSchema = z.string().min(1, 'must not be empty').max(200);

/** A tag: plain text, 1 to 64 characters. */
export const filterTagSchema = z.string().min(1, 'must not be empty').max(64);

/** A time range on the record's time: `from` inclusive, `to` exclusive. */
export const timeRangeShape = { from: filterInstantSchema.optional(), to: filterInstantSchema.optional() };

/** How many items a page holds and where it starts. */
export const pageRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(1024).optional(),
});

/** A page request as the caller gives it. */
export type PageRequest = z.input<typeof pageRequestSchema>;

/** The most records a list count counts (beyond it a list says "more than"). */
export const MAX_COUNTED_MATCHES = 10_000;

/**
 * A page request of a list: a {@link pageRequestSchema} that may also ask for the number of matches, counted up to
 * `countUpTo` (at most {@link MAX_COUNTED_MATCHES}), read in the same round trip as the page.
 */
export const listPageRequestSchema = pageRequestSchema.extend({ countUpTo: z.number().int().min(1).max(MAX_COUNTED_MATCHES).optional() });

/** A list's page request as the caller gives it. */
export type ListPageRequest = z.input<typeof listPageRequestSchema>;

/** The orders of a list sorted by time (a call's or chat's start): newest first, the default, or oldest first. */
export const TIME_ORDERS = ['newest', 'oldest'] as const;
export type TimeOrder = (typeof TIME_ORDERS)[number];

/** A page of a list sorted by time: a {@link listPageRequestSchema} with the order. */
export const timePageRequestSchema = listPageRequestSchema.extend({ order: z.enum(TIME_ORDERS).default('newest') });

/** A page request of a list sorted by time, as the caller gives it. */
export type TimePageRequest = z.input<typeof timePageRequestSchema>;

/** One page of a list and the cursor of the next page (`null` on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  /** How many records match the list's filter, when the request asked (`countUpTo`). */
  matches?: MatchCount;
}

/** How many records match a list's filter, counted up to a limit: `more` when there are more than `count`. */
export interface MatchCount {
  count: number;
  more: boolean;
}

/** What each list filter is called on the portal's pages, and what it accepts, in words. */
const FILTER_RULES: Readonly<Record<string, { label: string; accepted?: string }>> = {
  direction: { label: 'Direction' },
  outcome: { label: 'Outcome' },
  channel: { label: 'Channel' },
  from: { label: 'From', accepted: 'give a day as YYYY-MM-DD or a UTC time such as 2026-11-23T00:00:00Z' },
  to: { label: 'To', accepted: 'give a day as YYYY-MM-DD or a UTC time such as 2026-11-23T00:00:00Z' },
  agent: { label: 'Agent', accepted: 'give a name or an id of at most 200 characters' },
  queue: { label: 'Queue', accepted: 'give a name or an id of at most 200 characters' },
  contact: { label: 'Contact', accepted: 'give a name or an id of at most 200 characters' },
  participant: { label: 'Participant', accepted: 'give a name or an id of at most 200 characters' },
  number: { label: 'Number', accepted: 'give the start of a phone number with its country code, such as +1 415' },
  phone: { label: 'Phone', accepted: 'give the start of a phone number with its country code, such as +1 415' },
  tag: { label: 'Tag', accepted: 'give a tag of at most 64 characters' },
  text: { label: 'Words', accepted: 'give words of at least two letters or digits, at most 200 characters in all' },
  name: { label: 'Name', accepted: 'give the start of a name, at most 200 characters' },
  email: { label: 'Email', accepted: 'give the start of an email address, at most 254 characters' },
};

/** The value at an issue's path in the input, for the message (plain text only; anything else is described by kind). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/**
 * A refusal in words: the field by its label, the value given and what is accepted (never zod's text). Values that
 * are not text (an object where text belongs) are named by kind, not quoted.
 */
function describeIssue(what: string, input: unknown, issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return `The ${what} is not valid.`;
  if (issue.code === 'unrecognized_keys') {
    return `The ${what} has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}: only the documented filters are accepted.`;
  }
  const field = issue.path.length === 0 ? undefined : issue.path.map(String).join('.');
  const rule = field === undefined ? undefined : FILTER_RULES[field];
  const given = valueAt(input, issue.path);
  const typed =
    typeof given === 'string' || typeof given === 'number' ? given : given === undefined ? undefined : `a ${Array.isArray(given) ? 'list' : typeof given}`;
  const accepted =
    issue.code === 'invalid_value' && issue.values.length > 0
      ? `choose one of ${issue.values.map(String).join(', ')}`
      : (rule?.accepted ?? (field === undefined ? `give a valid ${what}` : `give a valid value for "${field}"`));
  const name = rule !== undefined ? `The filter ${rule.label}` : field !== undefined ? `The ${what} field "${field}"` : `The ${what}`;
  return `${name}: ${describeRefusedValue(typed, accepted)}`;
}

/**
 * Validates caller input (a filter, a page request) against its schema: only known fields, each of the expected
 * type, so an object where text belongs (`{ $ne: '' }`) or an operator key (`$where`) never reaches a query.
 * Throws `ERR_ARCHIVE_FILTER_INVALID` (400) naming the field.
 *
 * @example
 * parseArchiveInput(callLogFilterSchema, { outcome: { $ne: 'x' } }, 'filter'); // throws ERR_ARCHIVE_FILTER_INVALID
 */
export function parseArchiveInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new RetentionError('ERR_ARCHIVE_FILTER_INVALID', describeIssue(what, input, result.error.issues[0]));
}

/** `ix.at` conditions for a time range, or nothing. `ERR_ARCHIVE_FILTER_INVALID` when it ends before it starts. */
export function timeRangeCondition(range: { from?: Date | undefined; to?: Date | undefined }): Record<string, unknown> {
  if (range.from && range.to && range.to.getTime() <= range.from.getTime()) {
    throw new RetentionError('ERR_ARCHIVE_FILTER_INVALID', 'filter "to" must be after "from"');
  }
  const at: Record<string, Date> = {};
  if (range.from) at.$gte = range.from;
  if (range.to) at.$lt = range.to;
  return Object.keys(at).length > 0 ? { 'ix.at': at } : {};
}

/**
 * A filter that takes an id or a name: records whose id field equals the text, or whose name keys start with it
 * (`name-search-keys.ts`). Both sides are indexed, so MongoDB merges two index ranges.
 *
 * @example
 * idOrNameCondition({ 'queue.id': 'Billing' }, 'ix.queueNames', 'Billing');
 * // { $or: [{ 'queue.id': 'Billing' }, { 'ix.queueNames': { $regex: '^billing' } }] }
 */
export function idOrNameCondition(idCondition: Document, nameField: string, text: string): Document {
  const byName = nameKeyCondition(nameField, text);
  return byName === undefined ? idCondition : { $or: [idCondition, byName] };
}
