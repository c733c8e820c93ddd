import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTarget } from '../../../src/delivery/create-target.js';
import type { ImportDeps } from '../../../src/import/import-manifest.js';
import { createImportQueues, enqueueImport, enqueueTenantPoll, importJobId, type ImportQueues } from '../../../src/queue/import-queues.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore, type ManifestImport } from '../../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { LegalHoldsStore } from '../../../src/store/archive/legal-holds-store.js';
import { TenantArchiveLease } from '../../../src/store/archive/tenant-archive-lease.js';
import { startImportWorkers, type ImportWorkers } from '../../../worker/import-workers.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { testDestinations } from '../../support/destinations.js';
import { createExportHarness, type ExportHarness } from '../../support/export-harness.js';
import { DropBuilder } from '../../support/import/drop-builder.js';
import { startMongoWireServer, type MongoWireServer } from '../../../src/dev-mongodb/mongo-wire-server.js';
import { createTestRedis } from '../../support/redis.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
let harness: ExportHarness;
let deps: ImportDeps;
let queues: ImportQueues;
let workers: ImportWorkers;
let dropRoot: string;
let spoolDir: string;
let ownServer: MongoWireServer;
let archiveClient: MongoClient;
const redis = createTestRedis();
const roundTrips: { hook?: (collection: string) => void } = {};

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), { now: () => NOW, options: { initialLookbackMs: 4 * 3600_000, sliceMs: 2 * 3600_000 } });
  dropRoot = await mkdtemp(join(tmpdir(), 'import-worker-drop-'));
  spoolDir = await mkdtemp(join(tmpdir(), 'import-worker-spool-'));
  ownServer = await startMongoWireServer();
  archiveClient = await MongoClient.connect(inject('mongoUrl'));
  const archives = new ArchiveDatabases({
    client: archiveClient,
    prefix: `iw${process.pid}_`,
    keyring: harness.keyring,
    settings: async (tenantId) => (await harness.controlPlane.settings.getRetention(tenantId))?.value,
    clientOptions: { serverSelectionTimeoutMS: 400, connectTimeoutMS: 400, socketTimeoutMS: 2_000 },
    network: testDestinations().network,
  });
  deps = {
    controlPlane: harness.controlPlane,
    imports: new ArchiveImportsStore(harness.db),
    leases: new TenantArchiveLease(harness.db, { ttlMs: 5_000 }),
    archives,
    archiveStore: new ArchiveStore(archives),
    legalHolds: new LegalHoldsStore(harness.db),
    createTarget: (tenantId, settings) => createTarget(harness.keyring, tenantId, settings, testDestinations()),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    options: { spoolDir, batchSize: 40, onRoundTrip: (collection) => roundTrips.hook?.(collection) },
    now: () => NOW,
  };
  queues = createImportQueues(redis, harness.prefix);
  harness.deps.enqueueImport = (tenantId, path) => enqueueImport(queues, tenantId, path);
  harness.startWorkers({ concurrency: 3 });
  workers = startImportWorkers(deps, queues, redis, { stalledIntervalMs: 1_000, lockDurationMs: 5_000 });
});

afterAll(async () => {
  await workers?.close();
  await queues?.close();
  for (const name of ['iw-online', 'iw-poll']) await (await deps.archives.forTenant(name).catch(() => undefined))?.dropDatabase().catch(() => undefined);
  await (deps.archives as ArchiveDatabases).close();
  await archiveClient?.close();
  await ownServer?.close();
  await harness?.close();
  await redis.quit();
  await rm(dropRoot, { recursive: true, force: true });
  await rm(spoolDir, { recursive: true, force: true });
});

async function onlineTenant(tenantId: string, extra: Record<string, unknown> = {}): Promise<void> {
  await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
  await harness.controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'online',
      dataTypes: [...RECORD_TYPES],
      schedule: { cron: '0 2 * * *', timezone: 'UTC' },
      source: { kind: 'demo', seed: 3, recordsPerHour: 20 },
      target: { kind: 'local', directory: dropRoot },
      files: { maxRecords: 9 },
      ...extra,
    },
    { actor: 'test' },
  );
}

async function waitForImports(tenantId: string, count: number, timeoutMs = 20_000): Promise<ManifestImport[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await deps.imports.list(tenantId);
    if (records.filter((r) => r.status !== 'importing').length >= count) return records;
    if (Date.now() > deadline) throw new Error(`imports of ${tenantId}: ${JSON.stringify(records.map((r) => [r.path, r.status, r.error?.code]))}`);
    await sleep(100);
  }
}

