import { HOST_KEY_TYPES } from '../delivery/host-key-pin.js';
import { CronExpressionParser } from 'cron-parser';
import { RetentionError } from '../errors.js';
import { z } from 'zod';
import { RECORD_TYPES } from '../records/record-type.js';
import { describeSettingsIssue, SETTINGS_NUMBER_RANGES } from './retention-settings-rules.js';

export { MAX_ARCHIVE_RETENTION_DAYS } from './retention-settings-rules.js';

/** A whole number in the setting's range of {@link SETTINGS_NUMBER_RANGES}. */
const wholeNumber = (setting: keyof typeof SETTINGS_NUMBER_RANGES) =>
  z.number().int().min(SETTINGS_NUMBER_RANGES[setting].min).max(SETTINGS_NUMBER_RANGES[setting].max);

/** A value sealed by `src/crypto` (`v1.<keyId>.<iv>.<ciphertext>.<tag>`); never a plaintext secret. */
export const sealedSecretSchema = z.string().regex(/^v1\.[a-z0-9-]{1,32}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/, 'a sealed secret');

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9a-fA-F:.]+\]?$/,
    'a host name or IP address',
  );

/** Most answers a {@link memoizedCheck} keeps before it starts again from empty. */
const MEMOIZED_ANSWERS = 1_000;

/**
 * A check of a string whose answer depends only on that string (and on the runtime, which does not change while the
 * process runs), remembered: building an `Intl.DateTimeFormat` or parsing a cron expression costs far more than the
 * rest of a settings parse, and the worker parses a tenant's stored settings in every job of a run.
 */
function memoizedCheck(check: (value: string) => boolean): (value: string) => boolean {
  const answers = new Map<string, boolean>();
  return (value) => {
    let answer = answers.get(value);
    if (answer === undefined) {
      answer = check(value);
      if (answers.size >= MEMOIZED_ANSWERS) answers.clear();
      answers.set(value, answer);
    }
    return answer;
  };
}

const isKnownTimeZone = memoizedCheck((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
});

const isFiveFieldCron = memoizedCheck((expr) => {
  if (expr.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(expr);
    return true;
  } catch {
    return false;
  }
});

/** An IANA time zone name the runtime knows. */
export const timeZoneSchema = z.string().min(1).max(64).refine(isKnownTimeZone, 'an IANA time zone such as Europe/Berlin or UTC');

/** A five-field cron expression (minute hour day month weekday). */
export const cronSchema = z
  .string()
  .min(9)
  .max(120)
  .refine(isFiveFieldCron, 'a five-field cron expression such as "0 2 * * *" (minute hour day month weekday)');

/** Where a tenant's records come from. */
export const sourceSettingsSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('demo'),
    /** Seed of the deterministic generator. */
    seed: wholeNumber('source.seed'),
    /** Records generated per hour and type (the generator's realistic mix when absent). */
    recordsPerHour: wholeNumber('source.recordsPerHour').optional(),
    /** Share (0 to 1) of records broken on purpose, to exercise the `rejected/` path. */
    invalidShare: z.number().min(0).max(1).default(0),
  }),
  z.object({
    kind: z.literal('http'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    token: sealedSecretSchema,
    pageSize: wholeNumber('source.pageSize').default(500),
  }),
]);

/** The SHA-256 fingerprint of an SSH host key as `ssh-keygen -l` prints it. */
export const hostKeyFingerprintSchema = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'a host-key fingerprint such as SHA256:AbC… (43 base64 characters), as ssh-keygen -l prints it')
  // Stored as ssh-keygen prints it, without the base64 padding some tools add, so that it compares with what the worker sees.
  .transform((fingerprint) => fingerprint.replace(/=$/, ''));

/** The type of a pinned SSH host key: the worker asks the server for exactly that key. */
export const hostKeyTypeSchema = z.enum(HOST_KEY_TYPES);

/** A second pinned host key (fingerprint and, when known, type), accepted beside the first during a rotation. */
export const hostKeyPinSchema = z.strictObject({ fingerprint: hostKeyFingerprintSchema, type: hostKeyTypeSchema.optional() });

const remoteRoot = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9._\-/]+$/, 'a directory path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'a path without ".." segments');

