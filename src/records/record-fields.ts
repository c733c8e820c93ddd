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

/** True when `value` is a well-formed BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`). */
export function isLanguageTag(value: string): boolean {
  if (value.length > 35 || !/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(value)) return false;
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

export const timeZoneSchema = z.string().refine(isIanaTimeZone, 'must be an IANA time zone such as Europe/Paris');

export const languageTagSchema = z.string().refine(isLanguageTag, 'must be a BCP 47 language tag such as pt-BR');

/** Milliseconds since the epoch of a timestamp the schema already validated. */
export function instantMs(iso: string): number {
  return Date.parse(iso);
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
