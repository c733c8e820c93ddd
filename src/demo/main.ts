import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config.js';
import { keyringFromConfig } from '../crypto/keyring-from-config.js';
import { RetentionError } from '../errors.js';
import type { DestinationAllowlist } from '../network/destination-allowlist.js';
import { createLogger } from '../logger.js';
import { enqueueRunNow } from '../queue/export-queues.js';
import { RECORD_TYPES } from '../records/record-type.js';
import type { Run } from '../store/runs-store.js';
import { destinationPolicyFromConfig } from '../tenants/destination-policy.js';
import { createRetentionSettingsService, settingsRefusalError } from '../tenants/retention-settings-service.js';
import { startWorkerProcess } from '../../worker/worker-process.js';
import { issueOwnerActivation } from '../portal/owner-activation.js';
import { startPortalProcess } from '../portal/portal-process.js';
import { demoMailSettings, demoMasterKeys, findOrStartMongo, findOrStartRedis } from './demo-services.js';

const DEMO_TENANT = 'demo';
const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * `npm run demo`: the worker and the portal in one process with a seeded demo tenant whose drops go to
 * a local directory. Uses the Redis and MongoDB it finds, or starts what it can, and says which. Mail goes to the
 * SMTP server of `SMTP_URL`, or else into `.eml` files in the data directory.
 */
