import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyDrop, type DropVerificationReport } from '../archive/verify-drop.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { needsReseal, openSecret, resealSecret, sealSecret } from '../crypto/secret-box.js';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { openImportDeps } from '../import/open-import-deps.js';
import { findManifestsToImport } from '../import/pending-manifests.js';
import { rebuildArchive } from '../import/rebuild-archive.js';
import { purgeTenantArchive } from '../import/archive-maintenance.js';
import { createImportQueues, enqueueImport } from '../queue/import-queues.js';
import { LocalDirectoryTarget } from '../delivery/local-directory-target.js';
import { parseHostKeyPin, type HostKeyPin } from '../delivery/host-key-pin.js';
import { SftpTarget } from '../delivery/sftp-target.js';
import type { Target } from '../delivery/target.js';
import { RetentionError } from '../errors.js';
import { NetworkPolicy } from '../network/network-policy.js';
import { enqueueBackfill, enqueueRunNow } from '../queue/export-queues.js';
import { syncTenantSchedule } from '../queue/tenant-schedules.js';
import { isRecordType, type RecordType } from '../records/record-type.js';
import { assertDestinationsAllowed, destinationPolicyFromConfig } from '../tenants/destination-policy.js';
import { nextRunTimes, parseRetentionSettings } from '../tenants/retention-settings.js';
import { secretContext } from '../tenants/secret-context.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { issueOwnerActivation } from '../portal/owner-activation.js';
import { CliServices } from './cli-services.js';
import { TENANT_ALLOWLIST_USAGE, tenantAllowlistCommand } from './tenant-allowlist-command.js';
import { applySettingsFlags, describeSettings, SETTINGS_FLAG_OPTIONS, type SettingsFlags } from './settings-flags.js';

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  now: () => Date;
}

export const USAGE = `Usage: retention <command> [options]

Tenants
  tenant create <id> [--name <display name>] [--password-only]
                                                  create a tenant and print its owner's one-time activation link;
                                                  2FA is required unless --password-only
  tenant activation-link <id>                     a new owner activation link (while the tenant has no owner)
  tenant list                                     list tenants
  tenant show <id>                                settings (secrets shown as "(sealed)") and the next five runs
  tenant set <id> [options]                       change retention settings; secrets are read from files:
      --mode offline|online  --types call-logs,chats,contacts  --cron "0 2 * * *"  --timezone Europe/Berlin
      --paused | --resume  --pause-after-failures N (pause after N failed runs in a row; 0: never)
      --source demo --seed N [--records-per-hour N]
      --source http --base-url URL --token-file FILE [--page-size N]
      --target local --directory /abs/path
      --target sftp --host H [--port 22] --username U (--password-file F | --private-key-file F [--passphrase-file F])
                    --fingerprint "SHA256:..." | "ssh-rsa SHA256:..." | an ssh-keygen -l line (pins the key's type too)
                    [--second-fingerprint ... | --no-second-fingerprint] (a second key during a rotation) [--root /drop]
      --format json|ndjson  --gzip | --no-gzip  --max-records N  --max-bytes N
${TENANT_ALLOWLIST_USAGE}

Runs
  run-now <tenant>                                queue a run now
  backfill <tenant> --from ISO --to ISO [--types a,b]   deliver a past range again, as its own manifest
  runs <tenant> [--limit N]                       recent runs with status, counts and errors

Drops
  verify <directory | sftp://user@host[:port]/root> [--tenant <id>]
         [--fingerprint SHA256:...] [--private-key-file F | --password-file F]
                                                  recompute every checksum, walk the manifest chain, print a verdict

Online archive
  import <tenant> [--retry]                       queue the import of every manifest of the drop not yet imported;
                                                  --retry also retries manifests whose import failed
  hold place <tenant> (--contact ID | --chat ID | --number +E164 | --from ISO --to ISO) --reason TEXT [--by NAME]
                                                  keep records through archive retention (legal hold)
  hold release <tenant> <hold id> [--by NAME]     end a legal hold (kept on record with who released it)
  hold list <tenant>                              active legal holds
  purge <tenant> --dry-run | --yes                list, or delete now, what archive retention expires (holds spared)
  rebuild <tenant>                                drop the tenant's MongoDB archive and import every manifest of the
                                                  drop again, in chain order (runs here, not in the worker)

Keys
  keys rotate                                     re-seal every stored secret under RETENTION_ACTIVE_KEY_ID
`;

