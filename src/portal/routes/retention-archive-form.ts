import type { Request } from 'express';
import { MongoClient } from 'mongodb';
import type { Keyring } from '../../crypto/keyring.js';
import { sealSecret } from '../../crypto/secret-box.js';
import type { RebuildStatus } from '../../queue/import-queues.js';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import type { RetentionSettings } from '../../tenants/retention-settings.js';
import { secretContext } from '../../tenants/secret-context.js';
import { formField, formList } from '../portal-context.js';

/** How the portal names each record type. */
export const RECORD_TYPE_LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };

/** The form field (and settings key) of the sealed archive MongoDB URI; "Remove" sends it in `clearSecrets`. */
export const ARCHIVE_URI_FIELD = 'archiveMongoUri';

/** The longest archive retention the settings accept, in days (100 years). */
export const MAX_ARCHIVE_RETENTION_DAYS = 36_500;

const DAYS_MESSAGE = `a whole number of days from 1 to ${MAX_ARCHIVE_RETENTION_DAYS}, or empty to keep the records forever`;
const MAX_URI_LENGTH = 4096;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;
const DATABASE = /^[A-Za-z0-9_-]{1,63}$/;
const USERINFO_RESERVED = /[:/?#[\]@]/;

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

/** What happened to the stored archive URI, as the audit log records it (never the URI). */
export type ArchiveUriChange = 'replaced' | 'removed' | 'kept' | 'not set';

/** The online-archive part of a submitted form, validated; the URI sealed when one was typed. */
export interface ArchiveFormInput {
  /** Per type with a period, the days to keep; undefined when every type is kept forever. */
  archiveRetentionDays?: Partial<Record<RecordType, number>>;
  /** The sealed URI to store: the typed one, else the stored one unless removed. */
  archiveMongoUri?: string;
  uriChange: ArchiveUriChange;
  /** Problems by form field; nothing may be saved while there is one. */
  fieldErrors: Record<string, string[]>;
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
 * Why `uri` cannot be a tenant's archive MongoDB URI, or `undefined` when it can: it must be a `mongodb://` or
 * `mongodb+srv://` connection string with at least one host (exactly one, without a port, for `+srv`), reserved
 * characters of the user name and password percent-encoded, a database name the archive can use (or none), and
 * options the MongoDB driver accepts. The answer never
 * quotes the URI, which may hold a password. Nothing is contacted.
 *
 * @example
 * archiveUriProblem('mongodb://archive.example.com:27017/acme'); // undefined
 * archiveUriProblem('https://example.com'); // 'a MongoDB connection string starting with mongodb:// or mongodb+srv://'
 */
export function archiveUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_URI_LENGTH) return `a MongoDB connection string of at most ${MAX_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'a MongoDB connection string without spaces or line breaks';
  const scheme = /^mongodb(\+srv)?:\/\//.exec(uri);
  if (scheme === null) return 'a MongoDB connection string starting with mongodb:// or mongodb+srv://';
  const parts = /^(?:([^:@]*)(?::([^@]*))?@)?([^/?@]*)(.*)$/.exec(uri.slice(scheme[0].length));
  const [, username = '', password = '', hostList = '', rest = ''] = parts ?? [];
  if (USERINFO_RESERVED.test(username) || USERINFO_RESERVED.test(password) || rest.startsWith('@')) {
    return 'percent-encode the characters : / ? # [ ] @ in the user name and password (for example @ as %40)';
  }
  if (hostList === '') return 'a connection string that names the server, such as mongodb://archive.example.com:27017/retention';
  const hosts = hostList.split(',');
  for (const host of hosts) {
    const match = HOST.exec(host);
    if (match === null) return 'host names of letters, digits, ".", "-" and "_", each with an optional port, separated by commas';
    const port = match[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return 'ports from 1 to 65535';
  }
  if (scheme[1] !== undefined && (hosts.length !== 1 || hosts[0]?.includes(':') === true)) {
    return 'a mongodb+srv:// connection string names exactly one host, without a port';
  }
  const database = /^\/([^?]*)/.exec(rest)?.[1] ?? '';
  if (database !== '' && !DATABASE.test(database)) {
    return 'a database name of letters, digits, "_" and "-" (at most 63) after the host, or none for the default archive database';
  }
  try {
    new MongoClient(uri);
  } catch {
    return 'a connection string the MongoDB driver accepts: check the database name and the options after "?"';
  }
  const options = new URLSearchParams(/\?(.*)$/.exec(rest)?.[1] ?? '');
  for (const [name, value] of options) {
    const key = name.toLowerCase();
    if (OPERATOR_FILE_OPTIONS.has(key)) return `no ${name} option: it names a file on the worker's machine; a tenant's archive may use TLS with certificates a public authority signed`;
    if (key === 'authmechanism' && OPERATOR_IDENTITY_MECHANISMS.has(value.toUpperCase())) return `no authMechanism=${value}: it would sign in with the operator's own cloud or Kerberos identity; use a user name and password`;
    if (key === 'authmechanismproperties' && /ENVIRONMENT\s*:/i.test(value)) return "no ENVIRONMENT in authMechanismProperties: it would send the operator's cloud identity to the tenant's server";
  }
  return undefined;
}

