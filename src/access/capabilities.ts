import { RECORD_TYPES, type RecordType } from '../records/record-type.js';

/**
 * What an administrator may do besides reading the data types of their scope. The owner holds all of them.
 *
 * - `export`: export the current filter's results (JSON, CSV) and download them;
 * - `manage-users`: invite, change grants, deactivate, unlock, reset 2FA; the tenant's security settings;
 * - `configure-retention`: retention mode, data types, schedule, source, SFTP target;
 * - `run-jobs`: see runs, run now, retry, backfill, pause and resume the schedule;
 * - `read-audit`: read and download the audit log;
 * - `see-unmasked-personal-data`: phone numbers and email addresses shown in full (masked otherwise).
 */
export const CAPABILITIES = ['export', 'manage-users', 'configure-retention', 'run-jobs', 'read-audit', 'see-unmasked-personal-data'] as const;

/** One of {@link CAPABILITIES}. */
export type Capability = (typeof CAPABILITIES)[number];

/** The kinds of archived data a grant can cover: every record type. */
export const DATA_SCOPES: readonly RecordType[] = RECORD_TYPES;

/** True when `value` names a capability. */
export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}
