import { Router, type Request, type Response } from 'express';
import { openSecret, sealSecret } from '../../crypto/secret-box.js';
import { HOST_KEY_TYPES, describeHostKey, type HostKeyPin } from '../../delivery/host-key-pin.js';
import { probeSftpHostKeys } from '../../delivery/probe-sftp-host-key.js';
import { RetentionError } from '../../errors.js';
import { DESTINATION_NOT_ALLOWED, NetworkPolicy } from '../../network/network-policy.js';
import { RECORD_TYPES } from '../../records/record-type.js';
import { enqueueRebuild, rebuildStatus, type RebuildRequest, type RebuildStatus } from '../../queue/import-queues.js';
import { syncTenantSchedule } from '../../queue/tenant-schedules.js';
import type { VersionedSettings } from '../../store/settings-store.js';
import { findDestinationProblems, type DestinationPolicy, type OpenedDestinationSecrets } from '../../tenants/destination-policy.js';
import { nextRunTimes, retentionSettingsSchema, type RetentionSettings } from '../../tenants/retention-settings.js';
import { secretContext } from '../../tenants/secret-context.js';
import type { User } from '../../store/users-store.js';
import { authorizedPrincipal } from '../access-gates.js';
import { flash, formField, formList, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import {
  ARCHIVE_URI_FIELD,
  MAX_ARCHIVE_RETENTION_DAYS,
  RECORD_TYPE_LABELS,
  archiveDaysField,
  archiveStateFromForm,
  archiveStateFromSettings,
  auditArchiveRetention,
  describeArchiveRetention,
  describeRebuildStatus,
  readArchiveForm,
  rebuildTriggerOf,
  type ArchiveFormState,
  type RebuildTrigger,
} from './retention-archive-form.js';
import { HOST_KEY_FIELDS, HOST_KEY_TYPE_LABELS, compareHostKeys, readHostKeyPins, type HostKeyComparison, type HostKeyPinsInput } from './host-key-pin-form.js';

/** Secret fields of the form: a typed value replaces the stored one; an empty field keeps it. Never printed back. */
export const SECRET_FIELDS = ['source.token', 'target.password', 'target.privateKey', 'target.passphrase'] as const;
type SecretField = (typeof SECRET_FIELDS)[number];

const REBUILD_UNAVAILABLE =
  'This portal was started without the archive queues, so it cannot queue a rebuild of the online archive. Ask your Retention operator to rebuild it (retention rebuild <tenant>) or to give the portal its Redis queues.';

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
interface FormState {
  values: Record<string, string>;
  checked: Record<string, boolean>;
  dataTypes: string[];
  secretsSet: Record<SecretField, boolean>;
  /** The online-archive section: days per type and whether an archive URI is stored. */
  archive: ArchiveFormState;
  version: string;
}

interface ConnectionTest {
  ok: boolean;
  host: string;
  port: number;
  /** When the server was reached: every host key it has, compared with the pins. */
  hostKeys?: HostKeyComparison;
  error?: string;
  /** The error's stable code when the test failed. */
  code?: string;
}

const get = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), value);

function stateFromSettings(stored: VersionedSettings<RetentionSettings> | undefined): FormState {
  const value = stored?.value;
  const values: Record<string, string> = {};
  for (const field of TEXT_FIELDS) {
    const v = get(value, field);
    values[field] = v === undefined || v === null ? '' : String(v);
  }
  if (value === undefined) Object.assign(values, { mode: 'offline', 'schedule.cron': '0 2 * * *', 'schedule.timezone': 'UTC', 'schedule.pauseAfterFailures': '3', 'source.kind': 'demo', 'source.seed': '1', 'target.kind': 'sftp', 'target.port': '22', 'target.root': '/', 'files.format': 'json' });
  return {
    values,
    checked: { 'schedule.paused': value?.schedule.paused ?? false, 'files.gzip': value?.files.gzip ?? true },
    dataTypes: value?.dataTypes ?? [...RECORD_TYPES],
    secretsSet: Object.fromEntries(SECRET_FIELDS.map((field) => [field, typeof get(value, field) === 'string'])) as Record<SecretField, boolean>,
    archive: archiveStateFromSettings(value),
    version: stored === undefined ? '' : String(stored.version),
  };
}

