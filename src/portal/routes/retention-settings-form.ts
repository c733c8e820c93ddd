import type { Request } from 'express';
import { RECORD_TYPES } from '../../records/record-type.js';
import type { VersionedSettings } from '../../store/settings-store.js';
import type { RetentionSettings } from '../../tenants/retention-settings.js';
import type { RetentionSettingsSubmission, SecretChanges } from '../../tenants/retention-settings-service.js';
import { RETENTION_SECRET_FIELDS, retentionSecretOf, type RetentionSecretField } from '../../tenants/secret-context.js';
import { formField, formList } from '../portal-context.js';
import { ARCHIVE_URI_FIELD, archiveStateFromForm, archiveStateFromSettings, readArchiveForm, type ArchiveFormState } from './retention-archive-form.js';
import { HOST_KEY_FIELDS, readHostKeyPins } from './host-key-pin-form.js';
import { problemsOfFieldErrors } from './retention-settings-fields.js';

/**
 * Secret fields of the form's source and target sections (the archive URI has its own section): a typed value
 * replaces the stored one; an empty field keeps it. Never printed back.
 */
type SecretField = Exclude<RetentionSecretField, typeof ARCHIVE_URI_FIELD>;
const SECRET_FIELDS = RETENTION_SECRET_FIELDS.map(({ field }) => field).filter((field): field is SecretField => field !== ARCHIVE_URI_FIELD);

/** Plain (non-secret) form fields, named by their path in the settings. */
const TEXT_FIELDS = [
  'mode',
  'schedule.cron',
  'schedule.timezone',
  'schedule.pauseAfterFailures',
  'source.kind',
  'source.seed',
  'source.recordsPerHour',
  'source.invalidShare',
  'source.baseUrl',
  'source.pageSize',
  'target.kind',
  'target.host',
  'target.port',
  'target.username',
  HOST_KEY_FIELDS.fingerprint,
  HOST_KEY_FIELDS.type,
  HOST_KEY_FIELDS.secondFingerprint,
  HOST_KEY_FIELDS.secondType,
  'target.root',
  'target.directory',
  'files.format',
  'files.maxRecords',
  'files.maxBytes',
] as const;
const CHECKBOXES = ['schedule.paused', 'files.gzip'] as const;
const NUMBER = /^-?\d+(\.\d+)?$/;

/** What the form shows: plain values as typed, checkboxes, and for secrets only whether one is stored. */
export interface FormState {
  values: Record<string, string>;
  checked: Record<string, boolean>;
  dataTypes: string[];
  secretsSet: Record<SecretField, boolean>;
  /** The online-archive section: days per type and whether an archive URI is stored. */
  archive: ArchiveFormState;
  version: string;
}

const get = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), value);

/** The form as stored settings fill it (a fresh tenant's defaults when there are none). */
export function stateFromSettings(stored: VersionedSettings<RetentionSettings> | undefined): FormState {
  const value = stored?.value;
  const values: Record<string, string> = {};
  for (const field of TEXT_FIELDS) {
    const v = get(value, field);
    values[field] = v === undefined || v === null ? '' : String(v);
  }
  if (value === undefined)
    Object.assign(values, {
      mode: 'offline',
      'schedule.cron': '0 2 * * *',
      'schedule.timezone': 'UTC',
      'schedule.pauseAfterFailures': '3',
      'source.kind': 'demo',
      'source.seed': '1',
      'target.kind': 'sftp',
      'target.port': '22',
      'target.root': '/',
      'files.format': 'json',
    });
  return {
    values,
    checked: { 'schedule.paused': value?.schedule.paused ?? false, 'files.gzip': value?.files.gzip ?? true },
    dataTypes: value?.dataTypes ?? [...RECORD_TYPES],
    secretsSet: Object.fromEntries(SECRET_FIELDS.map((field) => [field, retentionSecretOf(value, field) !== undefined])) as Record<SecretField, boolean>,
    archive: archiveStateFromSettings(value),
    version: stored === undefined ? '' : String(stored.version),
  };
}

