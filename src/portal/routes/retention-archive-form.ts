import type { Request } from 'express';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import { MAX_ARCHIVE_URI_LENGTH } from '../../tenants/archive-mongo-uri.js';
import { MAX_ARCHIVE_RETENTION_DAYS, type RetentionSettings } from '../../tenants/retention-settings.js';
import { RETENTION_SETTING_RULES } from '../../tenants/retention-settings-rules.js';
import { SETTINGS_INVALID, type SettingsProblem } from '../../tenants/retention-settings-service.js';
import { describeRefusedValue } from '../../validation/refused-value.js';
import { formField, formList } from '../portal-context.js';

/** How the portal names each record type. */
export const RECORD_TYPE_LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };

/** The form field (and settings key) of the sealed archive MongoDB URI; "Remove" sends it in `clearSecrets`. */
export const ARCHIVE_URI_FIELD = 'archiveMongoUri';

/**
 * The form field of a type's archive retention, named by its path in the settings.
 *
 * @example
 * archiveDaysField('call-logs'); // 'archiveRetentionDays.call-logs'
 */
export function archiveDaysField(type: RecordType): string {
  return `archiveRetentionDays.${type}`;
}

/** What the online-archive section of the form shows. The URI itself is never part of it. */
export interface ArchiveFormState {
  /** Per type, the days as typed or stored; empty means kept forever. */
  days: Record<RecordType, string>;
  /** Whether a sealed archive URI is stored (and the form does not remove it). */
  uriSet: boolean;
}

/** The online-archive part of a submitted form, read for the retention-settings service. */
export interface ArchiveFormInput {
  /** Per type with a period, the days to keep; undefined when every type is kept forever. */
  archiveRetentionDays?: Partial<Record<RecordType, number>>;
  /** The typed URI (the service checks and seals it), `null` when "Remove" is ticked, undefined to keep the stored one. */
  archiveMongoUri: string | null | undefined;
  /** Days that are not a number of days, by form field. */
  problems: SettingsProblem[];
}

/** The section as stored settings fill it. */
export function archiveStateFromSettings(settings: RetentionSettings | undefined): ArchiveFormState {
  const stored = settings?.archiveRetentionDays ?? {};
  return {
    days: Object.fromEntries(RECORD_TYPES.map((type) => [type, stored[type] === undefined ? '' : String(stored[type])])) as Record<RecordType, string>,
    uriSet: settings?.archiveMongoUri !== undefined,
  };
}

/** The section as a submitted form fills it (typed days kept as typed, so a refused form shows them again). */
export function archiveStateFromForm(req: Request, settings: RetentionSettings | undefined): ArchiveFormState {
  return {
    days: Object.fromEntries(RECORD_TYPES.map((type) => [type, formField(req, archiveDaysField(type), 16).trim()])) as Record<RecordType, string>,
    uriSet: settings?.archiveMongoUri !== undefined && !formList(req, 'clearSecrets').includes(ARCHIVE_URI_FIELD),
  };
}

/**
 * Reads the online-archive part of a submitted form. Days must be whole numbers from 1 to 36,500 (an empty field
 * keeps the type forever). A typed URI is handed on as typed (trimmed); an empty URI field keeps the stored one unless
 * "Remove" (`clearSecrets=archiveMongoUri`) is ticked.
 *
 * @example
 * const archive = readArchiveForm(req, state.archive);
 * secrets.archiveMongoUri = archive.archiveMongoUri;
 */
export function readArchiveForm(req: Request, state: ArchiveFormState): ArchiveFormInput {
  const problems: SettingsProblem[] = [];
  const days: Partial<Record<RecordType, number>> = {};
  for (const type of RECORD_TYPES) {
    const text = state.days[type];
    if (text === '') continue;
    const value = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
    if (value >= 1 && value <= MAX_ARCHIVE_RETENTION_DAYS) days[type] = value;
    else {
      const field = archiveDaysField(type);
      problems.push({ field, code: SETTINGS_INVALID, message: describeRefusedValue(text, RETENTION_SETTING_RULES[field] ?? '') });
    }
  }
  const typed = formField(req, ARCHIVE_URI_FIELD, MAX_ARCHIVE_URI_LENGTH + 1).trim();
  const removed = formList(req, 'clearSecrets').includes(ARCHIVE_URI_FIELD);
  return {
    ...(Object.keys(days).length > 0 ? { archiveRetentionDays: days } : {}),
    archiveMongoUri: typed !== '' ? typed : removed ? null : undefined,
    problems,
  };
}

/**
 * The archive retention in words, one clause per type.
 *
 * @example
 * describeArchiveRetention({ 'call-logs': 365 }); // 'Call logs: kept 365 days; Chats: kept forever; Contacts: kept forever'
 */
export function describeArchiveRetention(days: Partial<Record<RecordType, number>> | undefined): string {
  return RECORD_TYPES.map((type) => {
    const value = days?.[type];
    return `${RECORD_TYPE_LABELS[type]}: ${value === undefined ? 'kept forever' : `kept ${value} ${value === 1 ? 'day' : 'days'}`}`;
  }).join('; ');
}
