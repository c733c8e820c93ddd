import { maskFilterValues, PERSONAL_DATA_FILTERS } from '../../masking/mask-filter-values.js';

/** Most earlier pages a list URL remembers for its "Previous" link (older ones fall back to the first page). */
export const MAX_BACK_CURSORS = 10;

const CURSOR = /^[A-Za-z0-9_-]{1,1024}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_VALUE_LENGTH = 256;
const PAGE_KEYS = new Set(['after', 'back']);

/** Where a list page starts: the cursor of the page shown and the cursors of the pages before it (oldest first). */
export interface ListPosition {
  after: string | undefined;
  back: string[];
}

/** A list URL's query, checked: the filter for the store, the values to show in the form, and what was wrong. */
export interface ListQuery {
  /** Filter fields as the archive store takes them (it validates them once more). */
  filter: Record<string, string>;
  /** The filter as typed, for the form and the links (printed escaped). */
  values: Record<string, string>;
  position: ListPosition;
  /** Messages for the user; when not empty the store is not asked. */
  problems: string[];
}

const quoted = (text: string): string => JSON.stringify(text.slice(0, 40));

function nextDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().replace('.000Z', 'Z');
}

function validDay(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

/**
 * Reads a list page's query string: only the given filter fields and the page position (`after`, `back`), each at
 * most once, as plain text of bounded length. Empty fields are left out. `from` and `to` accept a day
 * (`YYYY-MM-DD`: `to` then includes that day) or an ISO-8601 UTC instant. Anything else becomes a problem the page
 * shows, and the store is not asked.
 *
 * @example
 * parseListQuery({ outcome: 'missed', to: '2026-05-04' }, ['outcome', 'from', 'to']);
 * // { filter: { outcome: 'missed', to: '2026-05-05T00:00:00Z' }, values: { outcome: 'missed', to: '2026-05-04' }, ... }
 */
export function parseListQuery(query: unknown, fields: readonly string[]): ListQuery {
  const result: ListQuery = { filter: {}, values: {}, position: { after: undefined, back: [] }, problems: [] };
  if (typeof query !== 'object' || query === null) return result;
  for (const [key, raw] of Object.entries(query as Record<string, unknown>)) {
    if (!fields.includes(key) && !PAGE_KEYS.has(key)) {
      result.problems.push(`There is no filter named ${quoted(key)}. Use the form below.`);
      continue;
    }
    if (typeof raw !== 'string') {
      result.problems.push(`Give the filter ${quoted(key)} once, as text.`);
      continue;
    }
    if (raw.length > (PAGE_KEYS.has(key) ? 11_500 : MAX_VALUE_LENGTH)) {
      result.problems.push(`The filter ${quoted(key)} is too long.`);
      continue;
    }
    const value = raw.trim();
    if (value === '') continue;
    if (key === 'after') {
      if (CURSOR.test(value)) result.position.after = value;
      else result.problems.push('This page link is not valid. Start again from the first page.');
    } else if (key === 'back') {
      const cursors = value.split('.');
      if (cursors.every((cursor) => CURSOR.test(cursor))) result.position.back = cursors.slice(-MAX_BACK_CURSORS);
      else result.problems.push('This page link is not valid. Start again from the first page.');
    } else {
      result.values[key] = value;
      if ((key === 'from' || key === 'to') && DAY.test(value)) {
        if (!validDay(value)) result.problems.push(`The filter ${quoted(key)} is not a calendar day.`);
        else result.filter[key] = key === 'from' ? `${value}T00:00:00Z` : nextDay(value);
      } else {
        result.filter[key] = value;
      }
    }
  }
  return result;
}

/** The URL of a list page: its path, the filter values and the page position. */
export function listHref(path: string, values: Record<string, string>, position: ListPosition): string {
  const params = new URLSearchParams(values);
  if (position.after !== undefined) params.set('after', position.after);
  if (position.back.length > 0) params.set('back', position.back.join('.'));
  const query = params.toString();
  return query === '' ? path : `${path}?${query}`;
}

/** Longest list query a record page carries back (`list=`): filters and the cursors of {@link MAX_BACK_CURSORS} pages. */
const MAX_LIST_RETURN_LENGTH = 16_000;

/**
 * The `list` parameter of the record links on a list page: the page's own query (filters and position), so the
 * record page's back link returns to exactly this page. Empty on an unfiltered first page.
 */
export function listReturnParam(values: Record<string, string>, position: ListPosition): string {
  return listHref('', values, position).replace(/^\?/, '');
}

/**
 * Where a record page's back link goes: the list at `path` with the filters and position of `raw` (the record
 * link's `list` parameter) when they are a valid query of that list, else the list's first page. The result is
 * always `path` plus a query rebuilt from checked values, never the text as given: no open redirect, no injected
 * parameter.
 *
 * @example
 * listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, 'outcome=missed&after=eyJ2…'); // '/call-logs?outcome=missed&after=eyJ2…'
 * listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, 'https://evil.example/'); // '/call-logs'
 */
export function listReturnHref(path: string, fields: readonly string[], raw: unknown): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_LIST_RETURN_LENGTH) return path;
  const given = new URLSearchParams(raw);
  const query: Record<string, string> = {};
  for (const key of new Set(given.keys())) {
    const all = given.getAll(key);
    if (all.length !== 1) return path;
    query[key] = all[0] as string;
  }
  const parsed = parseListQuery(query, fields);
  return parsed.problems.length > 0 ? path : listHref(path, parsed.values, parsed.position);
}

