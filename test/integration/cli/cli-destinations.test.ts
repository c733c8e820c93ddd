import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { createControlPlane } from '../../../src/store/control-plane.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { TEST_MASTER_KEYS } from '../../support/export-harness.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const sftp = inject('sftp');
const dbName = uniqueDbName('cli_dest');
const prefix = uniqueName('clidest');
let scratch: string;
let base: string;
let passwordFile: string;
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

const stored = async (tenantId: string) =>
  client
    .db(dbName)
    .collection<{ _id: string; version: number; value: Record<string, unknown> }>('settings')
    .findOne({ _id: `${tenantId}/retention` });
const sftpFlags = (host: string) => [
  '--target',
  'sftp',
  '--host',
  host,
  '--port',
  String(sftp.port),
  '--username',
  'drop',
  '--password-file',
  passwordFile,
  '--fingerprint',
  sftp.hostKeyFingerprint,
  '--source',
  'demo',
  '--seed',
  '1',
];

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'retention-cli-dest-')));
  base = join(scratch, 'base');
  await mkdir(join(base, 'acme'), { recursive: true });
  await mkdir(join(scratch, 'outside'));
  await symlink(join(scratch, 'outside'), join(base, 'escape'));
  passwordFile = join(scratch, 'password');
  await writeFile(passwordFile, 'cli-destination-password\n');
  client = await MongoClient.connect(inject('mongoUrl'));
  for (const id of ['cli-dest-net', 'cli-dest-local', 'cli-dest-arch']) expect((await cli(['tenant', 'create', id])).code).toBe(0);
});

