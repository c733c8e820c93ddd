import type { AuditEvent } from '../audit/audit-entry.js';
import { describeHostKey } from '../delivery/host-key-pin.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import type { RetentionSettings } from './retention-settings.js';
import type { RetentionSecretField } from './secret-context.js';

/** What happened to the stored archive MongoDB URI at a save, as the audit log records it (never the URI). */
export type ArchiveUriChange = 'replaced' | 'removed' | 'kept' | 'not set';

/** What a save changed that the settings themselves do not show: which secrets were typed anew, and the archive URI. */
export interface RetentionSettingsChanges {
  /** The secret fields given a new value, in the order of `RETENTION_SECRET_FIELDS`. */
  secretsReplaced: RetentionSecretField[];
  archiveMongoUri: ArchiveUriChange;
}

/**
 * The archive retention for the audit log: `call-logs=365,chats=forever,contacts=forever`.
 *
 * @example
 * auditArchiveRetention(undefined); // 'call-logs=forever,chats=forever,contacts=forever'
 */
function auditArchiveRetention(days: Partial<Record<RecordType, number>> | undefined): string {
  return RECORD_TYPES.map((type) => `${type}=${days?.[type] ?? 'forever'}`).join(',');
}

/**
 * The details of `settings.changed`: the saved version and what it configures (mode, types, schedule, source kind,
 * where drops go, the pinned host keys, archive retention), which secrets were replaced and what happened to the
 * archive URI, and whether the tenant's job scheduler is now `scheduled` or `removed`. Never a secret, sealed or not,
 * nor the archive URI.
 *
 * @example
 * settingsChangedDetails(saved, { secretsReplaced: ['target.password'], archiveMongoUri: 'not set' });
 * // { version: 1, mode: 'offline', …, secretsReplaced: 'target.password', archiveMongoUri: 'not set', schedule: 'scheduled' }
 */
export function settingsChangedDetails(
  saved: { version: number; value: RetentionSettings },
  changes: RetentionSettingsChanges,
): NonNullable<AuditEvent['details']> {
  const { value } = saved;
  const sftp = value.target.kind === 'sftp' ? value.target : undefined;
  return {
    version: saved.version,
    mode: value.mode,
    dataTypes: value.dataTypes.join(','),
    cron: value.schedule.cron,
    timezone: value.schedule.timezone,
    paused: value.schedule.paused,
    schedule: value.schedule.paused ? 'removed' : 'scheduled',
    source: value.source.kind,
    target:
      value.target.kind === 'sftp'
        ? `sftp://${value.target.username}@${value.target.host}:${value.target.port}${value.target.root}`
        : `local:${value.target.directory}`,
    hostKeyFingerprint: sftp?.hostKeyFingerprint ?? null,
    hostKeyType: sftp?.hostKeyType ?? null,
    secondHostKey: sftp?.secondHostKey === undefined ? null : describeHostKey(sftp.secondHostKey),
    secretsReplaced: changes.secretsReplaced.join(','),
    archiveRetention: auditArchiveRetention(value.archiveRetentionDays),
    archiveMongoUri: changes.archiveMongoUri,
  };
}
