import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RunsStore } from '../../../src/store/runs-store.js';
import { UsersStore } from '../../../src/store/users-store.js';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { openSecret } from '../../../src/crypto/secret-box.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { parseSsoSettingsInput } from '../../../src/sso/sso-settings.js';
import { openSsoSecret, sealSsoSecret, SsoSettingsStore } from '../../../src/sso/sso-settings-store.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { createExportHarness, TEST_MASTER_KEYS, type ExportHarness } from '../../support/export-harness.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';

const sftp = inject('sftp');
const dbName = uniqueDbName('cli');
const prefix = uniqueName('cli');
let scratch: string;
let client: MongoClient;

const baseEnv = {
  MONGODB_URL: inject('mongoUrl'),
  MONGODB_DATABASE: dbName,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: prefix,
  RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
};

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: { ...baseEnv, ...env },
    readFile: (p) => readFileSync(p, 'utf8'),
    now: () => new Date('2026-11-23T12:00:00Z'),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'retention-cli-'));
  client = await MongoClient.connect(inject('mongoUrl'));
});

afterAll(async () => {
  const redis = createTestRedis();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(client, dbName);
  await client.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('retention tenant …', () => {
  it('creates a tenant once and refuses bad or duplicate ids', async () => {
    const created = await cli(['tenant', 'create', 'cli-acme', '--name', 'Acme']);
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/owner activation link \(works once, until 2026-11-2\dT.*\): http:\/\/\S+\/activate\/[A-Za-z0-9_-]{40,}/);
    const reissued = await cli(['tenant', 'activation-link', 'cli-acme']);
    expect(reissued.code).toBe(0);
    expect(reissued.out.split(': ').at(-1)).not.toBe(created.out.match(/http\S+\/activate\/\S+/)?.[0]);
    const again = await cli(['tenant', 'create', 'cli-acme']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('ERR_TENANT_EXISTS');
    for (const bad of ['../x', 'UPPER', 'a', 'with space']) {
      const result = await cli(['tenant', 'create', bad]);
      expect(result.code).toBe(1);
      expect(result.err).toContain('ERR_TENANT_ID_INVALID');
    }
    expect((await cli(['tenant', 'list'])).out).toContain('cli-acme\tactive\tAcme');
  });

  it('prints an operator’s one-time password reset link for the owner or a user, and refuses one without an active account', async () => {
    expect((await cli(['tenant', 'create', 'cli-reset-co'])).code).toBe(0);
    const none = await cli(['tenant', 'password-reset-link', 'cli-reset-co']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('ERR_USER_NOT_FOUND');
    const users = new UsersStore(client.db(dbName));
    await users.create('cli-reset-co', { email: 'olga@reset.example', displayName: 'Olga', role: 'owner', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' });
    const issued = await cli(['tenant', 'password-reset-link', 'cli-reset-co']);
    expect(issued.code).toBe(0);
    expect(issued.out).toMatch(
      /password reset link for olga@reset\.example \(owner; works once, until 2026-11-23T13:00:00\.000Z;.*\): http:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]{40,}$/,
    );
    const unknown = await cli(['tenant', 'password-reset-link', 'cli-reset-co', '--email', 'nobody@reset.example']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('ERR_USER_NOT_FOUND');
    expect((await cli(['tenant', 'password-reset-link', 'cli-reset-co', '--bogus'])).code).not.toBe(0);
  });

  it('creates a tenant that requires two-factor authentication from the start, unless --password-only (ASVS 4.3.1)', async () => {
    const created = await cli(['tenant', 'create', 'cli-mfa-co']);
    expect(created.code).toBe(0);
    expect(created.out).toContain('two-factor authentication is required');
    const settings = await import('../../../src/store/security-settings-store.js');
    const store = new settings.SecuritySettingsStore(client.db(dbName));
    expect((await store.get('cli-mfa-co')).requireTwoFactor).toBe(true);
    const optedOut = await cli(['tenant', 'create', 'cli-pw-co', '--password-only']);
    expect(optedOut.out).toContain('NOT required');
    expect((await store.get('cli-pw-co')).requireTwoFactor).toBe(false);
    expect((await cli(['tenant', 'create', 'cli-typo-co', '--pasword-only'])).code).toBe(2);
  });

  it('sets SFTP settings with secrets read from files, seals them and never prints them', async () => {
    const passwordFile = join(scratch, 'password');
    await writeFile(passwordFile, 'correct horse battery staple\n');
    const set = await cli([
      'tenant',
      'set',
      'cli-acme',
      '--target',
      'sftp',
      '--host',
      'sftp.example.com',
      '--username',
      'drop',
      '--password-file',
      passwordFile,
      '--fingerprint',
      sftp.hostKeyFingerprint,
      '--root',
      '/archive',
      '--source',
      'demo',
      '--seed',
      '3',
      '--cron',
      '30 1 * * *',
      '--timezone',
      'Europe/Berlin',
    ]);
    expect(set.err).toBe('');
    expect(set.code).toBe(0);
    expect(set.out).toContain('"30 1 * * *" Europe/Berlin');

    const show = await cli(['tenant', 'show', 'cli-acme']);
    expect(show.code).toBe(0);
    expect(show.out).not.toContain('correct horse');
    const shown = JSON.parse(show.out) as { settings: { target: { password: string } }; nextRuns: string[] };
    expect(shown.settings.target.password).toBe('(sealed)');
    expect(shown.nextRuns).toEqual([
      '2026-11-24T00:30:00.000Z',
      '2026-11-25T00:30:00.000Z',
      '2026-11-26T00:30:00.000Z',
      '2026-11-27T00:30:00.000Z',
      '2026-11-28T00:30:00.000Z',
    ]);

    const stored = await client.db(dbName).collection<{ _id: string; value?: unknown }>('settings').findOne({ _id: 'cli-acme/retention' });
    const sealed = (stored?.value as { target: { password: string } }).target.password;
    expect(sealed).toMatch(/^v1\.test-k1\./);
    expect(openSecret(parseKeyring(TEST_MASTER_KEYS), sealed, secretContext('cli-acme', 'target.password'))).toBe('correct horse battery staple');
  });

  it('sets after how many failed runs in a row the schedule pauses itself (0: never)', async () => {
    const stored = async () =>
      (
        (await client.db(dbName).collection<{ _id: string; value?: unknown }>('settings').findOne({ _id: 'cli-acme/retention' }))?.value as {
          schedule: { pauseAfterFailures?: number };
        }
      ).schedule;
    expect((await cli(['tenant', 'set', 'cli-acme', '--pause-after-failures', '5'])).code).toBe(0);
    expect((await stored()).pauseAfterFailures).toBe(5);
    expect((await cli(['tenant', 'set', 'cli-acme', '--pause-after-failures', '0'])).code).toBe(0);
    expect((await stored()).pauseAfterFailures).toBe(0);
    expect((await cli(['tenant', 'set', 'cli-acme', '--pause-after-failures', '3'])).code).toBe(0);
  });

  it('pins the host key with its type from an ssh-keygen line, and a second key during a rotation (issue 11.4)', async () => {
    const fp = sftp.hostKeyFingerprint;
    const other = `SHA256:${'C'.repeat(43)}`;
    const stored = async () =>
      (
        (await client.db(dbName).collection<{ _id: string; value?: unknown }>('settings').findOne({ _id: 'cli-acme/retention' }))?.value as {
          target: Record<string, unknown>;
        }
      ).target;
    expect((await cli(['tenant', 'set', 'cli-acme', '--fingerprint', `256 ${fp} root@sftp (ED25519)`, '--second-fingerprint', `ssh-rsa ${other}`])).code).toBe(
      0,
    );
    expect(await stored()).toMatchObject({ hostKeyFingerprint: fp, hostKeyType: 'ssh-ed25519', secondHostKey: { fingerprint: other, type: 'ssh-rsa' } });
    expect((await cli(['tenant', 'set', 'cli-acme', '--fingerprint', fp, '--no-second-fingerprint'])).code).toBe(0);
    const target = await stored();
    expect(target.hostKeyFingerprint).toBe(fp);
    expect(target).not.toHaveProperty('hostKeyType');
    expect(target).not.toHaveProperty('secondHostKey');
  });

  it.each([
    [['--cron', '99 * * * *'], 'schedule.cron'],
    [['--timezone', 'Nowhere/City'], 'schedule.timezone'],
    [['--types', 'emails'], 'dataTypes'],
    [['--mode', 'sometimes'], 'mode'],
    [['--pause-after-failures', '51'], 'schedule.pauseAfterFailures'],
  ])('refuses tenant set %j naming %s', async (flags, field) => {
    const result = await cli(['tenant', 'set', 'cli-acme', ...flags]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('ERR_SETTINGS_INVALID');
    expect(result.err).toContain(field);
  });

  it.each([
    [['tenant', 'set', 'cli-acme', '--port', 'abc']],
    [['tenant', 'set', 'cli-acme', '--pause-after-failures', 'three']],
    [['tenant', 'set', 'cli-acme', '--password-file', '/does/not/exist']],
    [['tenant', 'set', 'cli-acme', '--unknown-flag']],
    [['tenant', 'set', 'cli-acme', '--fingerprint', 'MD5:00']],
    [['tenant', 'set', 'cli-acme', '--second-fingerprint', 'SHA256:short']],
    [['backfill', 'cli-acme', '--from', 'yesterday', '--to', '2026-11-02']],
    [['backfill', 'cli-acme', '--from', '2026-11-03', '--to', '2026-11-02']],
    [['backfill', 'cli-acme', '--from', '2026-11-01', '--to', '2026-11-02', '--types', 'faxes']],
    [['runs', 'cli-acme', '--limit', '0']],
    [['frobnicate']],
  ])('answers a usage error with exit code 2: %j', async (args) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
  });

  it('stops with exit code 78 and names the variable on a bad configuration', async () => {
    const result = await cli(['tenant', 'list'], { PORT: 'none' });
    expect(result.code).toBe(78);
    expect(result.err).toContain('PORT: expected');
  });

  it('queues a run and a backfill, audited', async () => {
    const run = await cli(['run-now', 'cli-acme']);
    expect(run.code).toBe(0);
    const backfill = await cli(['backfill', 'cli-acme', '--from', '2026-11-01', '--to', '2026-11-02T00:00:00Z', '--types', 'chats']);
    expect(backfill.code).toBe(0);
    const redis = createTestRedis();
    const { Queue } = await import('bullmq');
    const queue = new Queue('runs', { connection: redis, prefix });
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.data)).toEqual(
      expect.arrayContaining([
        { tenantId: 'cli-acme', trigger: 'manual' },
        { tenantId: 'cli-acme', trigger: 'backfill', backfill: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' }, types: ['chats'] },
      ]),
    );
    expect((await queue.getJobScheduler('tenant.cli-acme'))?.pattern).toBe('30 1 * * *');
    await queue.close();
    await redis.quit();
    const actions = (await client.db(dbName).collection('audit').find({ tenantId: 'cli-acme' }).toArray()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['tenant.created', 'settings.changed', 'run.requested', 'run.backfill-requested']));
  });

  it('lists runs with the progress of a running one and the totals of a finished one', async () => {
    const runs = new RunsStore(client.db(dbName));
    const createdAt = new Date('2026-11-23T11:00:00Z');
    await runs.createIfAbsent({ id: 'cli-running', tenantId: 'cli-acme', trigger: 'manual', windows: {}, previous: null, chunkCount: 4, createdAt });
    await runs.recordChunkDone('cli-acme', 'cli-running', { type: 'chats', index: 0, records: 120, rejected: 2, bytes: 4_096 });
    await runs.recordChunkDone('cli-acme', 'cli-running', { type: 'chats', index: 0, records: 120, rejected: 2, bytes: 4_096 });
    await runs.createIfAbsent({
      id: 'cli-done',
      tenantId: 'cli-acme',
      trigger: 'schedule',
      windows: {},
      previous: null,
      chunkCount: 1,
      createdAt: new Date(createdAt.getTime() - 60_000),
    });
    await runs.markDone('cli-acme', 'cli-done', {
      manifest: { runId: 'cli-done', path: 'cli-acme/m.json', sha256: 'a'.repeat(64) },
      files: [],
      totals: { contacts: { records: 9, rejected: 0, files: 1, bytes: 300 } },
    });
    const listed = await cli(['runs', 'cli-acme']);
    expect(listed.code).toBe(0);
    const lines = listed.out.split('\n');
    expect(lines.find((line) => line.includes('cli-running'))).toMatch(/running\s+records 120 {2}rejected 2 {2}bytes 4096 {2}chunks 1\/4 so far$/);
    expect(lines.find((line) => line.includes('cli-done'))).toMatch(/done\s+records 9 {2}rejected 0 {2}bytes 300 {2}cli-acme\/m\.json$/);
  });

  it('re-seals every secret under the new active key on keys rotate, the single sign-on credentials included', async () => {
    const k1 = parseKeyring(TEST_MASTER_KEYS);
    const sso = new SsoSettingsStore(client.db(dbName));
    const ssoInput = (mode: 'off' | 'optional', clientAuthMethod: 'client_secret_post' | 'private_key_jwt') =>
      parseSsoSettingsInput({ mode, issuer: 'https://idp.acme.example', clientId: 'retention', clientAuthMethod, allowedDomains: 'acme.example' });
    const privateKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const none = { clientSecret: undefined, privateKey: undefined, privateKeyId: undefined, certificate: undefined };
    await sso.put(
      'cli-acme',
      { ...ssoInput('optional', 'client_secret_post'), ...none, clientSecret: sealSsoSecret(k1, 'cli-acme', 'clientSecret', 'sso client secret') },
      { actor: 'test', expectedVersion: 0 },
    );
    await sso.put(
      'cli-mfa-co',
      { ...ssoInput('optional', 'private_key_jwt'), ...none, privateKey: sealSsoSecret(k1, 'cli-mfa-co', 'privateKey', privateKeyPem), privateKeyId: 'kid-1' },
      { actor: 'test', expectedVersion: 0 },
    );
    await sso.put('cli-pw-co', { ...ssoInput('off', 'client_secret_post'), ...none }, { actor: 'test', expectedVersion: 0 });

    const k2 = `k2:${randomBytes(32).toString('base64')}`;
    const rotated = await cli(['keys', 'rotate'], { RETENTION_MASTER_KEYS: `${TEST_MASTER_KEYS},${k2}`, RETENTION_ACTIVE_KEY_ID: 'k2' });
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain('re-sealed 3 secret(s) under key "k2"');
    const stored = await client.db(dbName).collection<{ _id: string; value?: unknown }>('settings').findOne({ _id: 'cli-acme/retention' });
    const sealed = (stored?.value as { target: { password: string } }).target.password;
    expect(sealed).toMatch(/^v1\.k2\./);
    expect(openSecret(parseKeyring(k2), sealed, secretContext('cli-acme', 'target.password'))).toBe('correct horse battery staple');

    const acmeSso = await sso.get('cli-acme');
    expect(acmeSso).toMatchObject({ mode: 'optional', clientAuthMethod: 'client_secret_post', version: 2, updatedBy: 'cli' });
    expect(acmeSso?.clientSecret).toMatch(/^v1\.k2\./);
    expect(openSsoSecret(parseKeyring(k2), 'cli-acme', 'clientSecret', acmeSso?.clientSecret ?? '')).toBe('sso client secret');
    const keyedSso = await sso.get('cli-mfa-co');
    expect(keyedSso).toMatchObject({ clientSecret: undefined, privateKeyId: 'kid-1', version: 2 });
    expect(keyedSso?.privateKey).toMatch(/^v1\.k2\./);
    expect(openSsoSecret(parseKeyring(k2), 'cli-mfa-co', 'privateKey', keyedSso?.privateKey ?? '')).toBe(privateKeyPem);
    expect((await sso.get('cli-pw-co'))?.version).toBe(1);

    const audit = new AuditLog(client.db(dbName));
    expect(
      (await audit.list('cli-acme', { action: 'keys.rotated' })).map((e) => e.details).sort((a, b) => String(a?.settings).localeCompare(String(b?.settings))),
    ).toEqual([
      { secrets: 1, keyId: 'k2', settings: 'retention' },
      { secrets: 1, keyId: 'k2', settings: 'sso' },
    ]);
    expect((await audit.list('cli-mfa-co', { action: 'keys.rotated' }))[0]).toMatchObject({ actor: { type: 'cli' }, details: { secrets: 1, settings: 'sso' } });
    expect(await audit.list('cli-pw-co', { action: 'keys.rotated' })).toEqual([]);

    expect((await cli(['keys', 'rotate'], { RETENTION_MASTER_KEYS: `${TEST_MASTER_KEYS},${k2}`, RETENTION_ACTIVE_KEY_ID: 'k2' })).out).toContain('re-sealed 0');
    expect((await sso.get('cli-acme'))?.version).toBe(2);
  });
});

describe('retention verify', () => {
  let harness: ExportHarness;
  let drop: string;
  const tenantId = 'cli-verify';
  let now = new Date('2026-11-23T12:00:00Z');

  beforeAll(async () => {
    drop = await mkdtemp(join(tmpdir(), 'retention-drop-'));
    harness = await createExportHarness(inject('mongoUrl'), { now: () => now, options: { initialLookbackMs: 2 * 3600_000, sliceMs: 3600_000 } });
    harness.startWorkers();
    await harness.controlPlane.tenants.create({ id: tenantId, displayName: 'Verify' });
    await harness.controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'offline',
        dataTypes: [...RECORD_TYPES],
        schedule: { cron: '0 * * * *' },
        source: { kind: 'demo', seed: 9, recordsPerHour: 6 },
        target: { kind: 'local', directory: drop },
      },
      { actor: 'test' },
    );
    for (let i = 0; i < 3; i += 1) {
      const { planRun } = await import('../../../worker/processors/run-processor.js');
      const planned = await planRun(harness.deps, harness.queues, { tenantId, trigger: 'manual' });
      if (planned.status !== 'planned') throw new Error(`run not planned: ${planned.status}`);
      expect((await harness.waitForRun(tenantId, planned.runId)).status).toBe('done');
      now = new Date(now.getTime() + 3600_000);
    }
  });

  afterAll(async () => {
    await harness?.close();
    await rm(drop, { recursive: true, force: true });
  });

  const files = async () =>
    (await readdir(drop, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort();

  it('verifies an intact three-manifest chain from a directory and over SFTP', async () => {
    const local = await cli(['verify', drop]);
    expect(local.out).toContain('3 manifest(s) in the chain');
    expect(local.out).toContain('verdict OK');
    expect(local.code).toBe(0);

    const sftpDir = `verify-${randomBytes(4).toString('hex')}`;
    const { cp } = await import('node:fs/promises');
    await cp(drop, join(sftp.root, sftpDir), { recursive: true });
    const keyFile = join(scratch, 'client-key');
    await writeFile(keyFile, sftp.clientPrivateKey, { mode: 0o600 });
    const remote = await cli([
      'verify',
      `sftp://${sftp.username}@${sftp.host}:${sftp.port}/${sftpDir}`,
      '--fingerprint',
      sftp.hostKeyFingerprint,
      '--private-key-file',
      keyFile,
      '--tenant',
      tenantId,
    ]);
    expect(remote.out).toContain('verdict OK');
    expect(remote.code).toBe(0);
    const wrongKey = await cli([
      'verify',
      `sftp://${sftp.username}@${sftp.host}:${sftp.port}/${sftpDir}`,
      '--fingerprint',
      `SHA256:${'B'.repeat(43)}`,
      '--private-key-file',
      keyFile,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toContain('ERR_HOST_KEY_MISMATCH');
  });

  it('catches a flipped byte', async () => {
    const file = (await files()).find((f) => f.endsWith('.json.gz')) as string;
    const original = await readFile(file);
    const flipped = Buffer.from(original);
    const middle = Math.floor(flipped.length / 2);
    flipped[middle] = (flipped[middle] ?? 0) ^ 0x01;
    await writeFile(file, flipped);
    try {
      const result = await cli(['verify', drop, '--tenant', tenantId]);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(/ERROR FILE_CHECKSUM_MISMATCH .*\.json\.gz/);
      expect(result.out).toContain('verdict FAILED');
    } finally {
      await writeFile(file, original);
    }
  });

  it('catches a deleted file', async () => {
    const file = (await files()).find((f) => f.includes('/contacts/')) as string;
    const original = await readFile(file);
    await unlink(file);
    try {
      const result = await cli(['verify', drop, '--tenant', tenantId]);
      expect(result.code).toBe(1);
      expect(result.out).toContain('FILE_MISSING');
    } finally {
      await writeFile(file, original);
    }
  });

  it('catches a manifest removed from the middle of the chain', async () => {
    const manifests = (await files()).filter((f) => /manifest-/.test(f));
    expect(manifests).toHaveLength(3);
    const runs = await harness.controlPlane.runs.listByTenant(tenantId);
    const middle = runs[1]!.manifest!.path;
    const path = join(drop, middle);
    const original = await readFile(path);
    await unlink(path);
    try {
      const result = await cli(['verify', drop, '--tenant', tenantId]);
      expect(result.code).toBe(1);
      expect(result.out).toContain('CHAIN_PREVIOUS_MISSING');
    } finally {
      await writeFile(path, original);
    }
    expect((await cli(['verify', drop])).code).toBe(0);
  });
});
