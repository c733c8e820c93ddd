import { z } from 'zod';

/** Tenant ids are slugs: 3 to 63 characters of `a-z`, `0-9` and `-`. */
export const TENANT_ID_PATTERN = /^[a-z0-9-]{3,63}$/;

/** E.164: `+`, a country code that does not start with 0, 8 to 15 digits in all. */
export const E164_PATTERN = /^\+[1-9]\d{7,14}$/;

/** Longest duration any seconds field accepts (30 days): a bound against garbage, not a business rule. */
export const MAX_SECONDS = 30 * 24 * 3600;

/** The schema version every v1 record carries in `schemaVersion`. */
export const SCHEMA_VERSION = 1;

export const sourceIdSchema = z.string().min(1, 'must not be empty').max(200);

export const tenantIdSchema = z.string().regex(TENANT_ID_PATTERN, 'must be 3-63 characters of a-z, 0-9 and "-"');

export const isoInstantSchema = z.iso.datetime({
  message: 'must be an ISO-8601 UTC timestamp ending in Z, e.g. 2024-05-01T12:00:00.000Z',
});

export const e164Schema = z.string().regex(E164_PATTERN, 'must be an E.164 number: "+" and 8-15 digits');

export const secondsSchema = z.number().min(0, 'must be >= 0').max(MAX_SECONDS);

export const byteCountSchema = z.number().int().min(0, 'must be >= 0').max(Number.MAX_SAFE_INTEGER);

export const nameSchema = z.string().min(1, 'must not be empty').max(200);

export const shortTextSchema = z.string().max(500);

export const uriSchema = z
  .string()
  .max(2048)
  .regex(/^[a-z][a-z0-9+.-]*:\S+$/i, 'must be an absolute URI such as https://... or s3://...');

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

export const tagsSchema = z.array(z.string().min(1, 'must not be empty').max(64)).max(50).default([]);

/** Extra fields the canonical shape does not model; `parseRecord` moves unknown top-level keys here. */
export const attributesSchema = z.record(z.string(), z.unknown()).default({});

const validTimeZones = new Set<string>();

/** True when `value` names an IANA time zone this runtime knows (`Europe/Paris`, `UTC`, `Asia/Kolkata`). */
export function isIanaTimeZone(value: string): boolean {
  if (validTimeZones.has(value)) return true;
  if (value.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    return false;
  }
  validTimeZones.add(value);
  return true;
}

/** Language tags already found well-formed, so a tag seen on every record is checked once; bounded, as tags are not a closed set. */
const validLanguageTags = new Set<string>();
const MAX_REMEMBERED_LANGUAGE_TAGS = 1000;

/** True when `value` is a well-formed BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`). */
export function isLanguageTag(value: string): boolean {
  if (validLanguageTags.has(value)) return true;
  if (value.length > 35 || !/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(value)) return false;
  try {
    if (Intl.getCanonicalLocales(value).length !== 1) return false;
  } catch {
    return false;
  }
  if (validLanguageTags.size < MAX_REMEMBERED_LANGUAGE_TAGS) validLanguageTags.add(value);
  return true;
}

export const timeZoneSchema = z.string().refine(isIanaTimeZone, 'must be an IANA time zone such as Europe/Paris');

export const languageTagSchema = z.string().refine(isLanguageTag, 'must be a BCP 47 language tag such as pt-BR');

const DIGIT_0 = 48;
const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12), exact for any year (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The two decimal digits at `at` as a number, or -1 when either is not a digit. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - DIGIT_0;
  const ones = text.charCodeAt(at + 1) - DIGIT_0;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/** The instant of `YYYY-MM-DDTHH:MM:SS.sssZ` (what `toISOString` writes) with every field in range; undefined for any other text. */
function canonicalInstantMs(iso: string): number | undefined {
  if (iso.length !== 24 || iso.charCodeAt(10) !== 84 || iso.charCodeAt(23) !== 90) return undefined;
  if (iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45 || iso.charCodeAt(13) !== 58 || iso.charCodeAt(16) !== 58 || iso.charCodeAt(19) !== 46)
    return undefined;
  const century = twoDigits(iso, 0);
  const yearOfCentury = twoDigits(iso, 2);
  const month = twoDigits(iso, 5);
  const day = twoDigits(iso, 8);
  const hour = twoDigits(iso, 11);
  const minute = twoDigits(iso, 14);
  const second = twoDigits(iso, 17);
  const centiseconds = twoDigits(iso, 20);
  const lastDigit = iso.charCodeAt(22) - DIGIT_0;
  if (century < 0 || yearOfCentury < 0 || centiseconds < 0 || lastDigit < 0 || lastDigit > 9) return undefined;
  const year = century * 100 + yearOfCentury;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return undefined;
  return daysFromCivil(year, month, day) * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + centiseconds * 10 + lastDigit;
}

/**
 * Milliseconds since the epoch of a timestamp, as `Date.parse` reads it (NaN for text that is not one). The form
 * `toISOString` writes is read without `Date.parse`, which costs several times more and runs for every timestamp of
 * every record the cross-field rules compare.
 */
export function instantMs(iso: string): number {
  return canonicalInstantMs(iso) ?? Date.parse(iso);
}

/** Fields every canonical record carries, whatever its type. */
export const recordBaseShape = {
  id: sourceIdSchema,
  tenantId: tenantIdSchema,
  createdAt: isoInstantSchema,
  updatedAt: isoInstantSchema,
  schemaVersion: z.literal(SCHEMA_VERSION, { message: `must be ${SCHEMA_VERSION}` }),
  attributes: attributesSchema,
};

/** The refinement context zod hands to `superRefine`. */
export type RefineContext = z.core.$RefinementCtx<unknown>;

/** Adds an issue when `later` lies before `earlier` (both already-valid timestamps). */
export function requireNotBefore(
  ctx: RefineContext,
  later: { path: (string | number)[]; value: string | undefined },
  earlier: { name: string; value: string | undefined },
): void {
  if (later.value === undefined || earlier.value === undefined) return;
  if (instantMs(later.value) < instantMs(earlier.value)) {
    ctx.addIssue({ code: 'custom', path: later.path, message: `must not be before ${earlier.name}` });
  }
}

/** The cross-field check shared by every record: `updatedAt >= createdAt`. */
export function checkRecordTimestamps(record: { createdAt: string; updatedAt: string }, ctx: RefineContext): void {
  requireNotBefore(ctx, { path: ['updatedAt'], value: record.updatedAt }, { name: 'createdAt', value: record.createdAt });
}
