import type { Queue } from 'bullmq';
import type { AuditActor, AuditEvent } from '../audit/audit-entry.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Keyring } from '../crypto/keyring.js';
import { hasErrorCode, RetentionError, type ErrorCode } from '../errors.js';
import { enqueueRebuild, type ImportQueues, type RebuildRequest } from '../queue/import-queues.js';
import type { RunJobData } from '../queue/job-payloads.js';
import { syncTenantSchedule } from '../queue/tenant-schedules.js';
import type { SettingsStore, VersionedSettings } from '../store/settings-store.js';
import { describeRefusedValue } from '../validation/refused-value.js';
import { archiveUriProblem } from './archive-mongo-uri.js';
import { findDestinationProblems, type DestinationPolicy } from './destination-policy.js';
import { settingsChangedDetails, type ArchiveUriChange, type RetentionSettingsChanges } from './retention-settings-audit.js';
import { describeSettingsIssue } from './retention-settings-rules.js';
import { retentionSettingsSchema, type RetentionSettings } from './retention-settings.js';
import { RETENTION_SECRET_FIELDS, openRetentionSecret, retentionSecretOf, sealRetentionSecret, type RetentionSecretField } from './secret-context.js';

/** The code of a value the retention settings do not accept. */
export const SETTINGS_INVALID: ErrorCode = 'ERR_SETTINGS_INVALID';

/** One reason a save was refused, on the settings field it concerns. */
export interface SettingsProblem {
  /** The dotted path in the settings, which is also the portal's form field (`target.host`, `archiveRetentionDays.chats`); `settings` for the whole. */
  field: string;
  /**
   * {@link SETTINGS_INVALID} for a value the settings do not accept; the destination policy's code for a destination
   * it refuses (`ERR_DESTINATION_NOT_ALLOWED`, `ERR_LOCAL_TARGET_DISABLED`, `ERR_LOCAL_TARGET_OUTSIDE_BASE`).
   */
  code: ErrorCode;
  /** What to fix. Never quotes a secret or the archive URI. */
  message: string;
}

/**
 * Per secret field, a new plain-text value (sealed by the service), or `null` to remove the stored one. A field left
 * out keeps the stored sealed value as long as its source or target keeps its kind (an SFTP password survives a save
 * of an SFTP target, not a change to a local one; the archive URI always survives).
 */
export type SecretChanges = Partial<Record<RetentionSecretField, string | null>>;

/** New retention settings, as a caller (the portal's form, the CLI's flags, the demo) submits them. */
export interface RetentionSettingsSubmission {
  /** The settings, validated by the service. What they hold at a secret field is not used: secrets come only through `secrets`. */
  settings: unknown;
  secrets?: SecretChanges;
  /**
   * Problems the caller found reading its own input (a form field it could not map, such as an unreadable host-key
   * pin): the save is refused with them and the service's own, and the service adds none of its own on their fields.
   */
  problems?: readonly SettingsProblem[];
}

/** How a save is made. */
export interface SaveRetentionOptions {
  /**
   * The version of the settings the caller read (optimistic concurrency): the save is `stale` when the stored
   * settings are at another one. Leave it out only when the caller read no settings (the tenant's first); a save
   * without it over stored settings is `stale` too. @default none
   */
  expectedVersion?: number;
  /** The address and user agent the audit events record (the portal's request). @default none */
  client?: Pick<AuditEvent, 'ip' | 'userAgent'>;
}

/** Why a rebuild of the online archive was asked for, as `archive.rebuild-requested` records it. */
export type RebuildTrigger = 'button' | 'archive-uri-replaced' | 'archive-uri-removed';

/** The rebuild a save queued because it moved the online archive to another database. */
export type RebuildAfterSave =
  | { trigger: RebuildTrigger; status: 'queued' | 'already queued'; jobId: string }
  /** This process has no archive queues: nothing was queued (the worker rebuilds an empty archive by itself). */
  | { trigger: RebuildTrigger; status: 'unavailable' }
  /** Queueing failed (Redis unreachable); the settings are saved all the same. */
  | { trigger: RebuildTrigger; status: 'failed'; error: unknown };