const usage = (message: string) => new RetentionError('ERR_CLI_USAGE', `${message}\n\n${USAGE}`, 400);

/**
 * Runs one CLI invocation and returns the exit code: 0 success, 1 failure (e.g. a drop that does not verify),
 * 2 usage error, 78 invalid configuration.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), consoleIo);
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(io.env, io.readFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(err.message);
      return 78;
    }
    throw err;
  }
  const services = new CliServices(config);
  try {
    return await dispatch(argv, io, services);
  } catch (err) {
    if (err instanceof RetentionError) {
      io.stderr(`error [${err.code}]: ${err.message}`);
      return err.code === 'ERR_CLI_USAGE' ? 2 : 1;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await services.close();
  }
}

async function dispatch(argv: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'tenant':
      return tenantCommand(rest, io, services);
    case 'run-now':
      return runNowCommand(rest, io, services);
    case 'backfill':
      return backfillCommand(rest, io, services);
    case 'runs':
      return runsCommand(rest, io, services);
    case 'verify':
      return verifyCommand(rest, io, services);
    case 'keys':
      return keysCommand(rest, io, services);
    case 'import':
      return importCommand(rest, io, services);
    case 'rebuild':
      return rebuildCommand(rest, io, services);
    case 'hold':
      return holdCommand(rest, io, services);
    case 'purge':
      return purgeCommand(rest, io, services);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw usage(`unknown command "${command}"`);
  }
}

function onePositional(args: readonly string[], what: string): string {
  if (args.length !== 1) throw usage(`expected exactly one ${what}`);
  return args[0] as string;
}

async function tenantCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const { values, positionals } = parseArgs({ args: [...rest], options: { name: { type: 'string' }, 'password-only': { type: 'boolean' } }, allowPositionals: true, strict: true });
    const id = assertTenantId(onePositional(positionals, 'tenant id'));
    const cp = await services.controlPlane();
    const tenant = await cp.tenants.create({ id, displayName: values.name ?? id }, io.now());
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'tenant.created', outcome: 'success', target: id });
    // Every portal user administers the archive: two-factor authentication is required from the start (ASVS 4.3.1).
    const requireTwoFactor = values['password-only'] !== true;
    await cp.security.setRequireTwoFactor(id, requireTwoFactor, 'cli', io.now());
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'policy.two-factor.changed', outcome: 'success', details: { required: requireTwoFactor, via: 'tenant create' } });
    io.stdout(`created tenant ${tenant.id} (${tenant.displayName}); two-factor authentication is ${requireTwoFactor ? 'required (the owner sets it up at the first sign-in)' : 'NOT required (--password-only): turn it on under Security settings'}`);
    const { link, expiresAt } = await issueOwnerActivation({ controlPlane: cp, tenantId: id, publicUrl: services.config.publicUrl, defaultTenant: services.config.defaultTenant, now: io.now() });
    io.stdout(`owner activation link (works once, until ${expiresAt.toISOString()}): ${link}`);
    io.stdout(`next: retention tenant set ${tenant.id} --target sftp --host ... --fingerprint SHA256:... --private-key-file ...`);
    return 0;
  }
  if (sub === 'activation-link') {
    const { positionals } = parseArgs({ args: [...rest], options: {}, allowPositionals: true });
    const id = assertTenantId(onePositional(positionals, 'tenant id'));
    const cp = await services.controlPlane();
    const { link, expiresAt } = await issueOwnerActivation({ controlPlane: cp, tenantId: id, publicUrl: services.config.publicUrl, defaultTenant: services.config.defaultTenant, now: io.now() });
    io.stdout(`owner activation link (works once, until ${expiresAt.toISOString()}; earlier links no longer work): ${link}`);
    return 0;
  }
  if (sub === 'list') {
    const cp = await services.controlPlane();
    for (const tenant of await cp.tenants.list()) io.stdout(`${tenant.id}\t${tenant.status}\t${tenant.displayName}`);
    return 0;
  }
  if (sub === 'show') {
    const { positionals } = parseArgs({ args: [...rest], options: {}, allowPositionals: true });
    const id = assertTenantId(onePositional(positionals, 'tenant id'));
    const cp = await services.controlPlane();
    const tenant = await cp.tenants.require(id);
    const settings = await cp.settings.getRetention(id);
    const checkpoint = await cp.checkpoints.get(id);
    io.stdout(JSON.stringify({
      tenant: { id: tenant.id, displayName: tenant.displayName, status: tenant.status },
      settings: settings ? describeSettings(settings.value) : null,
      version: settings?.version ?? null,
      checkpoints: describeSettings(checkpoint.through),
      lastManifest: checkpoint.head,
      nextRuns: settings && !settings.value.schedule.paused ? nextRunTimes(settings.value.schedule, 5, io.now()).map((d) => d.toISOString()) : [],
    }, null, 2));
    return 0;
  }
  if (sub === 'set') {
    const { values, positionals } = parseArgs({ args: [...rest], options: SETTINGS_FLAG_OPTIONS, allowPositionals: true, strict: true });
    const id = assertTenantId(onePositional(positionals, 'tenant id'));
    const cp = await services.controlPlane();
    await cp.tenants.require(id);
    const current = await cp.settings.getRetention(id);
    const readSecret = (path: string) => {
      try {
        return io.readFile(path).replace(/\r?\n$/, '');
      } catch {
        throw usage(`cannot read the secret file ${JSON.stringify(path)}`);
      }
    };
    let keyring: ReturnType<CliServices['keyring']> | undefined;
    const seal = (plaintext: string, field: string) => {
      keyring ??= services.keyring();
      return sealSecret(keyring, plaintext, secretContext(id, field as Parameters<typeof secretContext>[1]));
    };
    const next = applySettingsFlags(current?.value as Record<string, unknown> | undefined, values as SettingsFlags, readSecret, seal);
    const parsed = parseRetentionSettings(next);
    // The archive URI the settings keep (sealed) is a destination too: checked opened, never printed.
    const sealedUri = parsed.archiveMongoUri;
    const opened = sealedUri === undefined ? {} : { archiveMongoUri: openSecret((keyring ??= services.keyring()), sealedUri, secretContext(id, 'archiveMongoUri')) };
    await assertDestinationsAllowed(destinationPolicyFromConfig(services.config), parsed, opened);
    const saved = await cp.settings.putRetention(id, next, { actor: 'cli', ...(current ? { expectedVersion: current.version } : {}), now: io.now() });
    const schedule = await syncTenantSchedule(services.queues().runs, id, saved.value);
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'settings.changed', outcome: 'success', target: 'retention', details: { version: saved.version, schedule } });
    io.stdout(`saved retention settings of ${id} (version ${saved.version}); schedule ${schedule === 'scheduled' ? `"${saved.value.schedule.cron}" ${saved.value.schedule.timezone}` : 'paused'}`);
    return 0;
  }
  if (sub === 'allowlist') return tenantAllowlistCommand(rest, io, services, usage);
  throw usage(`unknown tenant command "${sub ?? ''}"`);
}

async function runNowCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  await cp.settings.requireRetention(id);
  const jobId = await enqueueRunNow(services.queues(), id, io.now());
  await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'run.requested', outcome: 'success', target: jobId });
  io.stdout(`queued run ${jobId}; follow it with: retention runs ${id}`);
  return 0;
}

function parseInstant(value: string | undefined, flag: string): Date {
  if (value === undefined) throw usage(`--${flag} is required`);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) throw usage(`--${flag} expects an ISO-8601 date or UTC time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw usage(`--${flag} is not a valid date: ${value}`);
  return date;
}

async function backfillCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { from: { type: 'string' }, to: { type: 'string' }, types: { type: 'string' } }, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  const from = parseInstant(values.from, 'from');
  const to = parseInstant(values.to, 'to');
  if (to <= from) throw usage('--to must be after --from');
  let types: RecordType[] | undefined;
  if (values.types !== undefined) {
    const list = values.types.split(',').map((t) => t.trim());
    const bad = list.filter((t) => !isRecordType(t));
    if (bad.length > 0 || list.length === 0) throw usage(`--types takes call-logs, chats and contacts; not ${bad.join(', ')}`);
    types = list as RecordType[];
  }
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  await cp.settings.requireRetention(id);
  const jobId = await enqueueBackfill(services.queues(), id, { from, to, ...(types ? { types } : {}) }, io.now());
  await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'run.backfill-requested', outcome: 'success', target: jobId, details: { from: from.toISOString(), to: to.toISOString() } });
  io.stdout(`queued backfill ${jobId} for ${from.toISOString()} to ${to.toISOString()}`);
  return 0;
}

async function runsCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { limit: { type: 'string' } }, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw usage('--limit expects a whole number from 1 to 200');
  const cp = await services.controlPlane();
  const runs = await cp.runs.listByTenant(id, { limit });
  if (runs.length === 0) io.stdout(`no runs yet for ${id}; start one with: retention run-now ${id}`);
  for (const run of runs) {
    const totals = Object.values(run.totals);
    const done = run.status === 'done' || totals.length > 0;
    const records = done ? totals.reduce((n, t) => n + t.records, 0) : run.progress.records;
    const rejected = done ? totals.reduce((n, t) => n + t.rejected, 0) : run.progress.rejected;
    const bytes = done ? totals.reduce((n, t) => n + t.bytes, 0) : run.progress.bytes;
    const chunks = run.status === 'done' ? '' : `  chunks ${run.progress.chunksDone}/${run.progress.chunkCount}${run.status === 'running' ? ' so far' : ''}`;
    io.stdout(`${run.createdAt.toISOString()}  ${run.id}  ${run.trigger.padEnd(8)}  ${run.status.padEnd(7)}  records ${records}  rejected ${rejected}  bytes ${bytes}${chunks}${run.manifest ? `  ${run.manifest.path}` : ''}`);
    const lastError = run.errors.at(-1);
    if (run.status === 'failed' && lastError) io.stdout(`    ${lastError.code}: ${lastError.message}`);
  }
  return 0;
}

/**
 * The target `verify` reads: a location the operator typed, so neither `ALLOWED_PRIVATE_DESTINATIONS` nor
 * `LOCAL_TARGET_BASE_DIR` limits it (they bind what tenant settings may reach).
 */