function stateFromForm(req: Request, stored: VersionedSettings<RetentionSettings> | undefined): FormState {
  const values = Object.fromEntries(TEXT_FIELDS.map((field) => [field, formField(req, field, 1024).trim()]));
  const cleared = formList(req, 'clearSecrets');
  return {
    values,
    checked: Object.fromEntries(CHECKBOXES.map((field) => [field, formField(req, field, 8) === 'on'])),
    dataTypes: formList(req, 'dataTypes').map((type) => type.slice(0, 40)),
    secretsSet: Object.fromEntries(
      SECRET_FIELDS.map((field) => [field, !cleared.includes(field) && typeof get(stored?.value, field) === 'string']),
    ) as Record<SecretField, boolean>,
    archive: archiveStateFromForm(req, stored?.value),
    version: formField(req, 'version', 12),
  };
}

/**
 * Builds the settings input from the form: numbers where a number is typed, the fields of the chosen source and
 * target kind only, new secrets sealed for this tenant and field, stored secrets kept unless replaced or cleared.
 */
function settingsInput(
  req: Request,
  tenantId: string,
  state: FormState,
  pins: HostKeyPinsInput,
  stored: RetentionSettings | undefined,
  services: PortalServices,
): { input: Record<string, unknown>; replaced: SecretField[] } {
  const v = state.values;
  const num = (field: string): unknown => {
    const text = v[field] ?? '';
    if (text === '') return undefined;
    return NUMBER.test(text) ? Number(text) : text;
  };
  const cleared = formList(req, 'clearSecrets');
  const replaced: SecretField[] = [];
  const secret = (field: SecretField, sameKind: boolean): string | undefined => {
    const typed = formField(req, field, 16_384);
    if (typed !== '') {
      replaced.push(field);
      return sealSecret(services.deps.keyring, field === 'target.privateKey' ? typed.replace(/\r\n/g, '\n') : typed, secretContext(tenantId, field));
    }
    if (cleared.includes(field) || !sameKind) return undefined;
    const kept = get(stored, field);
    return typeof kept === 'string' ? kept : undefined;
  };
  const defined = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== ''));

  const sourceKind = v['source.kind'];
  const source =
    sourceKind === 'http'
      ? defined({ kind: 'http', baseUrl: v['source.baseUrl'], token: secret('source.token', stored?.source.kind === 'http'), pageSize: num('source.pageSize') })
      : defined({ kind: sourceKind, seed: num('source.seed'), recordsPerHour: num('source.recordsPerHour'), invalidShare: num('source.invalidShare') });
  const targetKind = v['target.kind'];
  const sameSftp = stored?.target.kind === 'sftp';
  const target =
    targetKind === 'local'
      ? defined({ kind: 'local', directory: v['target.directory'] })
      : defined({
          kind: targetKind,
          host: v['target.host'],
          port: num('target.port'),
          username: v['target.username'],
          password: secret('target.password', sameSftp),
          privateKey: secret('target.privateKey', sameSftp),
          passphrase: secret('target.passphrase', sameSftp),
          hostKeyFingerprint: pins.first?.fingerprint,
          hostKeyType: pins.first?.type,
          secondHostKey: pins.second,
          root: v['target.root'],
        });
  const input: Record<string, unknown> = {
    mode: v.mode,
    dataTypes: state.dataTypes,
    schedule: defined({ cron: v['schedule.cron'], timezone: v['schedule.timezone'], paused: state.checked['schedule.paused'] === true, pauseAfterFailures: num('schedule.pauseAfterFailures') }),
    source,
    target,
    files: defined({ format: v['files.format'], gzip: state.checked['files.gzip'] === true, maxRecords: num('files.maxRecords'), maxBytes: num('files.maxBytes') }),
  };
  return { input, replaced };
}