async function main(): Promise<void> {
  const dataDir = resolve(process.env.DEMO_DATA_DIR ?? 'data');
  const dropDir = resolve(dataDir, 'drop');
  await mkdir(dropDir, { recursive: true });

  const redis = await findOrStartRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', dataDir);
  const mongo = await findOrStartMongo(process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017');
  const keys = await demoMasterKeys(process.env, dataDir);
  const host = process.env.HOST ?? '127.0.0.1';
  const port = await portOrFree(host, Number(process.env.PORT ?? 3000));
  const loaded = loadConfig({
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    REDIS_URL: redis.url,
    MONGODB_URL: mongo.url,
    RETENTION_MASTER_KEYS: keys.keys,
    RETENTION_MASTER_KEYS_FILE: undefined,
    SPOOL_DIR: process.env.SPOOL_DIR ?? resolve(dataDir, 'spool'),
    HOST: host,
    PORT: String(port),
    PUBLIC_URL: process.env.PUBLIC_URL ?? `http://localhost:${port}`,
    DEFAULT_TENANT: DEMO_TENANT,
    SESSION_SECRET: process.env.SESSION_SECRET ?? randomBytes(32).toString('base64'),
    SESSION_SECRET_FILE: undefined,
    SESSION_COOKIE_SECURE: process.env.SESSION_COOKIE_SECURE ?? 'false',
    // One machine: tenants may reach its loopback services (an SFTP server or export API tried locally) and deliver
    // into the demo's own data directory, nothing else of the machine.
    ALLOWED_PRIVATE_DESTINATIONS: process.env.ALLOWED_PRIVATE_DESTINATIONS ?? '127.0.0.0/8, ::1/128',
    LOCAL_TARGET_BASE_DIR: process.env.LOCAL_TARGET_BASE_DIR ?? dataDir,
  });
  const mail = demoMailSettings(loaded.mail, process.env, dataDir);
  const config = Object.freeze({ ...loaded, mail: mail.settings });

  say('Retention demo');
  say(`  Redis:      ${redis.description}`);
  say(`  MongoDB:    ${mongo.description}`);
  if (mongo.inMemory)
    say(
      '  WARNING:    no MongoDB server was found: the control plane and the archive live in memory and are gone when the demo stops. Set MONGODB_URL or install mongod to keep them.',
    );
  say(`  Master key: ${keys.description}`);
  say(`  Drops:      ${dropDir}`);
  say(`  Mail:       ${mail.description}`);
  say(
    `  Reachable:  local targets below ${config.localTargetBaseDir ?? '(none)'}; private destinations ${describeAllowlist(config.allowedPrivateDestinations)}`,
  );

  const logger = createLogger({ level: config.logLevel, name: 'demo' });
  const worker = await startWorkerProcess(config, logger);
  const portal = await startPortalProcess(config, logger);
  const stop = async (code: number) => {
    await portal.stop().catch(() => undefined);
    await worker.stop(5_000).catch(() => undefined);
    await mongo.stop().catch(() => undefined);
    await redis.stop().catch(() => undefined);
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  const { controlPlane, queues } = worker;
  if (!(await controlPlane.tenants.get(DEMO_TENANT))) await controlPlane.tenants.create({ id: DEMO_TENANT, displayName: 'Demo Contact Center' });
  const keyring = keyringFromConfig(config);
  const retentionSettings = createRetentionSettingsService({
    settings: controlPlane.settings,
    audit: controlPlane.audit,
    keyring: () => keyring,
    destinations: destinationPolicyFromConfig(config),
    runs: () => queues.runs,
    importQueues: () => worker.importQueues,
  });
  const current = await controlPlane.settings.getRetention(DEMO_TENANT);
  const saved = await retentionSettings.save(
    DEMO_TENANT,
    {
      settings: {
        mode: 'online',
        dataTypes: [...RECORD_TYPES],
        schedule: { cron: '*/15 * * * *', timezone: 'UTC' },
        source: { kind: 'demo', seed: 2026, recordsPerHour: 30, invalidShare: 0.01 },
        target: { kind: 'local', directory: dropDir },
        files: { format: 'json', gzip: true },
      },
    },
    { type: 'system', id: 'demo' },
    current === undefined ? {} : { expectedVersion: current.version },
  );
  if (saved.status === 'refused') throw settingsRefusalError(saved.problems);
  if (saved.status === 'stale')
    throw new RetentionError('ERR_SETTINGS_CONFLICT', 'the settings of the demo tenant changed while the demo saved them: start the demo again');
  say(`  Tenant:     "${DEMO_TENANT}", demo source, archived every 15 minutes; first run now`);
  say(`  Portal:     ${config.publicUrl} (plain http with a non-Secure cookie: for this machine only)`);
  if ((await controlPlane.users.findOwner(DEMO_TENANT)) === undefined) {
    const activation = await issueOwnerActivation({
      controlPlane,
      tenantId: DEMO_TENANT,
      publicUrl: config.publicUrl,
      defaultTenant: DEMO_TENANT,
      createdBy: 'demo',
    });
    say(`  Owner:      activate the demo owner (choose email and password) at ${activation.link}`);
    say(`              the link works once, until ${activation.expiresAt.toISOString()}`);
  } else {
    say(`  Owner:      already activated; sign in at ${config.publicUrl}/sign-in`);
  }

  const startedAt = new Date();
  await enqueueRunNow(queues, DEMO_TENANT, startedAt);
  const run = await waitForFirstRun(() => controlPlane.runs.listByTenant(DEMO_TENANT, { limit: 1 }), startedAt);
  if (run.status !== 'done') {
    say(`First run ${run.id} failed: ${run.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`);
    return stop(1);
  }
  const totals = Object.entries(run.totals).map(([type, t]) => `${type} ${t.records}${t.rejected ? ` (+${t.rejected} rejected)` : ''}`);
  say('');
  say(`First run ${run.id} done: ${totals.join(', ')}; ${run.files.length} files.`);
  say(`  Manifest:   ${resolve(dropDir, run.manifest?.path ?? '')}`);
  say(`  Verify it:  npx retention verify ${dropDir}`);
  say('The worker keeps running on its schedule; press Ctrl-C to stop.');
}

/** The operator allowance for non-public destinations, in one line. */
function describeAllowlist(allowlist: DestinationAllowlist): string {
  const entries = [...allowlist.ranges.map((range) => range.cidr), ...allowlist.hostNames];
  return entries.length === 0 ? 'none (public addresses only)' : entries.join(', ');
}

/** `preferred` when nothing listens on it, else a free port (the demo must not fail because 3000 is taken). */
async function portOrFree(host: string, preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((done) => {
      const probe = createServer();
      probe.once('error', () => done(undefined));
      probe.listen(port, host, () => {
        const address = probe.address();
        probe.close(() => done(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0)) ?? preferred;
}

async function waitForFirstRun(latest: () => Promise<Run[]>, after: Date): Promise<Run> {
  for (let i = 0; i < 1200; i += 1) {
    const [run] = await latest();
    if (run && run.createdAt >= new Date(after.getTime() - 1000) && run.status !== 'running') return run;
    await sleep(250);
  }
  throw new RetentionError('ERR_DEMO_TIMEOUT', 'the first demo run did not finish within 5 minutes; run with LOG_LEVEL=info to see why');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof RetentionError) console.error(`demo: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
