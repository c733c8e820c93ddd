import { QueueEvents } from 'bullmq';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDropFilePath } from '../../../src/archive/drop-layout.js';
import { parseManifest, type Manifest } from '../../../src/archive/manifest.js';
import { verifyDrop, verifyManifestFiles } from '../../../src/archive/verify-drop.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { importManifest, type ImportDeps } from '../../../src/import/import-manifest.js';
import { buildImportDeps } from '../../../src/import/open-import-deps.js';
import { findManifestsToImport } from '../../../src/import/pending-manifests.js';
import type { RunJobData } from '../../../src/queue/job-payloads.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import type { Source, SourcePage, TimeWindow } from '../../../src/sources/source.js';
import { COLLECTION_OF_TYPE } from '../../../src/store/archive/archive-documents.js';
import type { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import type { Run } from '../../../src/store/runs-store.js';
import { testDestinations } from '../../support/destinations.js';
import { createExportHarness, uniqueDropDir, type ExportHarness } from '../../support/export-harness.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
/** Two of the four slices of the first run's window (05:55 to 11:55, 2-hour slices): the same names under the old layout. */
const BACKFILL = { from: '2026-11-23T06:00:00.000Z', to: '2026-11-23T10:00:00.000Z' };
const REVISED_TAG = 'revised-in-source';
const sftp = inject('sftp');

let harness: ExportHarness;
let events: QueueEvents;
let importClient: MongoClient;
let importDeps: ImportDeps & { archives: ArchiveDatabases };
let importSpool: string;
const tenants: string[] = [];

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), { now: () => NOW, options: { initialLookbackMs: 6 * 3600_000, sliceMs: 2 * 3600_000 } });
  harness.startWorkers({ concurrency: 3 });
  events = new QueueEvents('runs', { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, prefix: harness.prefix });
  await events.waitUntilReady();
  importClient = await MongoClient.connect(inject('mongoUrl'));
  importSpool = await mkdtemp(join(tmpdir(), 'redelivery-import-spool-'));
  importDeps = await buildImportDeps({
    client: importClient,
    db: harness.db,
    controlPlane: harness.controlPlane,
    archiveDbPrefix: `rd${process.pid}_`,
    keyring: harness.keyring,
    destinations: testDestinations(),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    spoolDir: importSpool,
  });
});

afterAll(async () => {
  for (const tenant of tenants) await (await importDeps?.archives.forTenant(tenant).catch(() => undefined))?.dropDatabase().catch(() => undefined);
  await importDeps?.archives.close();
  await importClient?.close();
  await events?.close();
  await harness?.close();
  await rm(importSpool, { recursive: true, force: true });
});

type RawRecord = { id: string; updatedAt: string; tags?: string[] };

/**
 * The tenant's source after its records changed: every record comes back with a later `updatedAt` (one second,
 * kept inside the window and in order) and a new tag, as the platform reports an edited call, chat or contact.
 */
class RevisedSource implements Source {
  readonly kind = 'revised';

  constructor(private readonly original: Source) {}

  async *read(type: RecordType, window: TimeWindow, options?: { signal?: AbortSignal }): AsyncGenerator<SourcePage> {
    for await (const page of this.original.read(type, window, options)) {
      yield {
        records: page.records.map((raw) => {
          const record = raw as RawRecord;
          const updatedAt = new Date(Math.min(Date.parse(record.updatedAt) + 1000, window.to.getTime() - 1)).toISOString();
          return { ...record, updatedAt, tags: [...(record.tags ?? []), REVISED_TAG] };
        }),
      };
    }
  }
}