/** Where a tenant's drops are delivered. */
export const targetSettingsSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sftp'),
      host: hostname,
      port: wholeNumber('target.port').default(22),
      username: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z0-9._-]+$/, 'a user name of letters, digits, ".", "_" or "-"'),
      password: sealedSecretSchema.optional(),
      privateKey: sealedSecretSchema.optional(),
      passphrase: sealedSecretSchema.optional(),
      hostKeyFingerprint: hostKeyFingerprintSchema,
      /** The pinned key's type; without it the worker looks for the pinned key among every key type of the server. */
      hostKeyType: hostKeyTypeSchema.optional(),
      /** A second accepted key while the server's host key is being rotated. */
      secondHostKey: hostKeyPinSchema.optional(),
      root: remoteRoot.default('/'),
    })
    .refine((t) => t.password !== undefined || t.privateKey !== undefined, {
      message: 'an SFTP target needs a password or a private key',
      path: ['password'],
    })
    .refine((t) => t.secondHostKey?.fingerprint !== t.hostKeyFingerprint, {
      message: "the second host-key fingerprint is the first one again; a second pin is for the server's other (new or old) key during a rotation",
      path: ['secondHostKey', 'fingerprint'],
    }),
  z.object({
    kind: z.literal('local'),
    /** An absolute directory on the worker's machine (on-premises installs and the demo). */
    directory: z
      .string()
      .min(1)
      .max(1024)
      .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'an absolute directory path without ".." segments'),
  }),
]);

/** How records are written into files. */
export const fileSettingsSchema = z.object({
  format: z.enum(['json', 'ndjson']).default('json'),
  gzip: z.boolean().default(true),
  /** A file is closed before it would hold more records than this. */
  maxRecords: wholeNumber('files.maxRecords').default(100_000),
  /** A file is closed before its uncompressed JSON would exceed this many bytes. */
  maxBytes: wholeNumber('files.maxBytes').default(256 * 1024 ** 2),
});

/** A tenant's retention settings, as stored in the control plane. */
export const retentionSettingsSchema = z.object({
  mode: z.enum(['offline', 'online']),
  dataTypes: z
    .array(z.enum(RECORD_TYPES))
    .min(1)
    .refine((types) => new Set(types).size === types.length, 'each data type once'),
  schedule: z.object({
    cron: cronSchema,
    timezone: timeZoneSchema.default('UTC'),
    paused: z.boolean().default(false),
    /** Failed runs in a row after which the worker pauses the schedule itself; 0 never pauses it. */
    pauseAfterFailures: wholeNumber('schedule.pauseAfterFailures').default(3),
  }),
  source: sourceSettingsSchema,
  target: targetSettingsSchema,
  files: fileSettingsSchema.prefault({}),
  /** Sealed MongoDB URI of the tenant's own archive database (online mode); the shared server otherwise. */
  archiveMongoUri: sealedSecretSchema.optional(),
  /**
   * Online mode: per data type, archived records not updated for this many days are purged from the MongoDB archive
   * (never those under a legal hold; the SFTP drop is not touched). A type left out is kept forever.
   */
  archiveRetentionDays: z.partialRecord(z.enum(RECORD_TYPES), wholeNumber('archiveRetentionDays')).optional(),
});

/** Validated retention settings. */
export type RetentionSettings = z.output<typeof retentionSettingsSchema>;
/** Retention settings as accepted from a caller, before defaults. */
export type RetentionSettingsInput = z.input<typeof retentionSettingsSchema>;
export type SourceSettings = RetentionSettings['source'];
export type TargetSettings = RetentionSettings['target'];
export type FileSettings = RetentionSettings['files'];

/**
 * Validates settings from any outside source (CLI flags, the portal, a stored document), applying defaults.
 * Throws `ERR_SETTINGS_INVALID` whose message names every offending field, what is wrong with its value and what is
 * accepted ({@link describeSettingsIssue}).
 *
 * @example
 * parseRetentionSettings({ mode: 'offline', dataTypes: ['chats'], schedule: { cron: '0 2 * * *' }, source, target });
 */
export function parseRetentionSettings(input: unknown): RetentionSettings {
  const result = retentionSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const { field, message } = describeSettingsIssue(issue, input);
    return `${field}: ${message}`;
  });
  throw new RetentionError('ERR_SETTINGS_INVALID', `invalid retention settings: ${problems.join('; ')}`);
}

/**
 * The next `count` times a schedule fires after `after`, in UTC instants.
 *
 * @example
 * nextRunTimes({ cron: '0 2 * * *', timezone: 'Europe/Berlin' }, 5, new Date());
 */
export function nextRunTimes(schedule: { cron: string; timezone: string }, count: number, after: Date): Date[] {
  const expression = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: after });
  return Array.from({ length: count }, () => expression.next().toDate());
}