/** What a save did. */
export type SaveRetentionOutcome =
  | {
      status: 'saved';
      saved: VersionedSettings<RetentionSettings>;
      changes: RetentionSettingsChanges;
      /** The tenant's job scheduler now; `not synced` where the service has no runs queue. */
      schedule: 'scheduled' | 'removed' | 'not synced';
      /** Only when the save moved the online archive (see {@link rebuildTriggerOf}). */
      rebuild?: RebuildAfterSave;
    }
  /** Nothing was stored or scheduled; `reason` is the first problem's code, as the audit event records it. */
  | { status: 'refused'; reason: string; problems: SettingsProblem[] }
  /** Nothing was stored: the settings are not at `expectedVersion` (or the caller gave none over stored settings). */
  | { status: 'stale'; expectedVersion: number | undefined };

/** What the service is built from, by each process's composition root. */
export interface RetentionSettingsServiceDeps {
  settings: Pick<SettingsStore, 'getRetention' | 'putRetention'>;
  audit: Pick<AuditLog, 'append'>;
  /** The master-key ring, asked for only when a secret is sealed or opened, so a save without secrets needs no master key. */
  keyring: () => Keyring;
  /** Where the settings may point (`ALLOWED_PRIVATE_DESTINATIONS`, `LOCAL_TARGET_BASE_DIR`). */
  destinations: DestinationPolicy;
  /** The export queues' runs queue, which holds the tenants' job schedulers; asked for after a save. Absent: not synced here (the worker's reconciler syncs it). */
  runs?: () => Queue<RunJobData>;
  /** The online archive's queues; asked for when a rebuild is due. Absent: no rebuild is queued. */
  importQueues?: () => ImportQueues;
  /** The clock. @default () => new Date() */
  now?: () => Date;
}

/** Saves a tenant's retention settings, the one way every caller does. */
export interface RetentionSettingsService {
  /**
   * Validates `submission`, seals its new secrets (keeping stored ones it leaves out), checks every destination
   * against the policy (the archive URI opened), stores it over `options.expectedVersion`, audits `settings.changed`,
   * syncs the tenant's job scheduler and, when the online archive moved to another database, queues its rebuild. A
   * refusal stores and schedules nothing and is audited as `settings.change` (failure) with the refused fields.
   */
  save(tenantId: string, submission: RetentionSettingsSubmission, actor: AuditActor, options?: SaveRetentionOptions): Promise<SaveRetentionOutcome>;
  /**
   * Queues a rebuild of the tenant's online archive from its drops, audited `archive.rebuild-requested` when queued
   * (a rebuild already waiting is not queued twice). `ERR_REBUILD_UNAVAILABLE` (503) without archive queues.
   */
  requestRebuild(tenantId: string, actor: AuditActor, trigger: RebuildTrigger, options?: Pick<SaveRetentionOptions, 'client'>): Promise<RebuildRequest>;
}

/**
 * The rebuild a save calls for: one when the saved mode is online and the archive URI was replaced or removed (the
 * archive now lives in another database, which starts empty); none otherwise.
 *
 * @example
 * rebuildTriggerOf('online', 'replaced'); // 'archive-uri-replaced'
 * rebuildTriggerOf('online', 'kept'); // undefined
 */
function rebuildTriggerOf(mode: RetentionSettings['mode'], uriChange: ArchiveUriChange): RebuildTrigger | undefined {
  if (mode !== 'online') return undefined;
  if (uriChange === 'replaced') return 'archive-uri-replaced';
  if (uriChange === 'removed') return 'archive-uri-removed';
  return undefined;
}

/**
 * A refusal as one error, for callers that print it (the CLI): the first problem's code, every problem by field.
 *
 * @example
 * if (outcome.status === 'refused') throw settingsRefusalError(outcome.problems);
 * // RetentionError ERR_DESTINATION_NOT_ALLOWED 'target.host: SFTP server "127.0.0.1" is the loopback …'
 */