async function setUpOnlineTenant(tenantId: string): Promise<string> {
  tenants.push(tenantId);
  const dropDir = uniqueDropDir();
  await mkdir(join(sftp.root, dropDir));
  await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
  await harness.controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'online',
      dataTypes: [...RECORD_TYPES],
      schedule: { cron: '0 2 * * *', timezone: 'UTC' },
      source: { kind: 'demo', seed: 11, recordsPerHour: 12 },
      target: harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`),
      files: { format: 'json', gzip: true, maxRecords: 5 },
    },
    { actor: 'test' },
  );
  return join(sftp.root, dropDir);
}

async function deliver(tenantId: string, data: Omit<RunJobData, 'tenantId'>): Promise<Run> {
  const job = await harness.queues.runs.add('run', { tenantId, ...data });
  const result = await job.waitUntilFinished(events, 30_000);
  expect(result.status).toBe('planned');
  const run = await harness.waitForRun(tenantId, result.runId as string);
  expect(run.status).toBe('done');
  return run;
}

async function manifestOf(local: string, run: Run): Promise<Manifest> {
  return parseManifest(await readFile(join(local, run.manifest?.path ?? '')));
}

const sha256Of = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

async function recordsOf(local: string, manifest: Manifest, type: RecordType): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for (const file of manifest.files.filter((f) => f.type === type && f.kind === 'records')) {
    out.push(...(JSON.parse(gunzipSync(await readFile(join(local, file.path))).toString('utf8')) as RawRecord[]));
  }
  return out;
}

describe('delivering a window again after the source changed', () => {
  it('never rewrites a file an earlier manifest lists: both manifests verify and import in chain order, the newer versions winning', async () => {
    const tenantId = 'redeliver-changed';
    const local = await setUpOnlineTenant(tenantId);
    const first = await deliver(tenantId, { trigger: 'manual' });
    const firstManifest = await manifestOf(local, first);
    const before = new Map(await Promise.all(firstManifest.files.map(async (f) => [f.path, await sha256Of(join(local, f.path))] as const)));
    expect([...before.values()]).toEqual(firstManifest.files.map((f) => f.sha256));

    const createSource = harness.deps.createSource;
    harness.deps.createSource = (id, settings) => new RevisedSource(createSource(id, settings));
    let backfill: Run;
    try {
      backfill = await deliver(tenantId, { trigger: 'backfill', backfill: BACKFILL });
    } finally {
      harness.deps.createSource = createSource;
    }
    const backfillManifest = await manifestOf(local, backfill);
    expect(backfill.previous).toEqual(first.manifest);

    for (const [path, sha256] of before) expect(await sha256Of(join(local, path)), path).toBe(sha256);
    const firstPaths = new Set(firstManifest.files.map((f) => f.path));
    expect(backfillManifest.files.filter((f) => firstPaths.has(f.path))).toEqual([]);
    for (const file of firstManifest.files) expect(parseDropFilePath(file.path).runId).toBe(first.id);
    for (const file of backfillManifest.files) expect(parseDropFilePath(file.path).runId).toBe(backfill.id);
    const firstSlices = new Set(firstManifest.files.map((f) => `${f.type} ${f.from} ${f.to}`));
    expect(backfillManifest.files.length).toBeGreaterThan(0);
    expect(backfillManifest.files.every((f) => firstSlices.has(`${f.type} ${f.from} ${f.to}`))).toBe(true);
    const revised = await recordsOf(local, backfillManifest, 'call-logs');
    expect(revised.length).toBeGreaterThan(0);
    expect(revised.every((r) => r.tags?.includes(REVISED_TAG))).toBe(true);

    const target = new LocalDirectoryTarget({ root: local });
    const report = await verifyDrop(target, tenantId, { expectedHead: backfill.manifest! });
    expect(report.problems).toEqual([]);
    expect(report.manifests.map((m) => m.runId)).toEqual([first.id, backfill.id]);
    expect(await verifyManifestFiles(target, firstManifest)).toEqual([]);
    expect(await verifyManifestFiles(target, backfillManifest)).toEqual([]);

    const pending = await findManifestsToImport(importDeps, tenantId);
    expect(pending).toEqual([first.manifest?.path, backfill.manifest?.path]);
    for (const path of pending) expect(await importManifest(importDeps, tenantId, path)).toMatchObject({ status: 'imported', path });

    const archive = await importDeps.archives.forTenant(tenantId);
    for (const type of RECORD_TYPES) {
      const original = await recordsOf(local, firstManifest, type);
      const newer = new Map((await recordsOf(local, backfillManifest, type)).map((r) => [r.id, r]));
      expect(newer.size).toBeGreaterThan(0);
      const stored = new Map(
        (await archive.collection<{ _id: string; updatedAt: string; tags: string[]; ix: { src: string } }>(COLLECTION_OF_TYPE[type]).find({}).toArray()).map(
          (d) => [d._id, d],
        ),
      );
      expect(stored.size).toBe(original.length);
      for (const record of original) {
        const doc = stored.get(record.id);
        const update = newer.get(record.id);
        const wins = update !== undefined && update.updatedAt > record.updatedAt;
        expect(doc?.updatedAt, `${type} ${record.id}`).toBe(wins ? update.updatedAt : record.updatedAt);
        expect(doc?.tags.includes(REVISED_TAG), `${type} ${record.id}`).toBe(wins);
        expect(doc?.ix.src, `${type} ${record.id}`).toBe(wins ? backfill.manifest?.path : first.manifest?.path);
      }
    }
  });
});
