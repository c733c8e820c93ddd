import type { z } from 'zod';
import { HOST_KEY_TYPES } from '../delivery/host-key-pin.js';
import { RECORD_TYPES } from '../records/record-type.js';
import { acceptsWholeNumber, describeRefusedValue } from '../validation/refused-value.js';
import { isRetentionSecretField } from './secret-context.js';

/** The longest archive retention the settings accept, in days (100 years). */
export const MAX_ARCHIVE_RETENTION_DAYS = 36_500;

/** The whole-number settings and the ranges they accept (the schema and its messages both read them here). */
export const SETTINGS_NUMBER_RANGES = {
  'schedule.pauseAfterFailures': { min: 0, max: 50 },
  'source.seed': { min: 0, max: 2 ** 31 - 1 },
  'source.recordsPerHour': { min: 1, max: 100_000 },
  'source.pageSize': { min: 1, max: 5000 },
  'target.port': { min: 1, max: 65_535 },
  'files.maxRecords': { min: 1, max: 10_000_000 },
  'files.maxBytes': { min: 1024, max: 4 * 1024 ** 3 },
  archiveRetentionDays: { min: 1, max: MAX_ARCHIVE_RETENTION_DAYS },
} as const satisfies Record<string, { min: number; max: number }>;

const range = (field: keyof typeof SETTINGS_NUMBER_RANGES): string => acceptsWholeNumber(SETTINGS_NUMBER_RANGES[field].min, SETTINGS_NUMBER_RANGES[field].max);

const HOST_KEY_TYPE_RULE = `choose one of ${HOST_KEY_TYPES.join(', ')}, or none for any type the server has`;
const FINGERPRINT_RULE = 'enter the SHA-256 fingerprint of the server\'s host key: "SHA256:" and 43 base64 characters, as ssh-keygen -l prints it';

/**
 * What each setting accepts, by its dotted path (which is also the portal's form field), in words for people: the
 * second half of every refusal ({@link describeSettingsIssue}). A path not listed takes its nearest listed parent's.
 */
export const RETENTION_SETTING_RULES: Readonly<Record<string, string>> = {
  settings: 'give the retention settings: mode, dataTypes, schedule, source, target and, optionally, files',
  mode: 'choose offline (files on your SFTP server only) or online (also browsable in the portal)',
  dataTypes: `choose one or more of ${RECORD_TYPES.join(', ')}, each once`,
  schedule: 'give a schedule with a cron expression',
  'schedule.cron': 'enter five fields separated by spaces (minute hour day month weekday), such as "0 2 * * *" for 02:00 every day',
  'schedule.timezone': 'enter an IANA time zone name such as Europe/Berlin or UTC',
  'schedule.paused': 'tick the box to pause the schedule, or leave it empty',
  'schedule.pauseAfterFailures': `${range('schedule.pauseAfterFailures')} (0: never pause)`,
  source: 'choose where records come from: demo (the demo generator) or http (the export API)',
  'source.kind': 'choose demo (the demo generator) or http (the export API)',
  'source.seed': range('source.seed'),
  'source.recordsPerHour': `${range('source.recordsPerHour')}, or leave it empty for a realistic mix`,
  'source.invalidShare': 'enter a number from 0 to 1, such as 0.05 for one record in twenty',
  'source.baseUrl': 'enter the address of the export API, starting with https:// or http://, such as https://export.example.com/api',
  'source.token': 'type the API token of the export API',
  'source.pageSize': range('source.pageSize'),
  target: 'choose where drops are delivered: sftp (an SFTP server) or local (a directory of the worker)',
  'target.kind': 'choose sftp (an SFTP server) or local (a directory of the worker)',
  'target.host': 'enter a host name such as sftp.example.com, or an IP address',
  'target.port': range('target.port'),
  'target.username': 'enter a user name of at most 128 letters, digits, ".", "_" or "-"',
  'target.password': 'type the SFTP password, or a private key instead: an SFTP target needs one of them',
  'target.privateKey': 'paste a private key in OpenSSH format',
  'target.passphrase': 'type the passphrase of the private key, or leave it empty for a key without one',
  'target.hostKeyFingerprint': FINGERPRINT_RULE,
  'target.hostKeyType': HOST_KEY_TYPE_RULE,
  'target.secondHostKey': 'give the second host key as a fingerprint and, optionally, its type',
  'target.secondHostKey.fingerprint': `${FINGERPRINT_RULE}, of the server's other (new or old) key, not the first one again; or leave it empty`,
  'target.secondHostKey.type': HOST_KEY_TYPE_RULE,
  'target.root': 'enter a directory path of at most 512 letters, digits, ".", "_", "-" and "/", without ".." segments, such as /drops',
  'target.directory': 'enter an absolute directory path of the worker, starting with "/", without ".." segments',
  files: 'give the file options: format, gzip, maxRecords and maxBytes',
  'files.format': 'choose json (a JSON array) or ndjson (one record per line)',
  'files.gzip': 'tick the box to compress the files, or leave it empty',
  'files.maxRecords': range('files.maxRecords'),
  'files.maxBytes': `${range('files.maxBytes')} (1 KiB to 4 GiB)`,
  archiveMongoUri: 'enter a MongoDB connection string starting with mongodb:// or mongodb+srv://',
  archiveRetentionDays: `give days only for ${RECORD_TYPES.join(', ')}`,
  ...Object.fromEntries(
    RECORD_TYPES.map((type) => [
      `archiveRetentionDays.${type}`,
      `enter a whole number of days from ${SETTINGS_NUMBER_RANGES.archiveRetentionDays.min} to ${SETTINGS_NUMBER_RANGES.archiveRetentionDays.max}, or leave it empty to keep the records forever`,
    ]),
  ),
};

/** One refused setting: its dotted path (the portal's form field) and what is wrong with the value, in words. */
export interface SettingsIssue {
  field: string;
  message: string;
}

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined), input);

/** The rule of `field`, or of its nearest parent that has one. */
function ruleOf(field: string): string {
  for (let path = field; path !== ''; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') {
    const rule = RETENTION_SETTING_RULES[path];
    if (rule !== undefined) return rule;
  }
  return RETENTION_SETTING_RULES.settings ?? '';
}

/**
 * A zod issue of the retention settings schema in words: the setting it concerns (a bad `kind` on `source.kind`, an
 * unknown key on that key's path) and what is wrong with the value given there and what is accepted, never zod's
 * own text. Secrets are never quoted.
 *
 * @example
 * const issue = retentionSettingsSchema.safeParse(settings).error?.issues[0];
 * describeSettingsIssue(issue, settings);
 * // { field: 'target.port', message: '"70000" is not accepted; enter a whole number from 1 to 65535.' }
 */
export function describeSettingsIssue(issue: z.core.$ZodIssue, input: unknown): SettingsIssue {
  const path: PropertyKey[] = [...issue.path];
  const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  if (key !== undefined) path.push(key);
  const field = path.filter((part): part is string => typeof part === 'string').join('.') || 'settings';
  const typed = key !== undefined ? key : valueAt(input, path);
  return { field, message: describeRefusedValue(typed, ruleOf(field), { secret: isRetentionSecretField(field) }) };
}