/** The form as it was submitted, to show again (secrets only as "set" when stored and not removed). */
export function stateFromForm(req: Request, stored: VersionedSettings<RetentionSettings> | undefined): FormState {
  const values = Object.fromEntries(TEXT_FIELDS.map((field) => [field, formField(req, field, 1024).trim()]));
  const cleared = formList(req, 'clearSecrets');
  return {
    values,
    checked: Object.fromEntries(CHECKBOXES.map((field) => [field, formField(req, field, 8) === 'on'])),
    dataTypes: formList(req, 'dataTypes').map((type) => type.slice(0, 40)),
    secretsSet: Object.fromEntries(
      SECRET_FIELDS.map((field) => [field, !cleared.includes(field) && retentionSecretOf(stored?.value, field) !== undefined]),
    ) as Record<SecretField, boolean>,
    archive: archiveStateFromForm(req, stored?.value),
    version: formField(req, 'version', 12),
  };
}

/** A submitted form, read for the retention-settings service. */
export interface RetentionForm {
  submission: RetentionSettingsSubmission;
  /** The version the form was opened at; undefined when it names none. */
  expectedVersion: number | undefined;
  /** Whether a secret was typed (a refused form asks for it again: secrets are never shown back). */
  typedSecrets: boolean;
}

/**
 * Reads the form for the retention-settings service: numbers where a number is typed, the fields of the chosen source
 * and target kind only, secrets as typed (a private key with the browser's CRLF line ends made LF) or removed, the
 * host-key pins and the online-archive section; what the form itself cannot read goes into the submission's problems.
 *
 * @example
 * const form = readRetentionForm(req, stateFromForm(req, stored));
 * await service.save(tenantId, form.submission, actor, { expectedVersion: form.expectedVersion });
 */
export function readRetentionForm(req: Request, state: FormState): RetentionForm {
  const v = state.values;
  const num = (field: string): unknown => {
    const text = v[field] ?? '';
    if (text === '') return undefined;
    return NUMBER.test(text) ? Number(text) : text;
  };
  const cleared = formList(req, 'clearSecrets');
  const secrets: SecretChanges = {};
  const readSecret = (field: SecretField) => {
    const typed = formField(req, field, 16_384);
    if (typed !== '') secrets[field] = field === 'target.privateKey' ? typed.replace(/\r\n/g, '\n') : typed;
    else if (cleared.includes(field)) secrets[field] = null;
  };
  const defined = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== ''));

  const sourceKind = v['source.kind'];
  const targetKind = v['target.kind'];
  const kindHasSecrets = { source: sourceKind === 'http', target: targetKind !== 'local' };
  for (const field of SECRET_FIELDS) if (kindHasSecrets[field.startsWith('source.') ? 'source' : 'target']) readSecret(field);
  const source =
    sourceKind === 'http'
      ? defined({ kind: 'http', baseUrl: v['source.baseUrl'], pageSize: num('source.pageSize') })
      : defined({ kind: sourceKind, seed: num('source.seed'), recordsPerHour: num('source.recordsPerHour'), invalidShare: num('source.invalidShare') });
  const pins = readHostKeyPins(v);
  const pinProblems = targetKind === 'local' ? [] : problemsOfFieldErrors(pins.fieldErrors);
  const target =
    targetKind === 'local'
      ? defined({ kind: 'local', directory: v['target.directory'] })
      : defined({
          kind: targetKind,
          host: v['target.host'],
          port: num('target.port'),
          username: v['target.username'],
          hostKeyFingerprint: pins.first?.fingerprint,
          hostKeyType: pins.first?.type,
          secondHostKey: pins.second,
          root: v['target.root'],
        });
  const archive = readArchiveForm(req, state.archive);
  if (archive.archiveMongoUri !== undefined) secrets.archiveMongoUri = archive.archiveMongoUri;
  const settings = {
    mode: v.mode,
    dataTypes: state.dataTypes,
    schedule: defined({
      cron: v['schedule.cron'],
      timezone: v['schedule.timezone'],
      paused: state.checked['schedule.paused'] === true,
      pauseAfterFailures: num('schedule.pauseAfterFailures'),
    }),
    source,
    target,
    files: defined({
      format: v['files.format'],
      gzip: state.checked['files.gzip'] === true,
      maxRecords: num('files.maxRecords'),
      maxBytes: num('files.maxBytes'),
    }),
    ...(archive.archiveRetentionDays !== undefined ? { archiveRetentionDays: archive.archiveRetentionDays } : {}),
  };
  return {
    submission: { settings, secrets, problems: [...archive.problems, ...pinProblems] },
    expectedVersion: /^\d{1,12}$/.test(state.version) ? Number(state.version) : undefined,
    typedSecrets: Object.values(secrets).some((value) => typeof value === 'string'),
  };
}