/** URI options that make the driver read files of the machine it runs on (the operator's, not the tenant's). */
const OPERATOR_FILE_OPTIONS = new Set(['tlscafile', 'tlscertificatekeyfile', 'tlscertificatefile', 'tlscrlfile', 'sslca', 'sslcert', 'sslkey', 'sslcrl', 'sslpass', 'tlscertificatekeyfilepassword']);

/** Authentication mechanisms that use the identity of the machine the driver runs on. */
const OPERATOR_IDENTITY_MECHANISMS = new Set(['MONGODB-AWS', 'MONGODB-OIDC', 'GSSAPI', 'MONGODB-X509']);

/**
 * Reads and validates the online-archive part of a submitted form. Days must be whole numbers from 1 to 36,500 (an
 * empty field keeps the type forever). A typed URI must pass {@link archiveUriProblem}; it is then sealed with the
 * keyring for this tenant and field, and replaces the stored one. An empty URI field keeps the stored one unless
 * "Remove" (`clearSecrets=archiveMongoUri`) is ticked.
 *
 * @example
 * const archive = readArchiveForm(req, state.archive, 'acme', stored?.value, keyring);
 * if (Object.keys(archive.fieldErrors).length === 0) input.archiveRetentionDays = archive.archiveRetentionDays;
 */