/** The next five run times, printed in the schedule's own time zone; none when the schedule is not valid. */
function upcomingRuns(cron: string, timezone: string, now: Date): string[] {
  const parsed = retentionSettingsSchema.shape.schedule.safeParse({ cron, timezone });
  if (!parsed.success) return [];
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: parsed.data.timezone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return nextRunTimes(parsed.data, 5, now).map((date) => format.format(date));
}

/**
 * The retention settings page, for users who may configure retention: mode, data types, schedule (with its next
 * five run times in the tenant's time zone), source, target and file options. Secrets are never printed back: a
 * stored one shows as "(set)" and is replaced only when a new value is typed. Saving validates with the settings
 * schema (problems shown next to each field), keeps the job scheduler in step and is audited (`settings.changed`).
 * The online-archive section sets how long the MongoDB archive keeps each type and the tenant's own archive MongoDB
 * URI (sealed; the audit log says only whether it was replaced, kept or removed). Replacing or removing that URI in
 * online mode queues a rebuild of the archive from the drops; "Rebuild" queues one on demand
 * (`archive.rebuild-requested`), and the section shows whether one is queued or running and how the last one ended.
 * The target's host key is pinned by fingerprint ("SHA256:…" or a pasted `ssh-keygen -l` line), with an optional type
 * and an optional second pin for a key rotation (see `host-key-pin-form.ts`). "Test connection" lists every host key
 * the SFTP server has, marks the pinned ones and, when nothing is pinned, suggests one to pin.
 * Both stay within the operator's destination policy: a source URL, SFTP host or host of the archive MongoDB URI
 * that is or resolves to a non-public address, or a local directory outside `LOCAL_TARGET_BASE_DIR`, is refused at
 * save (an error on its field, nothing saved, audited without the URI), and *Test connection* refuses such a host
 * before connecting (400), so it cannot probe the operator's network.
 */