export function settingsRefusalError(problems: readonly SettingsProblem[]): RetentionError {
  const code = problems[0]?.code ?? SETTINGS_INVALID;
  const list = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  return new RetentionError(code, code === SETTINGS_INVALID ? `invalid retention settings: ${list}` : list);
}

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `settings` with `value` at `path` (removed when undefined), copied along the path; a missing holder stays missing. */
function withValueAt(settings: Plain, path: readonly string[], value: string | undefined): Plain {
  const [key, ...rest] = path;
  if (key === undefined) return settings;
  const copy = { ...settings };
  if (rest.length > 0) {
    const holder = copy[key];
    if (isPlain(holder)) copy[key] = withValueAt(holder, rest, value);
  } else if (value === undefined) {
    delete copy[key];
  } else {
    copy[key] = value;
  }
  return copy;
}

/** Whether the submitted settings keep the kind of the source or target that holds `field` (a top-level field has no holder). */
function keepsHolderKind(stored: RetentionSettings, submitted: Plain, field: RetentionSecretField): boolean {
  const [holder = '', key] = field.split('.');
  if (key === undefined) return true;
  const kindOf = (settings: unknown): unknown => {
    const node = isPlain(settings) ? settings[holder] : undefined;
    return isPlain(node) ? node.kind : undefined;
  };
  return kindOf(stored) === kindOf(submitted);
}

function archiveUriChangeOf(change: string | null | undefined, stored: string | undefined): ArchiveUriChange {
  if (typeof change === 'string') return 'replaced';
  if (stored === undefined) return 'not set';
  return change === null ? 'removed' : 'kept';
}

/**
 * The retention-settings service of one process (portal, CLI, demo), on the stores, queues and policy its
 * composition root hands over.
 *
 * @example
 * const retentionSettings = createRetentionSettingsService({ settings: cp.settings, audit: cp.audit, keyring: () => keyring, destinations, runs: () => queues.runs });
 * const outcome = await retentionSettings.save('acme', { settings, secrets: { 'target.password': typed } }, { type: 'user', id: user.id }, { expectedVersion: 3 });
 * if (outcome.status === 'refused') showFieldErrors(outcome.problems);
 */
