import { parseArgs } from 'node:util';
import { openSecret, sealSecret } from '../../crypto/secret-box.js';
import { syncTenantSchedule } from '../../queue/tenant-schedules.js';
import { assertDestinationsAllowed, destinationPolicyFromConfig } from '../../tenants/destination-policy.js';
import { nextRunTimes, parseRetentionSettings, type RetentionSettingsInput } from '../../tenants/retention-settings.js';
import { secretContext } from '../../tenants/secret-context.js';
import { oneTenantId, requireTenant } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';
import { CliUsageError } from '../cli-usage-error.js';
import { applySettingsFlags, describeSettings, SETTINGS_FLAG_OPTIONS, type SettingsFlags } from '../settings-flags.js';

/**
 * Saves a tenant's new retention settings the way the CLI does today: validate, check the destinations (the sealed
 * archive URI opened, never printed), store over `expectedVersion` (none: the first settings), resync the schedule, audit. The one place to swap
 * for the retention-settings service.
 */
async function saveRetentionSettings(services: CliServices, tenantId: string, next: RetentionSettingsInput, expectedVersion: number | undefined) {
  const cp = await services.controlPlane();
  const parsed = parseRetentionSettings(next);
  const sealedUri = parsed.archiveMongoUri;
  const opened = sealedUri === undefined ? {} : { archiveMongoUri: openSecret(services.keyring(), sealedUri, secretContext(tenantId, 'archiveMongoUri')) };
  await assertDestinationsAllowed(destinationPolicyFromConfig(services.config), parsed, opened);
  const saved = await cp.settings.putRetention(tenantId, next, { actor: 'cli', ...(expectedVersion !== undefined ? { expectedVersion } : {}), now: services.io.now() });
  const schedule = await syncTenantSchedule(services.queues().runs, tenantId, saved.value);
  await cp.audit.append(tenantId, { actor: { type: 'cli', id: 'cli' }, action: 'settings.changed', outcome: 'success', target: 'retention', details: { version: saved.version, schedule } });
  return { saved, schedule };
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
    services.io.stdout(JSON.stringify({
      tenant: { id: tenant.id, displayName: tenant.displayName, status: tenant.status },
      settings: settings ? describeSettings(settings.value) : null,
      version: settings?.version ?? null,
      checkpoints: describeSettings(checkpoint.through),
      lastManifest: checkpoint.head,
      nextRuns: settings && !settings.value.schedule.paused ? nextRunTimes(settings.value.schedule, 5, services.io.now()).map((d) => d.toISOString()) : [],
    }, null, 2));
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
    --format json|ndjson  --gzip | --no-gzip  --max-records N  --max-bytes N`,
  summary: 'change retention settings; secrets are read from files:',
  async run(args, services) {
    const { values, positionals } = parseArgs({ args: [...args], options: SETTINGS_FLAG_OPTIONS, allowPositionals: true, strict: true });
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
    const seal = (plaintext: string, field: string) => sealSecret(services.keyring(), plaintext, secretContext(id, field as Parameters<typeof secretContext>[1]));
    const next = applySettingsFlags(current?.value as Record<string, unknown> | undefined, values as SettingsFlags, readSecret, seal);
    const { saved, schedule } = await saveRetentionSettings(services, id, next, current?.version);
    services.io.stdout(`saved retention settings of ${id} (version ${saved.version}); schedule ${schedule === 'scheduled' ? `"${saved.value.schedule.cron}" ${saved.value.schedule.timezone}` : 'paused'}`);
    return 0;
  },
};

/** `retention tenant show | set`: a tenant's retention settings. */
export const SETTINGS_COMMANDS: readonly CliCommand[] = [show, set];
