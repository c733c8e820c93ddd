import { RECORD_TYPES } from '../../records/record-type.js';
import { SETTINGS_INVALID, type SettingsProblem } from '../../tenants/retention-settings-service.js';
import { ARCHIVE_URI_FIELD, RECORD_TYPE_LABELS, archiveDaysField } from './retention-archive-form.js';
import { HOST_KEY_FIELDS } from './host-key-pin-form.js';

/** A control of the Retention settings form: its element id, its label, and what the label adds in parentheses. */
export interface RetentionFormField {
  id: string;
  label: string;
  detail?: string;
}

/**
 * The controls of the Retention settings form by field (the dotted path in the settings), as the page labels them:
 * the view prints these labels, and every refusal names its field by the same words. A whole object's field
 * (`source`, `target`) points at its kind's select.
 */
export const RETENTION_FORM_FIELDS: Readonly<Record<string, RetentionFormField>> = {
  settings: { id: 'retention-settings', label: 'Retention settings' },
  mode: { id: 'mode', label: 'Mode' },
  dataTypes: { id: 'data-types', label: 'Data types' },
  schedule: { id: 'schedule-cron', label: 'Schedule' },
  'schedule.cron': { id: 'schedule-cron', label: 'Cron expression', detail: 'minute hour day month weekday' },
  'schedule.timezone': { id: 'schedule-timezone', label: 'Time zone', detail: 'IANA name, e.g. Europe/Berlin' },
  'schedule.paused': { id: 'schedule-paused', label: 'Paused', detail: 'no scheduled runs' },
  'schedule.pauseAfterFailures': { id: 'schedule-pause-after', label: 'Pause the schedule after this many failed runs in a row', detail: '0: never' },
  source: { id: 'source-kind', label: 'Source' },
  'source.kind': { id: 'source-kind', label: 'Where records come from' },
  'source.seed': { id: 'source-seed', label: 'Seed' },
  'source.recordsPerHour': { id: 'source-rph', label: 'Records per hour and type', detail: 'empty: a realistic mix' },
  'source.invalidShare': { id: 'source-invalid', label: 'Share of broken records', detail: '0 to 1' },
  'source.baseUrl': { id: 'source-url', label: 'Base URL' },
  'source.token': { id: 'source-token', label: 'API token' },
  'source.pageSize': { id: 'source-page', label: 'Page size' },
  target: { id: 'target-kind', label: 'Target' },
  'target.kind': { id: 'target-kind', label: 'Where drops are delivered' },
  'target.host': { id: 'target-host', label: 'SFTP host' },
  'target.port': { id: 'target-port', label: 'Port' },
  'target.username': { id: 'target-username', label: 'User name' },
  'target.password': { id: 'target-password', label: 'Password' },
  'target.privateKey': { id: 'target-private-key', label: 'Private key', detail: 'OpenSSH format' },
  'target.passphrase': { id: 'target-passphrase', label: 'Passphrase of the private key' },
  [HOST_KEY_FIELDS.fingerprint]: { id: 'target-fingerprint', label: 'Host-key fingerprint', detail: 'pinned; the worker refuses any other key' },
  [HOST_KEY_FIELDS.type]: { id: 'target-host-key-type', label: 'Host-key type' },
  'target.secondHostKey': { id: 'target-second-fingerprint', label: 'Second host key' },
  [HOST_KEY_FIELDS.secondFingerprint]: { id: 'target-second-fingerprint', label: 'Second host-key fingerprint', detail: 'during a key rotation' },
  [HOST_KEY_FIELDS.secondType]: { id: 'target-second-host-key-type', label: 'Type of the second host key' },
  'target.root': { id: 'target-root', label: 'Root directory on the server' },
  'target.directory': { id: 'target-directory', label: 'Local directory', detail: 'absolute path' },
  files: { id: 'files-format', label: 'Files' },
  'files.format': { id: 'files-format', label: 'Format' },
  'files.gzip': { id: 'files-gzip', label: 'Compress with gzip' },
  'files.maxRecords': { id: 'files-max-records', label: 'At most this many records per file' },
  'files.maxBytes': { id: 'files-max-bytes', label: 'At most this many bytes per file', detail: 'uncompressed' },
  archiveRetentionDays: { id: `archive-days-${RECORD_TYPES[0]}`, label: 'Keep in the archive' },
  ...Object.fromEntries(
    RECORD_TYPES.map((type) => [
      archiveDaysField(type),
      { id: `archive-days-${type}`, label: `Days to keep ${RECORD_TYPE_LABELS[type].toLowerCase()}`, detail: 'empty: forever' },
    ]),
  ),
  [ARCHIVE_URI_FIELD]: { id: 'archive-mongo-uri', label: 'Archive MongoDB URI', detail: 'mongodb:// or mongodb+srv://' },
};

/** The control of `field`, or of its nearest parent that has one (the whole form at last). */
export function retentionFormField(field: string): RetentionFormField {
  for (let path = field; path !== ''; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') {
    const known = RETENTION_FORM_FIELDS[path];
    if (known !== undefined) return known;
  }
  return { id: 'retention-settings', label: field };
}

/** One line of the summary above the form: a link to the control, its label, and what is wrong. */
export interface FieldProblemLine {
  href: string;
  label: string;
  message: string;
}

/**
 * The problems of a refused form as the page shows them: next to each control its label and what is wrong with the
 * value (a refused destination with its error code, printed there only), and one line per problem for the summary
 * above the form, linked to the control.
 *
 * @example
 * presentFieldProblems([{ field: 'target.port', code: 'ERR_SETTINGS_INVALID', message: '"70000" is not accepted; …' }]);
 * // { fieldErrors: { 'target.port': ['Port: "70000" is not accepted; …'] },
 * //   summary: [{ href: '#target-port', label: 'Port', message: '"70000" is not accepted; …' }] }
 */
export function presentFieldProblems(problems: readonly SettingsProblem[]): { fieldErrors: Record<string, string[]>; summary: FieldProblemLine[] } {
  const fieldErrors: Record<string, string[]> = {};
  const summary: FieldProblemLine[] = [];
  for (const { field, code, message } of problems) {
    const { id, label } = retentionFormField(field);
    (fieldErrors[field] ??= []).push(`${label}: ${message}${code === SETTINGS_INVALID ? '' : ` (${code})`}`);
    summary.push({ href: `#${id}`, label, message });
  }
  return { fieldErrors, summary };
}

/**
 * Field errors as one code's problems (`field → messages`, as the host-key pins' reader gives them).
 *
 * @example
 * problemsOfFieldErrors({ 'target.hostKeyType': ['…'] }); // [{ field: 'target.hostKeyType', code: 'ERR_SETTINGS_INVALID', message: '…' }]
 */
export function problemsOfFieldErrors(fieldErrors: Readonly<Record<string, readonly string[]>>): SettingsProblem[] {
  return Object.entries(fieldErrors).flatMap(([field, messages]) => messages.map((message) => ({ field, code: SETTINGS_INVALID, message })));
}
