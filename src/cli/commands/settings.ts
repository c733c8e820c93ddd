import { parseArgs } from 'node:util';
import type { AuditActor } from '../../audit/audit-entry.js';
import { RetentionError } from '../../errors.js';
import type { ControlPlane } from '../../store/control-plane.js';
import { destinationPolicyFromConfig } from '../../tenants/destination-policy.js';
import { nextRunTimes } from '../../tenants/retention-settings.js';
import { createRetentionSettingsService, settingsRefusalError, type RebuildAfterSave, type SecretChanges } from '../../tenants/retention-settings-service.js';
import { isRetentionSecretField } from '../../tenants/secret-context.js';
import { oneTenantId, requireTenant } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';
import { CliUsageError } from '../cli-usage-error.js';
import { applySettingsFlags, describeSettings, SETTINGS_FLAG_OPTIONS, type SettingsFlags } from '../settings-flags.js';

const CLI_ACTOR: AuditActor = { type: 'cli', id: 'cli' };

/** `tenant set` flags beyond the settings themselves: the archive URI (a secret, from a file) and the version to change. */
const SET_OPTIONS = {
  ...SETTINGS_FLAG_OPTIONS,
  'archive-uri-file': { type: 'string' },
  'no-archive-uri': { type: 'boolean' },
  'expected-version': { type: 'string' },
} as const;

/** The retention-settings service on the CLI's connections (each opened only when the save needs it). */
function retentionSettingsService(services: CliServices, cp: ControlPlane) {
  return createRetentionSettingsService({
    settings: cp.settings,
    audit: cp.audit,
    keyring: () => services.keyring(),
    destinations: destinationPolicyFromConfig(services.config),
    runs: () => services.queues().runs,
    importQueues: () => services.importQueues(),
    now: () => services.io.now(),
  });
}

function expectedVersionFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new CliUsageError(`--expected-version expects the version number "tenant show" prints, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** What became of the rebuild a save asked for, as a clause of the CLI's answer. */
function describeRebuild(tenantId: string, rebuild: RebuildAfterSave | undefined): string {
  if (rebuild === undefined) return '';
  if (rebuild.status === 'queued') return `; the archive moved to another database: a rebuild from the drops was queued (job ${rebuild.jobId})`;
  if (rebuild.status === 'already queued') return '; the archive moved to another database: the rebuild already queued will load it from the drops';
  const why = rebuild.status === 'failed' && rebuild.error instanceof Error ? ` (${rebuild.error.message})` : '';
  return `; the archive moved to another database, but no rebuild could be queued${why}: run "retention rebuild ${tenantId}"`;
}

const show: CliCommand = {
  name: 'tenant show',
  usage: 'tenant show <id>',
  summary: 'settings (secrets shown as "(sealed)") and the next five runs',
  async run(args, services) {
    const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
    const id = oneTenantId(positionals);
    const cp = await services.controlPlane();
    const tenant = await cp.tenants.require(id);
    const settings = await cp.settings.getRetention(id);
    const checkpoint = await cp.checkpoints.get(id);
    services.io.stdout(
      JSON.stringify(
        {
          tenant: { id: tenant.id, displayName: tenant.displayName, status: tenant.status },
          settings: settings ? describeSettings(settings.value) : null,
          version: settings?.version ?? null,
          checkpoints: describeSettings(checkpoint.through),
          lastManifest: checkpoint.head,
          nextRuns: settings && !settings.value.schedule.paused ? nextRunTimes(settings.value.schedule, 5, services.io.now()).map((d) => d.toISOString()) : [],
        },
        null,
        2,
      ),
    );
    return 0;
  },
};

const set: CliCommand = {
  name: 'tenant set',
  usage: `tenant set <id> [options]
    --mode offline|online  --types call-logs,chats,contacts  --cron "0 2 * * *"  --timezone Europe/Berlin
    --paused | --resume  --pause-after-failures N (pause after N failed runs in a row; 0: never)
    --source demo --seed N [--records-per-hour N]
    --source http --base-url URL --token-file FILE [--page-size N]
    --target local --directory /abs/path
    --target sftp --host H [--port 22] --username U (--password-file F | --private-key-file F [--passphrase-file F])
                  --fingerprint "SHA256:..." | "ssh-rsa SHA256:..." | an ssh-keygen -l line (pins the key's type too)
                  [--second-fingerprint ... | --no-second-fingerprint] (a second key during a rotation) [--root /drop]
    --format json|ndjson  --gzip | --no-gzip  --max-records N  --max-bytes N
    --archive-uri-file F | --no-archive-uri (online mode: the tenant's own archive MongoDB; a change queues its rebuild)
    --expected-version N (refuse the change if the settings are no longer at version N, as "tenant show" printed it)`,
  summary: 'change retention settings; secrets are read from files:',
  async run(args, services) {
    const { values, positionals } = parseArgs({ args: [...args], options: SET_OPTIONS, allowPositionals: true, strict: true });
    const id = oneTenantId(positionals);
    const cp = await requireTenant(services, id);
    const current = await cp.settings.getRetention(id);
    const readSecret = (path: string) => {
      try {
        return services.io.readFile(path).replace(/\r?\n$/, '');
      } catch {
        throw new CliUsageError(`cannot read the secret file ${JSON.stringify(path)}`);
      }
    };
    const secrets: SecretChanges = {};
    // The flags name secrets; the service seals them, so the settings built from the flags hold none.
    const collectSecret = (plaintext: string, field: string) => {
      if (!isRetentionSecretField(field)) throw new TypeError(`"${field}" is not a secret of the retention settings`);
      secrets[field] = plaintext;
      return '';
    };
    const settings = applySettingsFlags(current?.value as Record<string, unknown> | undefined, values as SettingsFlags, readSecret, collectSecret);
    if (values['archive-uri-file'] !== undefined && values['no-archive-uri']) throw new CliUsageError('use either --archive-uri-file or --no-archive-uri');
    if (values['archive-uri-file'] !== undefined) secrets.archiveMongoUri = readSecret(values['archive-uri-file']).trim();
    if (values['no-archive-uri']) secrets.archiveMongoUri = null;
    const expectedVersion = expectedVersionFlag(values['expected-version']) ?? current?.version;
    const outcome = await retentionSettingsService(services, cp).save(
      id,
      { settings, secrets },
      CLI_ACTOR,
      expectedVersion === undefined ? {} : { expectedVersion },
    );
    if (outcome.status === 'refused') throw settingsRefusalError(outcome.problems);
    if (outcome.status === 'stale') {
      throw new RetentionError(
        'ERR_SETTINGS_CONFLICT',
        `the retention settings of "${id}" are no longer at version ${outcome.expectedVersion ?? '(none)'}: see them with "retention tenant show ${id}" and run the command again`,
      );
    }
    const { saved } = outcome;
    const schedule = outcome.schedule === 'scheduled' ? `"${saved.value.schedule.cron}" ${saved.value.schedule.timezone}` : 'paused';
    services.io.stdout(`saved retention settings of ${id} (version ${saved.version}); schedule ${schedule}${describeRebuild(id, outcome.rebuild)}`);
    return 0;
  },
};

/** `retention tenant show | set`: a tenant's retention settings. */
export const SETTINGS_COMMANDS: readonly CliCommand[] = [show, set];