export function createRetentionSettingsService(deps: RetentionSettingsServiceDeps): RetentionSettingsService {
  const now = deps.now ?? (() => new Date());
  const audit = (tenantId: string, event: AuditEvent, client: SaveRetentionOptions['client']) => deps.audit.append(tenantId, { ...event, ...client }, now());

  /** The submitted settings with their secrets in place (new ones sealed, stored ones kept), and the problems of typed secrets. */
  const withSecrets = (tenantId: string, submitted: unknown, stored: RetentionSettings | undefined, changes: SecretChanges) => {
    const problems: SettingsProblem[] = [];
    if (!isPlain(submitted)) return { settings: submitted, problems };
    let settings = submitted;
    for (const { field } of RETENTION_SECRET_FIELDS) {
      const change = changes[field];
      let value: string | undefined;
      if (typeof change === 'string') {
        const problem = field === 'archiveMongoUri' ? archiveUriProblem(change) : undefined;
        if (problem === undefined) value = sealRetentionSecret(deps.keyring(), tenantId, field, change);
        else problems.push({ field, code: SETTINGS_INVALID, message: describeRefusedValue(change, problem, { secret: true }) });
      } else if (change === undefined && stored !== undefined && keepsHolderKind(stored, submitted, field)) {
        value = retentionSecretOf(stored, field);
      }
      settings = withValueAt(settings, field.split('.'), value);
    }
    return { settings, problems };
  };

  const refuse = async (
    tenantId: string,
    problems: SettingsProblem[],
    actor: AuditActor,
    client: SaveRetentionOptions['client'],
  ): Promise<SaveRetentionOutcome> => {
    const reason = problems[0]?.code ?? SETTINGS_INVALID;
    const fields = [...new Set(problems.map((problem) => problem.field))].join(',').slice(0, 500);
    await audit(tenantId, { actor, action: 'settings.change', outcome: 'failure', target: 'retention', details: { reason, fields } }, client);
    return { status: 'refused', reason, problems };
  };

  const requestRebuild: RetentionSettingsService['requestRebuild'] = async (tenantId, actor, trigger, options = {}) => {
    const queues = deps.importQueues?.();
    if (queues === undefined) {
      throw new RetentionError(
        'ERR_REBUILD_UNAVAILABLE',
        `this process has no archive queues to queue a rebuild on: rebuild the archive with "retention rebuild ${tenantId}"`,
      );
    }
    const request = await enqueueRebuild(queues, tenantId, actor);
    if (request.queued)
      await audit(tenantId, { actor, action: 'archive.rebuild-requested', outcome: 'success', details: { trigger, job: request.jobId } }, options.client);
    return request;
  };

  const rebuildAfterSave = async (
    tenantId: string,
    trigger: RebuildTrigger,
    actor: AuditActor,
    client: SaveRetentionOptions['client'],
  ): Promise<RebuildAfterSave> => {
    if (deps.importQueues === undefined) return { trigger, status: 'unavailable' };
    try {
      const request = await requestRebuild(tenantId, actor, trigger, { client });
      return { trigger, status: request.queued ? 'queued' : 'already queued', jobId: request.jobId };
    } catch (error) {
      return { trigger, status: 'failed', error };
    }
  };

  return {
    async save(tenantId, submission, actor, options = {}) {
      const { client, expectedVersion } = options;
      const stored = (await deps.settings.getRetention(tenantId))?.value;
      const secrets = submission.secrets ?? {};
      const { settings, problems: secretProblems } = withSecrets(tenantId, submission.settings, stored, secrets);
      const problems = [...(submission.problems ?? []), ...secretProblems];
      const reported = new Set(problems.map((problem) => problem.field));
      const checked = retentionSettingsSchema.safeParse(settings);
      for (const issue of checked.error?.issues ?? []) {
        const { field, message } = describeSettingsIssue(issue, settings);
        if (!reported.has(field)) {
          reported.add(field);
          problems.push({ field, code: SETTINGS_INVALID, message });
        }
      }
      if (!checked.success || problems.length > 0) return refuse(tenantId, problems, actor, client);

      const sealedUri = checked.data.archiveMongoUri;
      const opened = sealedUri === undefined ? {} : { archiveMongoUri: openRetentionSecret(deps.keyring(), tenantId, 'archiveMongoUri', sealedUri) };
      const refused = await findDestinationProblems(deps.destinations, checked.data, opened);
      if (refused.length > 0) return refuse(tenantId, refused, actor, client);

      if (stored !== undefined && expectedVersion === undefined) return { status: 'stale', expectedVersion };
      let saved: VersionedSettings<RetentionSettings>;
      try {
        saved = await deps.settings.putRetention(tenantId, checked.data, {
          actor: actor.id,
          ...(expectedVersion !== undefined ? { expectedVersion } : {}),
          now: now(),
        });
      } catch (err) {
        if (hasErrorCode(err, 'ERR_SETTINGS_CONFLICT')) return { status: 'stale', expectedVersion };
        throw err;
      }
      const changes: RetentionSettingsChanges = {
        secretsReplaced: RETENTION_SECRET_FIELDS.map(({ field }) => field).filter(
          (field) => typeof secrets[field] === 'string' && retentionSecretOf(saved.value, field) !== undefined,
        ),
        archiveMongoUri: archiveUriChangeOf(secrets.archiveMongoUri, stored?.archiveMongoUri),
      };
      // Audited before the scheduler is synced: a change that was stored is on record even if Redis fails next.
      await audit(
        tenantId,
        { actor, action: 'settings.changed', outcome: 'success', target: 'retention', details: settingsChangedDetails(saved, changes) },
        client,
      );
      const runs = deps.runs?.();
      const schedule = runs === undefined ? 'not synced' : await syncTenantSchedule(runs, tenantId, saved.value);
      const trigger = rebuildTriggerOf(saved.value.mode, changes.archiveMongoUri);
      const rebuild = trigger === undefined ? undefined : await rebuildAfterSave(tenantId, trigger, actor, client);
      return { status: 'saved', saved, changes, schedule, ...(rebuild !== undefined ? { rebuild } : {}) };
    },
    requestRebuild,
  };
}
