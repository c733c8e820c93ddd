import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
import { TEST_MASTER_KEYS } from '../../support/export-harness.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const dbName = uniqueDbName('cli_holds');
const prefix = uniqueName('cli-holds');
const env = {
  MONGODB_URL: inject('mongoUrl'),
  MONGODB_DATABASE: dbName,
  MONGODB_ARCHIVE_DB_PREFIX: `${dbName.slice(0, 12)}_`,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: prefix,
  RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
};

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env,
    readFile: (p) => readFileSync(p, 'utf8'),
    now: () => new Date('2026-11-23T12:00:00Z'),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let client: MongoClient;
beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  expect((await cli(['tenant', 'create', 'hold-co'])).code).toBe(0);
});
afterAll(async () => {
  const redis = createTestRedis();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(client, dbName);
  await client.close();
});

describe('retention hold / purge', () => {
  it('places, lists and releases a legal hold, audited with who and why', async () => {
    const placed = await cli(['hold', 'place', 'hold-co', '--contact', 'c-42', '--reason', 'litigation 2026-17', '--by', 'legal@acme']);
    expect(placed.err).toBe('');
    expect(placed.code).toBe(0);
    const holdId = /placed legal hold (\S+)/.exec(placed.out)?.[1] as string;
    expect(holdId).toBeTruthy();
    expect((await cli(['hold', 'place', 'hold-co', '--from', '2026-01-01', '--to', '2026-02-01', '--reason', 'audit period'])).code).toBe(0);

    const listed = await cli(['hold', 'list', 'hold-co']);
    expect(listed.out).toContain(`${holdId}  contact c-42 (and its calls and chats)`);
    expect(listed.out).toContain('by legal@acme: litigation 2026-17');
    expect(listed.out).toContain('records from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z');

    expect((await cli(['hold', 'release', 'hold-co', holdId, '--by', 'legal@acme'])).code).toBe(0);
    expect((await cli(['hold', 'list', 'hold-co'])).out).not.toContain(holdId);
    const actions = (await client.db(dbName).collection('audit').find({ tenantId: 'hold-co' }).toArray()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['legal-hold.placed', 'legal-hold.released']));
  });

  it.each([
    [['hold', 'place', 'hold-co', '--reason', 'no subject']],
    [['hold', 'place', 'hold-co', '--chat', 'x', '--contact', 'y', '--reason', 'two subjects']],
    [['hold', 'place', 'hold-co', '--chat', 'x']],
    [['hold', 'place', 'hold-co', '--from', 'last week', '--to', '2026-01-01', '--reason', 'bad date']],
    [['hold', 'frobnicate', 'hold-co']],
    [['purge', 'hold-co']],
    [['purge', 'hold-co', '--dry-run', '--yes']],
  ])('refuses %j as a usage error', async (args) => {
    expect((await cli(args)).code).toBe(2);
  });

  it.each([
    [['hold', 'place', 'hold-co', '--number', '0049-30-1234', '--reason', 'not E.164'], 'ERR_LEGAL_HOLD_INVALID'],
    [['hold', 'place', 'hold-co', '--chat', 'x', '--reason', 'ab'], 'ERR_LEGAL_HOLD_INVALID'],
    [['hold', 'list', 'nobody-co'], 'ERR_TENANT_NOT_FOUND'],
    [['hold', 'list', '../x'], 'ERR_TENANT_ID_INVALID'],
  ])('refuses %j with %s', async (args, code) => {
    const result = await cli(args);
    expect(result.code).toBe(1);
    expect(result.err).toContain(code);
  });

  it('says there is nothing to purge for a tenant without archive retention', async () => {
    const result = await cli(['purge', 'hold-co', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('has no online archive retention');
  });
});