describe('the import workers', () => {
  it('import the manifest of an online run after finalize', async () => {
    const tenant = 'iw-online';
    await onlineTenant(tenant);
    const job = await harness.queues.runs.add('run', { tenantId: tenant, trigger: 'manual' });
    let run;
    for (let i = 0; i < 200 && !run; i += 1) {
      const [latest] = await harness.controlPlane.runs.listByTenant(tenant, { limit: 1 });
      if (latest && latest.status !== 'running') run = latest;
      else await sleep(100);
    }
    expect(job.id).toBeDefined();
    expect(run?.status).toBe('done');
    const [record] = await waitForImports(tenant, 1);
    expect(record).toMatchObject({ path: run?.manifest?.path, sha256: run?.manifest?.sha256, status: 'imported' });
    for (const type of RECORD_TYPES) expect(record?.counts?.types[type]?.inserted).toBe(run?.totals[type]?.records);
    const page = await deps.archiveStore.listCallLogs({ tenantId: tenant, scope: { types: ['call-logs'] } }, {}, { limit: 200 });
    expect(page.items).toHaveLength(run?.totals['call-logs']?.records ?? -1);
  });

  it('retries an import cut off by an unreachable MongoDB and ends in the correct state', async () => {
    const tenant = 'iw-flaky';
    await onlineTenant(tenant, { archiveMongoUri: sealSecret(harness.keyring, `${ownServer.url}/flaky_archive`, secretContext(tenant, 'archiveMongoUri')) });
    const drop = new DropBuilder(dropRoot, tenant);
    const from = new Date('2026-11-20T00:00:00Z');
    const to = new Date('2026-11-20T12:00:00Z');
    const calls = [...generateRecords({ seed: 4, tenantId: tenant, type: 'call-logs', from, to, ratesPerHour: { 'call-logs': 30 } })];
    const chats = [...generateRecords({ seed: 4, tenantId: tenant, type: 'chats', from, to, ratesPerHour: { chats: 10 } })];
    const link = await drop.deliver({ runId: 'flaky-1', window: { from, to: new Date('2026-11-21T00:00:00Z') }, records: { 'call-logs': calls, chats } });

    let writes = 0;
    roundTrips.hook = () => {
      writes += 1;
      if (writes === 3) {
        ownServer.pause();
        setTimeout(() => ownServer.resume(), 1_500);
      }
    };
    try {
      await queues.imports.add(
        'import',
        { tenantId: tenant, manifestPath: link.path },
        { jobId: importJobId(tenant, link.path), attempts: 8, backoff: { type: 'fixed', delay: 500 } },
      );
      const [record] = await waitForImports(tenant, 1, 25_000);
      expect(record?.status).toBe('imported');
      expect(record?.attempts).toBeGreaterThan(1);
      expect(writes).toBeGreaterThan(3);
    } finally {
      roundTrips.hook = undefined;
    }
    const own = await MongoClient.connect(ownServer.url);
    try {
      const archive = own.db('flaky_archive');
      const callIds = (
        await archive
          .collection('callLogs')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      )
        .map((d) => d._id)
        .sort();
      expect(callIds).toEqual(calls.map((c) => c.id).sort());
      expect(await archive.collection('chats').countDocuments()).toBe(chats.length);
      expect(await archive.collection('chatMessages').countDocuments()).toBe(chats.reduce((n, c) => n + c.messages.length, 0));
      const sample = await deps.archiveStore.getChat({ tenantId: tenant, scope: { types: ['chats'] } }, chats[0]?.id);
      expect(sample?.messageCount).toBe(chats[0]?.messages.length);
      const counts = await archive
        .collection<{ _id: string; count?: number }>('dailyCounts')
        .find({ _id: { $ne: 'state' } })
        .sort({ _id: 1 })
        .toArray();
      const expected: Record<string, number> = {};
      for (const [type, records] of [
        ['call-logs', calls],
        ['chats', chats],
      ] as const) {
        for (const record of records) expected[`${type}/${record.startedAt.slice(0, 10)}`] = (expected[`${type}/${record.startedAt.slice(0, 10)}`] ?? 0) + 1;
      }
      expect(Object.fromEntries(counts.filter((c) => c.count !== 0).map((c) => [c._id, c.count]))).toEqual(expected);
      expect(await archive.collection('dailyCounts').findOne({ _id: 'state' as never })).toMatchObject({ writing: null });
    } finally {
      await own.db('flaky_archive').dropDatabase();
      await own.close();
    }
  });

  it('poll a drop for manifests not yet imported and import them in chain order', async () => {
    const tenant = 'iw-poll';
    await onlineTenant(tenant);
    const drop = new DropBuilder(dropRoot, tenant);
    const paths: string[] = [];
    for (let day = 0; day < 3; day += 1) {
      const from = new Date(Date.UTC(2026, 10, 10 + day));
      const to = new Date(from.getTime() + 86_400_000);
      const contacts = [...generateRecords({ seed: 8, tenantId: tenant, type: 'contacts', from, to, ratesPerHour: { contacts: 2 } })];
      paths.push((await drop.deliver({ runId: `poll-${day}`, window: { from, to }, records: { contacts } })).path);
    }
    await enqueueTenantPoll(queues, tenant);
    const records = await waitForImports(tenant, 3);
    expect(records.map((r) => r.status)).toEqual(['imported', 'imported', 'imported']);
    expect([...records].sort((a, b) => (a.finishedAt?.getTime() ?? 0) - (b.finishedAt?.getTime() ?? 0)).map((r) => r.path)).toEqual(paths);
    await enqueueTenantPoll(queues, tenant);
    await sleep(500);
    expect((await deps.imports.list(tenant)).map((r) => r.attempts)).toEqual([1, 1, 1]);
  });
});