afterAll(async () => {
  const redis = createTestRedis();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(client, dbName);
  await client.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('retention tenant set: destinations the operator has not allowed are refused (issue #10.6)', () => {
  it.each(['127.0.0.1', 'localhost', '10.0.0.8', '::ffff:192.168.1.9'])(
    'refuses an SFTP host %s with ERR_DESTINATION_NOT_ALLOWED, saving nothing',
    async (host) => {
      const result = await cli(['tenant', 'set', 'cli-dest-net', ...sftpFlags(host)]);
      expect(result.code).toBe(1);
      expect(result.err).toContain('error [ERR_DESTINATION_NOT_ALLOWED]: target.host: ');
      expect(result.err).toContain('ALLOWED_PRIVATE_DESTINATIONS');
      expect(await stored('cli-dest-net')).toBeNull();
    },
  );

  it('refuses an http source at a loopback URL', async () => {
    const tokenFile = join(scratch, 'token');
    await writeFile(tokenFile, 'tok_cli\n');
    const result = await cli([
      'tenant',
      'set',
      'cli-dest-net',
      ...sftpFlags('sftp.example.com'),
      '--source',
      'http',
      '--base-url',
      'http://127.0.0.1:8080/api',
      '--token-file',
      tokenFile,
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('[ERR_DESTINATION_NOT_ALLOWED]: source.baseUrl: ');
    expect(await stored('cli-dest-net')).toBeNull();
  });

  it('saves the loopback SFTP host once the operator allows it in ALLOWED_PRIVATE_DESTINATIONS', async () => {
    const result = await cli(['tenant', 'set', 'cli-dest-net', ...sftpFlags('127.0.0.1')], { ALLOWED_PRIVATE_DESTINATIONS: '127.0.0.0/8' });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect((await stored('cli-dest-net'))?.value).toMatchObject({ target: { kind: 'sftp', host: '127.0.0.1' } });
  });

  it.each<[string, () => string, () => Record<string, string>, string]>([
    ['without LOCAL_TARGET_BASE_DIR', () => join(base, 'acme'), () => ({}), 'ERR_LOCAL_TARGET_DISABLED'],
    ['outside LOCAL_TARGET_BASE_DIR', () => join(scratch, 'outside'), () => ({ LOCAL_TARGET_BASE_DIR: base }), 'ERR_LOCAL_TARGET_OUTSIDE_BASE'],
    ['through a link out of LOCAL_TARGET_BASE_DIR', () => join(base, 'escape'), () => ({ LOCAL_TARGET_BASE_DIR: base }), 'ERR_LOCAL_TARGET_OUTSIDE_BASE'],
  ])('refuses a local directory %s', async (_label, directory, env, code) => {
    const result = await cli(['tenant', 'set', 'cli-dest-local', '--target', 'local', '--directory', directory(), '--source', 'demo', '--seed', '1'], env());
    expect(result.code).toBe(1);
    expect(result.err).toContain(`error [${code}]: target.directory: `);
    expect(await stored('cli-dest-local')).toBeNull();
  });

  it('saves a local directory below LOCAL_TARGET_BASE_DIR', async () => {
    const result = await cli(['tenant', 'set', 'cli-dest-local', '--target', 'local', '--directory', join(base, 'acme'), '--source', 'demo', '--seed', '1'], {
      LOCAL_TARGET_BASE_DIR: base,
    });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect((await stored('cli-dest-local'))?.value).toMatchObject({ target: { kind: 'local', directory: join(base, 'acme') } });
  });
});

describe('retention tenant set: the archive MongoDB URI the settings keep is checked too (issue #10.6)', () => {
  const PASSWORD = 'Cli-Arch1ve-S3cret';
  const keyring = parseKeyring(TEST_MASTER_KEYS);
  const tenant = 'cli-dest-arch';

  /** Stores settings holding the sealed archive URI `uri` (as the portal saves it), at the next version. */
  async function storeArchiveUri(uri: string): Promise<number> {
    const settings = createControlPlane(client.db(dbName)).settings;
    const current = await settings.getRetention(tenant);
    const saved = await settings.putRetention(
      tenant,
      {
        mode: 'online',
        dataTypes: ['chats'],
        schedule: { cron: '0 2 * * *', timezone: 'UTC' },
        source: { kind: 'demo', seed: 1 },
        target: {
          kind: 'sftp',
          host: 'sftp.example.com',
          username: 'drop',
          password: sealSecret(keyring, 'pw', secretContext(tenant, 'target.password')),
          hostKeyFingerprint: sftp.hostKeyFingerprint,
        },
        archiveMongoUri: sealSecret(keyring, uri, secretContext(tenant, 'archiveMongoUri')),
      },
      { actor: 'test', ...(current ? { expectedVersion: current.version } : {}) },
    );
    return saved.version;
  }

  it.each([
    ['127.0.0.1:27017', '"127.0.0.1" is the loopback'],
    ['localhost:27017', '"localhost" resolves to the loopback'],
    ['[::1]:27017', '"::1" is the loopback'],
    ['10.1.2.3:27017', '"10.1.2.3" is a private network'],
    ['93.184.216.34:27017,10.9.8.7:27018', '"10.9.8.7" is a private network'],
  ])('refuses an archive URI at %s: exit 1 with ERR_DESTINATION_NOT_ALLOWED, nothing saved, no credentials printed', async (hosts, what) => {
    const version = await storeArchiveUri(`mongodb://archiver:${PASSWORD}@${hosts}/acme_archive`);
    const result = await cli(['tenant', 'set', tenant, '--cron', '0 3 * * *']);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`error [ERR_DESTINATION_NOT_ALLOWED]: archiveMongoUri: archive MongoDB ${what}`);
    expect(result.err).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(`${result.out}${result.err}`).not.toContain(PASSWORD);
    expect(`${result.out}${result.err}`).not.toContain('archiver');
    expect(await stored(tenant)).toMatchObject({ version, value: { schedule: { cron: '0 2 * * *' } } });
  });

  it('saves once the operator allows the archive host in ALLOWED_PRIVATE_DESTINATIONS', async () => {
    const version = await storeArchiveUri(`mongodb://archiver:${PASSWORD}@127.0.0.1:27017,[::1]:27018/acme_archive`);
    const result = await cli(['tenant', 'set', tenant, '--cron', '0 3 * * *'], { ALLOWED_PRIVATE_DESTINATIONS: '127.0.0.0/8, ::1/128' });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(await stored(tenant)).toMatchObject({ version: version + 1, value: { schedule: { cron: '0 3 * * *' } } });
  });
});
