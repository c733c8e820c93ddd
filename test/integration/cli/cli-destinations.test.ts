import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
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
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { ...baseEnv, ...env }, readFile: (p) => readFileSync(p, 'utf8'), now: () => new Date('2026-11-23T12:00:00Z') };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const stored = async (tenantId: string) => client.db(dbName).collection<{ _id: string }>('settings').findOne({ _id: `${tenantId}/retention` });
const sftpFlags = (host: string) => ['--target', 'sftp', '--host', host, '--port', String(sftp.port), '--username', 'drop', '--password-file', passwordFile, '--fingerprint', sftp.hostKeyFingerprint, '--source', 'demo', '--seed', '1'];

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'retention-cli-dest-')));
  base = join(scratch, 'base');
  await mkdir(join(base, 'acme'), { recursive: true });
  await mkdir(join(scratch, 'outside'));
  await symlink(join(scratch, 'outside'), join(base, 'escape'));
  passwordFile = join(scratch, 'password');
  await writeFile(passwordFile, 'cli-destination-password\n');
  client = await MongoClient.connect(inject('mongoUrl'));
  for (const id of ['cli-dest-net', 'cli-dest-local']) expect((await cli(['tenant', 'create', id])).code).toBe(0);
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
  it.each(['127.0.0.1', 'localhost', '10.0.0.8', '::ffff:192.168.1.9'])('refuses an SFTP host %s with ERR_DESTINATION_NOT_ALLOWED, saving nothing', async (host) => {
    const result = await cli(['tenant', 'set', 'cli-dest-net', ...sftpFlags(host)]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('error [ERR_DESTINATION_NOT_ALLOWED]: target.host: ');
    expect(result.err).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(await stored('cli-dest-net')).toBeNull();
  });

  it('refuses an http source at a loopback URL', async () => {
    const tokenFile = join(scratch, 'token');
    await writeFile(tokenFile, 'tok_cli\n');
    const result = await cli(['tenant', 'set', 'cli-dest-net', ...sftpFlags('sftp.example.com'), '--source', 'http', '--base-url', 'http://127.0.0.1:8080/api', '--token-file', tokenFile]);
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
    const result = await cli(['tenant', 'set', 'cli-dest-local', '--target', 'local', '--directory', join(base, 'acme'), '--source', 'demo', '--seed', '1'], { LOCAL_TARGET_BASE_DIR: base });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect((await stored('cli-dest-local'))?.value).toMatchObject({ target: { kind: 'local', directory: join(base, 'acme') } });
  });
});