export function readArchiveForm(req: Request, state: ArchiveFormState, tenantId: string, settings: RetentionSettings | undefined, keyring: Keyring): ArchiveFormInput {
  const fieldErrors: Record<string, string[]> = {};
  const days: Partial<Record<RecordType, number>> = {};
  for (const type of RECORD_TYPES) {
    const text = state.days[type];
    if (text === '') continue;
    const value = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
    if (value >= 1 && value <= MAX_ARCHIVE_RETENTION_DAYS) days[type] = value;
    else fieldErrors[archiveDaysField(type)] = [DAYS_MESSAGE];
  }

  const typed = formField(req, ARCHIVE_URI_FIELD, MAX_URI_LENGTH + 1).trim();
  const stored = settings?.archiveMongoUri;
  let archiveMongoUri: string | undefined;
  let uriChange: ArchiveUriChange;
  if (typed !== '') {
    const problem = archiveUriProblem(typed);
    if (problem !== undefined) fieldErrors[ARCHIVE_URI_FIELD] = [problem];
    else archiveMongoUri = sealSecret(keyring, typed, secretContext(tenantId, 'archiveMongoUri'));
    uriChange = 'replaced';
  } else if (stored === undefined) {
    uriChange = 'not set';
  } else if (formList(req, 'clearSecrets').includes(ARCHIVE_URI_FIELD)) {
    uriChange = 'removed';
  } else {
    archiveMongoUri = stored;
    uriChange = 'kept';
  }

  return {
    ...(Object.keys(days).length > 0 ? { archiveRetentionDays: days } : {}),
    ...(archiveMongoUri !== undefined ? { archiveMongoUri } : {}),
    uriChange,
    fieldErrors,
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

/**
 * The archive retention for the audit log: `call-logs=365,chats=forever,contacts=forever`.
 *
 * @example
 * auditArchiveRetention(undefined); // 'call-logs=forever,chats=forever,contacts=forever'
 */
export function auditArchiveRetention(days: Partial<Record<RecordType, number>> | undefined): string {
  return RECORD_TYPES.map((type) => `${type}=${days?.[type] ?? 'forever'}`).join(',');
}

/** Why a rebuild was asked for, as `archive.rebuild-requested` records it. */
export type RebuildTrigger = 'button' | 'archive-uri-replaced' | 'archive-uri-removed';

/**
 * The rebuild a saved form calls for: one when the saved mode is online and the archive URI was replaced or removed
 * (the archive now lives in another database, which starts empty); none otherwise.
 *
 * @example
 * rebuildTriggerOf('online', 'replaced'); // 'archive-uri-replaced'
 * rebuildTriggerOf('online', 'kept'); // undefined
 */
export function rebuildTriggerOf(mode: RetentionSettings['mode'], uriChange: ArchiveUriChange): RebuildTrigger | undefined {
  if (mode !== 'online') return undefined;
  if (uriChange === 'replaced') return 'archive-uri-replaced';
  if (uriChange === 'removed') return 'archive-uri-removed';
  return undefined;
}

/** What the Online archive section says about rebuilds (times in UTC, ready to print). */
export interface RebuildView {
  /** Whether this portal can queue rebuilds (it was given the archive queues). */
  available: boolean;
  /** The state could not be read (Redis unreachable). */
  unknown: boolean;
  running?: string;
  queued?: string;
  last?: { ok: boolean; text: string };
}

const utc = (date: Date | undefined): string => (date === undefined ? 'at an unknown time' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
const manifests = (n: number): string => `${n} ${n === 1 ? 'manifest' : 'manifests'}`;

/**
 * The rebuild state in words for the Retention page.
 *
 * @example
 * describeRebuildStatus({ running: { imported: 3 } }, true).running; // 'A rebuild is running (started at an unknown time): 3 manifests loaded so far.'
 */
export function describeRebuildStatus(status: RebuildStatus | undefined, available: boolean): RebuildView {
  const view: RebuildView = { available, unknown: available && status === undefined };
  if (status === undefined) return view;
  if (status.running !== undefined) view.running = `A rebuild is running (started ${utc(status.running.startedAt)}): ${manifests(status.running.imported)} loaded so far.`;
  if (status.queued !== undefined) {
    const retry = status.queued.retry;
    view.queued =
      retry === undefined
        ? `A rebuild is queued (since ${utc(status.queued.queuedAt)})${status.running !== undefined ? ' and starts when the running one finishes' : ''}.`
        : `A rebuild is queued and tries again shortly (attempt ${retry.attempt}); the last attempt stopped: ${retry.reason}`;
  }
  const last = status.last;
  if (last !== undefined) {
    view.last =
      last.outcome === 'completed'
        ? {
            ok: last.refused === 0,
            text: `The last rebuild finished ${utc(last.finishedAt)}: ${manifests(last.imported)} loaded${last.refused > 0 ? `, ${manifests(last.refused)} refused (the audit log says why: action archive.import-failed)` : ''}.`,
          }
        : { ok: false, text: `The last rebuild failed ${utc(last.finishedAt)}: ${last.reason}` };
  }
  return view;
}