export function retentionSettingsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  const destinations: DestinationPolicy = services.deps.destinations ?? { network: new NetworkPolicy(), localTargetBaseDir: undefined };

  const requestRebuild = async (req: Request, tenantId: string, user: User, trigger: RebuildTrigger): Promise<RebuildRequest> => {
    const queues = services.deps.importQueues;
    if (queues === undefined) throw new RetentionError('ERR_REBUILD_UNAVAILABLE', REBUILD_UNAVAILABLE, 503);
    const request = await enqueueRebuild(queues, tenantId, { type: 'user', id: user.id });
    if (request.queued) {
      await services.audit(req, tenantId, { actor: { type: 'user', id: user.id }, action: 'archive.rebuild-requested', outcome: 'success', details: { trigger, job: request.jobId } });
    }
    return request;
  };

  const readRebuildStatus = async (tenantId: string): Promise<RebuildStatus | undefined> => {
    const queues = services.deps.importQueues;
    if (queues === undefined) return undefined;
    try {
      return await rebuildStatus(queues, tenantId);
    } catch (err) {
      services.deps.logger.warn({ tenantId, err }, 'could not read the state of the archive rebuild');
      return undefined;
    }
  };

  const render = async (
    res: Response,
    state: FormState,
    stored: VersionedSettings<RetentionSettings> | undefined,
    extra: { fieldErrors?: Record<string, string[]>; problems?: string[]; connection?: ConnectionTest } = {},
    status = 200,
  ): Promise<void> => {
    const rebuild = stored?.value.mode === 'online' ? describeRebuildStatus(await readRebuildStatus(portalContext(res).tenant.id), services.deps.importQueues !== undefined) : undefined;
    res.status(status).render('retention/settings', {
      title: 'Retention settings',
      form: state,
      types: RECORD_TYPES.map((type) => ({ type, label: RECORD_TYPE_LABELS[type], daysField: archiveDaysField(type) })),
      archive: {
        uriField: ARCHIVE_URI_FIELD,
        maxDays: MAX_ARCHIVE_RETENTION_DAYS,
        savedRetention: describeArchiveRetention(stored?.value.archiveRetentionDays),
        savedOnline: stored?.value.mode === 'online',
        rebuild,
      },
      nextRuns: upcomingRuns(state.values['schedule.cron'] ?? '', state.values['schedule.timezone'] || 'UTC', services.now()),
      fieldErrors: extra.fieldErrors ?? {},
      problems: extra.problems ?? [],
      connection: extra.connection,
      secretFields: SECRET_FIELDS,
      hostKeyTypes: HOST_KEY_TYPES.map((type) => ({ value: type, label: HOST_KEY_TYPE_LABELS[type] })),
    });
  };

  router.get('/settings/retention', async (_req, res) => {
    authorizedPrincipal(res, 'settings.retention.view');
    const stored = await controlPlane.settings.getRetention(portalContext(res).tenant.id);
    await render(res, stateFromSettings(stored), stored);
  });

  router.post('/settings/retention', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.update');
    const tenantId = portalContext(res).tenant.id;
    const user = signedInUser(res);
    const stored = await controlPlane.settings.getRetention(tenantId);
    const state = stateFromForm(req, stored);
    const pins = readHostKeyPins(state.values);
    const pinErrors = state.values['target.kind'] === 'local' ? {} : pins.fieldErrors;
    const { input, replaced } = settingsInput(req, tenantId, state, pins, stored?.value, services);
    const archive = readArchiveForm(req, state.archive, tenantId, stored?.value, services.deps.keyring);
    if (archive.archiveRetentionDays !== undefined) input.archiveRetentionDays = archive.archiveRetentionDays;
    if (archive.archiveMongoUri !== undefined) input.archiveMongoUri = archive.archiveMongoUri;
    const fieldErrors: Record<string, string[]> = { ...archive.fieldErrors, ...pinErrors };
    const checked = retentionSettingsSchema.safeParse(input);
    for (const issue of checked.error?.issues ?? []) {
      const key = issue.path.filter((part) => typeof part === 'string').join('.') || 'settings';
      // A pin the form could not read is left out of the input; its own message says what to fix.
      if (pinErrors[key] !== undefined) continue;
      (fieldErrors[key] ??= []).push(issue.message);
    }
    // The archive URI the settings will hold (typed just now, or the stored one kept) is checked opened.
    const sealedUri = archive.archiveMongoUri;
    const opened = (): OpenedDestinationSecrets => (sealedUri === undefined ? {} : { archiveMongoUri: openSecret(services.deps.keyring, sealedUri, secretContext(tenantId, 'archiveMongoUri')) });
    const refused = checked.success && Object.keys(fieldErrors).length === 0 ? await findDestinationProblems(destinations, checked.data, opened()) : [];
    for (const problem of refused) (fieldErrors[problem.field] ??= []).push(`${problem.message} (${problem.code})`);
    if (Object.keys(fieldErrors).length > 0) {
      const reason = refused[0]?.code ?? 'ERR_SETTINGS_INVALID';
      await services.audit(req, tenantId, { actor: { type: 'user', id: user.id }, action: 'settings.change', outcome: 'failure', target: 'retention', details: { reason, fields: Object.keys(fieldErrors).join(',').slice(0, 500) } });
      const problems = Object.entries(fieldErrors).map(([field, messages]) => `${field}: ${messages.join('; ')}`);
      if (replaced.length > 0 || archive.uriChange === 'replaced') problems.push('Nothing was saved, and secrets you typed are never shown again: type them again before saving.');
      return await render(res, state, stored, { fieldErrors, problems }, 400);
    }
    const expectedVersion = state.version === '' ? undefined : Number(state.version);
    if (stored !== undefined && (expectedVersion === undefined || !Number.isInteger(expectedVersion))) {
      throw new RetentionError('ERR_SETTINGS_CONFLICT', 'The form did not say which version of the settings it changes; reload the page and try again.', 409);
    }
    let saved: VersionedSettings<RetentionSettings>;
    try {
      saved =
        stored === undefined
          ? await controlPlane.settings.putRetention(tenantId, input, { actor: user.id, now: services.now() })
          : await controlPlane.settings.putRetention(tenantId, input, { actor: user.id, expectedVersion: expectedVersion as number, now: services.now() });
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_SETTINGS_CONFLICT') throw err;
      return await render(res, state, stored, { problems: ['Somebody else changed these settings since you opened the page. Reload the page, then make your change again.'] }, 409);
    }
    const queues = services.deps.exportQueues;
    if (queues !== undefined) await syncTenantSchedule(queues.runs, tenantId, saved.value);
    const { value } = saved;
    await services.audit(req, tenantId, {
      actor: { type: 'user', id: user.id },
      action: 'settings.changed',
      outcome: 'success',
      target: 'retention',
      details: {
        version: saved.version,
        mode: value.mode,
        dataTypes: value.dataTypes.join(','),
        cron: value.schedule.cron,
        timezone: value.schedule.timezone,
        paused: value.schedule.paused,
        source: value.source.kind,
        target: value.target.kind === 'sftp' ? `sftp://${value.target.username}@${value.target.host}:${value.target.port}${value.target.root}` : `local:${value.target.directory}`,
        hostKeyFingerprint: value.target.kind === 'sftp' ? value.target.hostKeyFingerprint : null,
        hostKeyType: value.target.kind === 'sftp' ? (value.target.hostKeyType ?? null) : null,
        secondHostKey: value.target.kind === 'sftp' && value.target.secondHostKey !== undefined ? describeHostKey(value.target.secondHostKey) : null,
        secretsReplaced: [...replaced, ...(archive.uriChange === 'replaced' ? [ARCHIVE_URI_FIELD] : [])].join(','),
        archiveRetention: auditArchiveRetention(value.archiveRetentionDays),
        archiveMongoUri: archive.uriChange,
      },
    });
    const saveNote = `The retention settings were saved (version ${saved.version}).${queues === undefined ? '' : value.schedule.paused ? ' The schedule is paused.' : ' The schedule was updated.'}`;
    const trigger = rebuildTriggerOf(value.mode, archive.uriChange);
    if (trigger === undefined) {
      const later = value.mode !== 'online' && (archive.uriChange === 'replaced' || archive.uriChange === 'removed');
      flash(req, 'success', later ? `${saveNote} The archive database changes once the mode is online: the worker then finds it empty and rebuilds the online archive from your drops by itself (or press "Rebuild the online archive from the drops" in the Online archive section).` : saveNote);
    } else if (services.deps.importQueues === undefined) {
      flash(req, 'error', `${saveNote} The archive now lives in another database, which stays empty until the online archive is rebuilt from the drops; this portal cannot queue that rebuild, so ask your Retention operator to run it.`);
    } else {
      try {
        const request = await requestRebuild(req, tenantId, user, trigger);
        flash(req, 'success', `${saveNote} The archive now lives in another database, so ${request.queued ? 'a rebuild of the online archive from your drops was queued' : 'the rebuild already queued will load it from your drops'}; the portal shows the records again as they are loaded.`);
      } catch (err) {
        services.deps.logger.error({ tenantId, err }, 'could not queue the archive rebuild after the archive URI changed');
        flash(req, 'error', `${saveNote} The archive now lives in another database, but its rebuild could not be queued: press "Rebuild the online archive from the drops" in the Online archive section to try again.`);
      }
    }
    res.redirect(303, '/settings/retention');
  });

  router.post('/settings/retention/rebuild', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.rebuild');
    const tenantId = portalContext(res).tenant.id;
    const user = signedInUser(res);
    const stored = await controlPlane.settings.getRetention(tenantId);
    if (services.deps.importQueues === undefined) return await render(res, stateFromSettings(stored), stored, { problems: [REBUILD_UNAVAILABLE] }, 503);
    if (stored?.value.mode !== 'online') {
      return await render(res, stateFromSettings(stored), stored, { problems: ['There is no online archive to rebuild: the saved mode is offline. Switch the mode to online and save first.'] }, 409);
    }
    const request = await requestRebuild(req, tenantId, user, 'button');
    flash(
      req,
      'success',
      request.queued
        ? 'A rebuild of the online archive was queued: it empties the archive and loads every drop again, oldest first. The state is shown in the Online archive section.'
        : 'A rebuild of the online archive is already queued; it was not queued twice.',
    );
    res.redirect(303, '/settings/retention');
  });

  router.post('/settings/retention/test-connection', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.test-connection');
    const tenantId = portalContext(res).tenant.id;
    const user = signedInUser(res);
    const stored = await controlPlane.settings.getRetention(tenantId);
    const state = stateFromForm(req, stored);
    const storedTarget = stored?.value.target.kind === 'sftp' ? stored.value.target : undefined;
    const host = state.values['target.host'] || storedTarget?.host || '';
    const portText = state.values['target.port'] || String(storedTarget?.port ?? 22);
    const typed = readHostKeyPins(state.values);
    const hostCheck = retentionSettingsSchema.shape.target.options[0].shape.host.safeParse(host);
    const port = Number(portText);
    const badPort = !/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535;
    const fieldErrors: Record<string, string[]> = { ...typed.fieldErrors };
    const problems: string[] = [];
    if (!hostCheck.success) fieldErrors['target.host'] = ['enter the SFTP server\'s host name or IP address to test'];
    if (badPort) fieldErrors['target.port'] = ['a port from 1 to 65535'];
    if (!hostCheck.success || badPort) problems.push('Enter a host and port to test the connection.');
    if (Object.keys(typed.fieldErrors).length > 0) problems.push('Correct the host-key pins to compare them with the server\'s keys, or empty them to see which key to pin.');
    if (problems.length > 0) return await render(res, state, stored, { fieldErrors, problems }, 400);
    // The pins typed in the form; where the first field is empty, the stored ones (as before this form was filled in).
    const storedFirst: HostKeyPin | undefined =
      storedTarget === undefined ? undefined : { fingerprint: storedTarget.hostKeyFingerprint, ...(storedTarget.hostKeyType !== undefined ? { type: storedTarget.hostKeyType } : {}) };
    const pins = state.values[HOST_KEY_FIELDS.fingerprint] !== '' ? [typed.first, typed.second] : [storedFirst, typed.second ?? storedTarget?.secondHostKey];
    let connection: ConnectionTest;
    try {
      const keys = await probeSftpHostKeys({ host, port, timeoutMs: 10_000, network: destinations.network });
      connection = { ok: true, host, port, hostKeys: compareHostKeys(keys, pins) };
    } catch (err) {
      if (!(err instanceof RetentionError)) throw err;
      connection = { ok: false, host, port, error: err.message, code: err.code };
    }
    const compared = connection.hostKeys;
    await services.audit(req, tenantId, {
      actor: { type: 'user', id: user.id },
      action: 'settings.connection-tested',
      outcome: connection.ok ? 'success' : 'failure',
      target: `sftp://${host}:${port}`,
      details: {
        // The key the server shows a client that asks for no particular type, then every key it has.
        fingerprint: compared?.keys[0]?.fingerprint ?? null,
        fingerprints: compared === undefined ? null : compared.keys.map((key) => key.pinText).join(','),
        matchesPinned: compared?.matches ?? null,
        matchedPins: compared === undefined || compared.pins.length === 0 ? null : compared.pins.filter((pin) => pin.found).map((pin) => pin.slot).join(','),
        error: connection.error?.slice(0, 300) ?? null,
        reason: connection.code ?? null,
      },
    });
    if (connection.code === DESTINATION_NOT_ALLOWED) {
      return await render(res, state, stored, { connection, fieldErrors: { 'target.host': [`${connection.error ?? ''} (${DESTINATION_NOT_ALLOWED})`] } }, 400);
    }
    await render(res, state, stored, { connection }, connection.ok ? 200 : 502);
  });

  return router;
}
