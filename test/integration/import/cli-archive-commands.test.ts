import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
import { createImportQueues, importJobId } from '../../../src/queue/import-queues.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { archiveDatabaseName } from '../../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../../../src/store/archive/archive-imports-store.js';
import { createControlPlane } from '../../../src/store/control-plane.js';
import { DropBuilder } from '../../support/import/drop-builder.js';
import { IMPORT_TEST_MASTER_KEYS } from '../../support/import/import-harness.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const dbName = uniqueDbName('cli_archive');
const prefix = uniqueName('clia');
const archivePrefix = `ca${process.pid}_`;
const tenant = 'cli-archive';
let client: MongoClient;
let dropRoot: string;

const env = {
  MONGODB_URL: inject('mongoUrl'),
  MONGODB_DATABASE: dbName,
  MONGODB_ARCHIVE_DB_PREFIX: archivePrefix,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: prefix,
  RETENTION_MASTER_KEYS: IMPORT_TEST_MASTER_KEYS,
  SPOOL_DIR: join(tmpdir(), 'retention-cli-archive-spool'),
  LOCAL_TARGET_BASE_DIR: tmpdir(),
};

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, readFile: (p) => readFileSync(p, 'utf8'), now: () => new Date() };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  dropRoot = await mkdtemp(join(tmpdir(), 'cli-archive-drop-'));
  const controlPlane = createControlPlane(client.db(dbName));
  await controlPlane.tenants.create({ id: tenant, displayName: tenant });
  await controlPlane.settings.putRetention(
    tenant,
    {
      mode: 'online',
      dataTypes: ['contacts'],
      schedule: { cron: '0 2 * * *' },
      source: { kind: 'demo', seed: 1 },
      target: { kind: 'local', directory: dropRoot },
    },
    { actor: 'test' },
  );
  const drop = new DropBuilder(dropRoot, tenant);
  for (let day = 0; day < 2; day += 1) {
    const from = new Date(Date.UTC(2026, 0, 5 + day));
    const to = new Date(from.getTime() + 86_400_000);
    await drop.deliver({
      runId: `cli-${day}`,
      window: { from, to },
      records: { contacts: [...generateRecords({ seed: 2, tenantId: tenant, type: 'contacts', from, to, ratesPerHour: { contacts: 3 } })] },
    });
  }
});

afterAll(async () => {
  const redis = createTestRedis();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await client.db(archiveDatabaseName(archivePrefix, tenant)).dropDatabase();
  await dropTestDatabase(client, dbName);
  await client.close();
  await rm(dropRoot, { recursive: true, force: true });
});

describe('retention import and rebuild', () => {
  it('queues the import of every manifest not yet imported', async () => {
    const result = await cli(['import', tenant]);
    expect(result).toMatchObject({ code: 0, out: 'queued the import of 2 manifest(s) of cli-archive' });
    const redis = createTestRedis();
    const queues = createImportQueues(redis, prefix);
    try {
      const jobs = await queues.imports.getWaiting();
      expect(jobs.map((job) => job.id).sort()).toEqual(jobs.map((job) => importJobId(tenant, job.data.manifestPath as string)).sort());
      expect(jobs).toHaveLength(2);
    } finally {
      await queues.close();
      await redis.quit();
    }
  });

  it('rebuilds the archive from the drop, in chain order', async () => {
    const result = await cli(['rebuild', tenant]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /imported cli-archive\/2026\/01\/06\/manifest-cli-0\.json\nimported cli-archive\/2026\/01\/07\/manifest-cli-1\.json\nrebuilt the archive of cli-archive: 2 manifest\(s\) imported, 0 refused/,
    );
    const records = await new ArchiveImportsStore(client.db(dbName)).list(tenant);
    expect(records.map((r) => r.status)).toEqual(['imported', 'imported']);
    expect(await client.db(archiveDatabaseName(archivePrefix, tenant)).collection('contacts').countDocuments()).toBeGreaterThan(0);
    expect(await cli(['rebuild', 'no-such-tenant'])).toMatchObject({ code: 1 });
  });
});