function targetForVerify(location: string, values: { fingerprint?: string; 'private-key-file'?: string; 'password-file'?: string }, io: CliIo): Target {
  if (!location.startsWith('sftp://')) return new LocalDirectoryTarget({ root: location });
  const url = new URL(location);
  if (!url.username) throw usage('an sftp:// location needs a user name: sftp://user@host[:port]/root');
  if (!values.fingerprint) throw usage('verifying over SFTP needs --fingerprint SHA256:... (the server\'s pinned host key)');
  const secret = (path: string | undefined) => (path === undefined ? undefined : io.readFile(path).replace(/\r?\n$/, ''));
  const privateKey = secret(values['private-key-file']);
  const password = secret(values['password-file']);
  if (privateKey === undefined && password === undefined) throw usage('verifying over SFTP needs --private-key-file or --password-file');
  let pin: HostKeyPin;
  try {
    pin = parseHostKeyPin(values.fingerprint);
  } catch (err) {
    throw usage(`--fingerprint: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new SftpTarget({
    host: url.hostname,
    port: url.port ? Number(url.port) : 22,
    username: decodeURIComponent(url.username),
    hostKeyFingerprint: pin.fingerprint,
    ...(pin.type !== undefined ? { hostKeyType: pin.type } : {}),
    root: decodeURIComponent(url.pathname) || '/',
    network: NetworkPolicy.allowingEverything(),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(password !== undefined ? { password } : {}),
  });
}

async function verifyCommand(args: readonly string[], io: CliIo, _services: CliServices): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { tenant: { type: 'string' }, fingerprint: { type: 'string' }, 'private-key-file': { type: 'string' }, 'password-file': { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const location = onePositional(positionals, 'drop location (a directory or sftp://user@host/root)');
  const target = targetForVerify(location, values, io);
  try {
    let tenants: string[];
    if (values.tenant !== undefined) tenants = [assertTenantId(values.tenant)];
    else {
      tenants = (await target.list('')).filter((e) => e.type === 'directory' && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(e.name)).map((e) => e.name);
      if (tenants.length === 0) throw usage(`no tenant directories found in ${location}; pass --tenant <id>`);
    }
    let failed = false;
    const reports: DropVerificationReport[] = [];
    for (const tenantId of tenants) {
      const report = await verifyDrop(target, tenantId);
      reports.push(report);
      failed ||= report.verdict !== 'ok';
      if (values.json) continue;
      io.stdout(`${tenantId}: ${report.manifests.length} manifest(s) in the chain, ${report.filesChecked} file(s) checked`);
      for (const problem of report.problems) io.stdout(`  ${problem.severity.toUpperCase()} ${problem.code} ${problem.path}: ${problem.message}`);
      io.stdout(`${tenantId}: verdict ${report.verdict.toUpperCase()}`);
    }
    if (values.json) io.stdout(JSON.stringify(reports, null, 2));
    return failed ? 1 : 0;
  } finally {
    await target.close();
  }
}

async function keysCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  if (args[0] !== 'rotate' || args.length !== 1) throw usage('expected: keys rotate');
  const keyring = services.keyring();
  const cp = await services.controlPlane();
  let resealed = 0;
  for (const tenantId of await cp.settings.listRetentionTenants()) {
    const current = await cp.settings.requireRetention(tenantId);
    const value = structuredClone(current.value) as Record<string, unknown> & { source: Record<string, unknown>; target: Record<string, unknown> };
    let changed = 0;
    const reseal = (holder: Record<string, unknown>, key: string, field: Parameters<typeof secretContext>[1]) => {
      const sealed = holder[key];
      if (typeof sealed === 'string' && needsReseal(keyring, sealed)) {
        holder[key] = resealSecret(keyring, sealed, secretContext(tenantId, field));
        changed += 1;
      }
    };
    reseal(value.source, 'token', 'source.token');
    reseal(value.target, 'password', 'target.password');
    reseal(value.target, 'privateKey', 'target.privateKey');
    reseal(value.target, 'passphrase', 'target.passphrase');
    reseal(value, 'archiveMongoUri', 'archiveMongoUri');
    if (changed > 0) {
      await cp.settings.putRetention(tenantId, parseRetentionSettings(value), { actor: 'cli', expectedVersion: current.version, now: io.now() });
      await cp.audit.append(tenantId, { actor: { type: 'cli', id: 'cli' }, action: 'keys.rotated', outcome: 'success', details: { secrets: changed, keyId: keyring.activeKeyId } });
      resealed += changed;
    }
  }
  io.stdout(`re-sealed ${resealed} secret(s) under key "${keyring.activeKeyId}"; old keys can be removed from RETENTION_MASTER_KEYS once every process runs with this ring`);
  return 0;
}

async function importCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { retry: { type: 'boolean' } }, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  const { deps, close } = await openImportDeps(services.config, services.keyring(), pino({ level: 'silent' }));
  const redis = new Redis(services.config.redisUrl, { maxRetriesPerRequest: null });
  const queues = createImportQueues(redis, services.config.queuePrefix);
  try {
    const paths = await findManifestsToImport(deps, id);
    if (values.retry) for (const record of await deps.imports.list(id)) if (record.status === 'failed') paths.push(record.path);
    for (const path of paths) await enqueueImport(queues, id, path, { retryFailed: true });
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'archive.import-requested', outcome: 'success', details: { manifests: paths.length, retry: values.retry === true } });
    io.stdout(paths.length === 0 ? `nothing to import for ${id}: every manifest of the drop is imported or refused (retry refused ones with --retry)` : `queued the import of ${paths.length} manifest(s) of ${id}`);
    return 0;
  } finally {
    await queues.close();
    redis.disconnect();
    await close();
  }
}

async function rebuildCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  const { deps, close } = await openImportDeps(services.config, services.keyring(), pino({ level: 'silent' }));
  try {
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'archive.rebuild-requested', outcome: 'success' });
    const result = await rebuildArchive(deps, id, (path) => io.stdout(`imported ${path}`));
    for (const failure of result.failed) io.stdout(`REFUSED ${failure.path}: [${failure.code}] ${failure.message}`);
    io.stdout(`rebuilt the archive of ${id}: ${result.imported.length} manifest(s) imported, ${result.failed.length} refused`);
    return result.failed.length === 0 ? 0 : 1;
  } finally {
    await close();
  }
}

async function holdCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: { contact: { type: 'string' }, chat: { type: 'string' }, number: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } },
    allowPositionals: true,
  });
  const id = assertTenantId(positionals[0]);
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  const { deps, close } = await openImportDeps(services.config, services.keyring(), pino({ level: 'silent' }));
  const actor = values.by ?? 'cli';
  try {
    if (sub === 'place' && positionals.length === 1) {
      const subjects = [
        values.contact !== undefined ? { kind: 'contact', contactId: values.contact } : undefined,
        values.chat !== undefined ? { kind: 'chat', chatId: values.chat } : undefined,
        values.number !== undefined ? { kind: 'number', e164: values.number } : undefined,
        values.from !== undefined || values.to !== undefined ? { kind: 'range', from: parseInstant(values.from, 'from'), to: parseInstant(values.to, 'to') } : undefined,
      ].filter((subject) => subject !== undefined);
      if (subjects.length !== 1) throw usage('a hold covers exactly one of --contact ID, --chat ID, --number +E164, or --from ISO --to ISO');
      if (!values.reason?.trim()) throw usage('a hold needs --reason "why the records must be kept"');
      const hold = await deps.legalHolds.place(id, { subject: subjects[0], reason: values.reason.trim(), placedBy: actor }, io.now());
      await cp.audit.append(id, { actor: { type: 'cli', id: actor }, action: 'legal-hold.placed', outcome: 'success', target: hold.id, details: { kind: hold.subject.kind, reason: hold.reason } });
      io.stdout(`placed legal hold ${hold.id} on ${describeHold(hold.subject)}: ${hold.reason}`);
      return 0;
    }
    if (sub === 'release' && positionals.length === 2) {
      const holdId = positionals[1] as string;
      await deps.legalHolds.release(id, holdId, actor, io.now());
      await cp.audit.append(id, { actor: { type: 'cli', id: actor }, action: 'legal-hold.released', outcome: 'success', target: holdId });
      io.stdout(`released legal hold ${holdId}`);
      return 0;
    }
    if (sub === 'list' && positionals.length === 1) {
      const holds = await deps.legalHolds.listActive(id);
      if (holds.length === 0) io.stdout(`no active legal holds for ${id}`);
      for (const hold of holds) io.stdout(`${hold.id}  ${describeHold(hold.subject)}  placed ${hold.placedAt.toISOString()} by ${hold.placedBy}: ${hold.reason}`);
      return 0;
    }
    throw usage('expected: hold place <tenant> ... | hold release <tenant> <hold id> | hold list <tenant>');
  } finally {
    await close();
  }
}

function describeHold(subject: { kind: string; contactId?: string; chatId?: string; e164?: string; from?: Date; to?: Date }): string {
  switch (subject.kind) {
    case 'contact':
      return `contact ${subject.contactId ?? ''} (and its calls and chats)`;
    case 'chat':
      return `chat ${subject.chatId ?? ''}`;
    case 'number':
      return `number ${subject.e164 ?? ''}`;
    default:
      return `records from ${subject.from?.toISOString() ?? ''} to ${subject.to?.toISOString() ?? ''}`;
  }
}

async function purgeCommand(args: readonly string[], io: CliIo, services: CliServices): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { 'dry-run': { type: 'boolean' }, yes: { type: 'boolean' } }, allowPositionals: true });
  const id = assertTenantId(onePositional(positionals, 'tenant id'));
  if (values['dry-run'] === values.yes) throw usage('say --dry-run to list what would be purged, or --yes to purge it now');
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  const { deps, close } = await openImportDeps(services.config, services.keyring(), pino({ level: 'silent' }));
  try {
    const result = await purgeTenantArchive(deps, id, { dryRun: values['dry-run'] === true, actor: 'cli' });
    if (!result) {
      io.stdout(`${id} has no online archive retention (set archiveRetentionDays in its settings); nothing to purge`);
      return 0;
    }
    const verb = result.dryRun ? 'would purge' : 'purged';
    for (const [type, purge] of Object.entries(result.types)) {
      io.stdout(`${type}: ${verb} ${purge.ids.length} record(s) not updated since ${purge.cutoff.toISOString()}${purge.messages ? ` (${purge.messages} transcript messages)` : ''}`);
      for (const recordId of purge.ids) io.stdout(`  ${recordId}`);
    }
    return 0;
  } finally {
    await close();
  }
}

/** The real process's IO. */
export const processIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
  now: () => new Date(),
};