/** The links of a list's pager; `undefined` where there is no such page. */
export interface PagerLinks {
  first: string | undefined;
  previous: string | undefined;
  next: string | undefined;
}

/**
 * Builds a list's first, previous and next links: each carries the filter values and the page position, so every
 * page can be bookmarked. The store pages forwards only; "Previous" returns to the cursor remembered in `back`.
 *
 * @example
 * pagerLinks('/chats', { channel: 'web' }, { after: undefined, back: [] }, 'eyJ2Ijox…').next; // '/chats?channel=web&after=eyJ2Ijox…'
 */
export function pagerLinks(path: string, values: Record<string, string>, position: ListPosition, nextCursor: string | null): PagerLinks {
  const href = (after: string | undefined, back: string[]): string => listHref(path, values, { after, back });
  const onFirstPage = position.after === undefined;
  const earlier = position.back.at(-1);
  return {
    first: onFirstPage ? undefined : href(undefined, []),
    previous: onFirstPage ? undefined : href(earlier, position.back.slice(0, -1)),
    next: nextCursor === null ? undefined : href(nextCursor, onFirstPage ? [] : [...position.back, position.after as string].slice(-MAX_BACK_CURSORS)),
  };
}

/** The filter as a query string for the audit log and links (`outcome=missed&agent=a-1`). */
export function filterQueryString(values: Record<string, string>): string {
  return new URLSearchParams(values).toString().slice(0, 1000);
}

/**
 * The filter as the audit log keeps it: like {@link filterQueryString}, with searched phone numbers and email
 * addresses masked. The audit log is read by users who may lack the capability to see personal data and is shipped
 * to SIEMs, so it never holds a searched number or address in full; that a search by number happened, and by whom,
 * stays visible.
 *
 * @example
 * auditedFilterString({ number: '+4930123456712', outcome: 'missed' }); // number '+49 ••• ••• ••12', outcome kept
 */
export function auditedFilterString(values: Record<string, string>): string {
  return filterQueryString(maskFilterValues(values));
}

/** Fewest digits in one word of a chat text search that makes it a search for (part of) a number. */
const MIN_DIGITS_IN_SEARCHED_WORD = 3;

/**
 * Whether a chat text search looks for personal data that transcripts show masked: an email address (`@`) or a word
 * with at least three digits (a group of a phone number: `2345678` of `+49 171 2345678`).
 */
function searchesMaskedText(text: string | undefined): boolean {
  if (text === undefined || text === '') return false;
  if (text.includes('@') || text.includes('＠')) return true;
  return text.split(/[^\p{L}\p{N}]+/u).some((word) => (word.match(/\p{Nd}/gu)?.length ?? 0) >= MIN_DIGITS_IN_SEARCHED_WORD);
}

/**
 * Searching by phone number or email address would let a user who sees them masked confirm a full number or address
 * one character at a time (prefix search); such filters need the capability to see personal data unmasked. So does a
 * chat text search for an address or a number: transcripts show those masked, and the search would confirm them.
 *
 * @example
 * const problems = personalDataFilterProblems(query.filter, reader.unmasked);
 */
export function personalDataFilterProblems(filter: Record<string, string>, unmasked: boolean): string[] {
  if (unmasked) return [];
  const problems = PERSONAL_DATA_FILTERS.filter((field) => filter[field] !== undefined && filter[field] !== '').map(
    (field) =>
      `Searching by ${field === 'email' ? 'email address' : 'phone number'} needs the permission to see personal data unmasked; ask an administrator, or search by another field.`,
  );
  if (searchesMaskedText(filter.text)) {
    problems.push(
      'Searching chat text for numbers or email addresses needs the permission to see personal data unmasked (transcripts show them masked); search for other words.',
    );
  }
  return problems;
}
