import { z } from 'zod';
import { RECORD_SCHEMAS, type RecordByType } from './archive-record.js';
import { isCanonicalRecord } from './canonical-record-check.js';
import { formatIssuePath } from './record-issue-path.js';
import type { RecordType } from './record-type.js';

/** Why a raw record failed validation: where (`agents[0].talkSec`) and what, the message naming the field. */
export interface RecordIssue {
  path: string;
  message: string;
}

/** The outcome of {@link parseRecord}. */
export type ParseRecordResult<R> = { ok: true; record: R } | { ok: false; issues: RecordIssue[] };

const KNOWN_KEYS: Record<RecordType, ReadonlySet<string>> = {
  'call-logs': new Set(Object.keys(RECORD_SCHEMAS['call-logs'].shape)),
  chats: new Set(Object.keys(RECORD_SCHEMAS.chats.shape)),
  contacts: new Set(Object.keys(RECORD_SCHEMAS.contacts.shape)),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A key JSON.parse keeps as an own property but a plain assignment would turn into a prototype change. */
const FORBIDDEN_KEY = '__proto__';

function describeIssue(path: string, message: string): RecordIssue {
  return { path, message: `${path}: ${message}` };
}

function toRecordIssues(issues: readonly z.core.$ZodIssue[]): RecordIssue[] {
  const out: RecordIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push(describeIssue(formatIssuePath([...issue.path, key]), 'unknown field (only top-level extras are kept, under attributes)'));
      }
    } else {
      out.push(describeIssue(formatIssuePath(issue.path), issue.message));
    }
  }
  return out;
}

/**
 * Splits the top-level keys of `raw` into the fields the schema knows and extras, and merges the extras into
 * `attributes`. An extra whose name already exists in `attributes` is an issue: neither value is dropped silently;
 * so is a `__proto__` key, which later copies would lose.
 */
function moveExtrasIntoAttributes(
  raw: Record<string, unknown>,
  knownKeys: ReadonlySet<string>,
): { normalized: Record<string, unknown>; issues: RecordIssue[] } {
  const known: [string, unknown][] = [];
  const extras: [string, unknown][] = [];
  for (const key of Object.keys(raw)) {
    (knownKeys.has(key) ? known : extras).push([key, raw[key]]);
  }
  const current = raw['attributes'];
  const attributes = isPlainObject(current) ? current : {};
  const issues: RecordIssue[] = [];
  if (Object.hasOwn(raw, FORBIDDEN_KEY)) {
    issues.push(describeIssue(formatIssuePath([FORBIDDEN_KEY]), 'is not allowed as a field name'));
  }
  if (Object.hasOwn(attributes, FORBIDDEN_KEY)) {
    issues.push(describeIssue(formatIssuePath(['attributes', FORBIDDEN_KEY]), 'is not allowed as a field name'));
  }
  if (extras.length === 0 || (current !== undefined && !isPlainObject(current))) return { normalized: raw, issues };
  for (const [key] of extras) {
    if (Object.hasOwn(attributes, key)) {
      issues.push(describeIssue(formatIssuePath(['attributes', key]), `exists, so the unknown top-level field "${key}" cannot be moved into attributes`));
    }
  }
  const merged = Object.fromEntries([...Object.entries(attributes), ...extras]);
  return { normalized: Object.fromEntries([...known, ['attributes', merged]]), issues };
}

function reportMissingAsRequired(issue: z.core.$ZodRawIssue): string | undefined {
  return issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;
}

/**
 * The record schemas compiled by zod (`z.compile`): a generated parser answers a valid record without zod's per-field
 * dispatch, and hands any other to zod's runtime parser, so the issues of a rejected record are zod's own.
 */
const COMPILED_SCHEMAS = {
  'call-logs': z.compile(RECORD_SCHEMAS['call-logs']),
  chats: z.compile(RECORD_SCHEMAS.chats),
  contacts: z.compile(RECORD_SCHEMAS.contacts),
} satisfies Record<RecordType, z.ZodType>;

function parseWithSchema<T extends RecordType>(schemas: typeof RECORD_SCHEMAS, type: T, raw: unknown): ParseRecordResult<RecordByType[T]> {
  if (!isPlainObject(raw)) {
    return { ok: false, issues: [describeIssue('(record)', 'must be a JSON object')] };
  }
  const { normalized, issues } = moveExtrasIntoAttributes(raw, KNOWN_KEYS[type]);
  if (issues.length > 0) return { ok: false, issues };
  const result = schemas[type].safeParse(normalized, { error: reportMissingAsRequired });
  if (!result.success) return { ok: false, issues: toRecordIssues(result.error.issues) };
  return { ok: true, record: result.data as RecordByType[T] };
}

/**
 * Validates a raw record against the canonical v1 schema of `type`.
 *
 * Unknown top-level fields are moved into `attributes`, never dropped. Unknown fields inside nested objects
 * (an agent, a message) are issues: the canonical shape is strict below the top level. Every issue names the
 * field it is about, in `path` (`messages[3].senderId`) and at the start of `message`.
 *
 * The answer is always {@link parseRecordWithSchema}'s, only faster: a record already in the canonical shape (what the
 * demo source and the encoder write) is handed back as it is, the same object, not a copy ({@link isCanonicalRecord});
 * any other goes through the same schemas compiled by zod, which answer a new object.
 *
 * @example
 * const result = parseRecord('call-logs', JSON.parse(line));
 * if (result.ok) store(result.record);
 * else reject(line, result.issues.map((issue) => issue.message).join('; '));
 */
export function parseRecord<T extends RecordType>(type: T, raw: unknown): ParseRecordResult<RecordByType[T]> {
  if (isCanonicalRecord(type, raw)) return { ok: true, record: raw as RecordByType[T] };
  return parseWithSchema(COMPILED_SCHEMAS, type, raw);
}

/**
 * {@link parseRecord} by zod's runtime parser alone: the reference its faster paths are held to (in the tests), and the
 * answer to compare with when one is in doubt.
 *
 * @example
 * expect(parseRecord('chats', raw)).toEqual(parseRecordWithSchema('chats', raw));
 */
export function parseRecordWithSchema<T extends RecordType>(type: T, raw: unknown): ParseRecordResult<RecordByType[T]> {
  return parseWithSchema(RECORD_SCHEMAS, type, raw);
}
