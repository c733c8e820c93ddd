import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyDrop } from '../../../src/archive/verify-drop.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import type { Target } from '../../../src/delivery/target.js';
import { createImportQueues, type ImportQueues } from '../../../src/queue/import-queues.js';
import { replanJobId } from '../../../src/queue/lost-runs.js';
import { QueueReconciler } from '../../../src/queue/queue-reconciler.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { DemoSource } from '../../../src/sources/demo-source.js';
import { createExportHarness, uniqueDropDir, type ExportHarness } from '../../support/export-harness.js';
import { cleanupPrefix, createTestRedis } from '../../support/redis.js';

/**
 * Issue 11.3, end to end: Redis loses all its data (a restart without AOF) in the middle of a backfill that real
 * workers are delivering. Without a person, the reconciler ends the lost run and queues its windows again, the
 * workers deliver them as a new attempt, and the drop verifies with every record of the range.
 */

const NOW = new Date('2026-11-23T12:00:00.000Z');
const sftp = inject('sftp');
let harness: ExportHarness;
let redis: Redis;
let importQueues: ImportQueues;
let uploads = 0;

const slowTarget = (target: Target): Target => ({
  kind: target.kind,
  read: (p) => target.read(p),
  list: (p) => target.list(p),
  stat: (p) => target.stat(p),
  remove: (p) => target.remove(p),
  rename: (from, to) => target.rename(from, to),
  close: () => target.close(),
  async uploadAtomically(local, remote, expected) {
    await sleep(60);
    await target.uploadAtomically(local, remote, expected);
    uploads += 1;
  },
});

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), { now: () => NOW, options: { sliceMs: 3600_000 }, wrapTarget: slowTarget });
  redis = createTestRedis();
  importQueues = createImportQueues(redis, harness.prefix);
});

afterAll(async () => {
  await importQueues?.close();
  await harness?.close();
  await redis?.quit();
});

describe('Redis lost in the middle of a backfill', () => {
  it('re-plans the lost backfill’s own windows and delivers every record of them, verified', async () => {
    const tenantId = 'redis-loss-backfill';
    const dropDir = uniqueDropDir();
    const local = join(sftp.root, dropDir);
    await mkdir(local);
    await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await harness.controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'offline',
        dataTypes: [...RECORD_TYPES],
        schedule: { cron: '0 2 1 1 *', timezone: 'UTC' },
        source: { kind: 'demo', seed: 5, recordsPerHour: 12 },
        target: harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`),
        files: { format: 'json', gzip: false, maxRecords: 50 },
      },
      { actor: 'test' },
    );
    const range = { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-10-01T12:00:00Z') };
    const workers = harness.startWorkers({ concurrency: 2 });
    await harness.queues.runs.add(
      'run',
      { tenantId, trigger: 'backfill', backfill: { from: range.from.toISOString(), to: range.to.toISOString() } },
      { jobId: `backfill.${tenantId}.1` },
    );

    const deadline = Date.now() + 30_000;
    while (uploads < 4 && Date.now() < deadline) await sleep(10);
    const lostRunId = (await harness.controlPlane.checkpoints.get(tenantId)).activeRunId;
    expect(lostRunId).not.toBeNull();
    await cleanupPrefix(redis, harness.prefix);

    const reconciler = new QueueReconciler(
      { controlPlane: harness.controlPlane, queues: harness.queues, importQueues, redis, logger: pino({ level: 'silent' }), now: () => new Date() },
      { lostRunGraceMs: 0 },
    );
    const report = await reconciler.reconcileOnce();
    expect(report).toMatchObject({ redisWasEmpty: true, lostRuns: [{ tenantId, runId: lostRunId, replannedJobId: replanJobId(tenantId, lostRunId ?? '') }] });
    expect((await harness.controlPlane.runs.get(tenantId, lostRunId ?? ''))?.status).toBe('failed');

    let replanned: string | null = null;
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const runs = await harness.controlPlane.runs.listByTenant(tenantId);
      const done = runs.find((r) => r.id !== lostRunId && r.status === 'done');
      if (done) {
        replanned = done.id;
        break;
      }
      await sleep(100);
    }
    expect(replanned, 'the re-planned backfill finished').not.toBeNull();
    await workers.close();

    const run = await harness.controlPlane.runs.get(tenantId, replanned ?? '');
    expect(run?.trigger).toBe('backfill');
    for (const type of RECORD_TYPES) {
      expect(run?.windows[type]).toEqual({ from: range.from, to: range.to });
      const source = new DemoSource({ tenantId, seed: 5, ratesPerHour: { 'call-logs': 12, chats: 12, contacts: 12 } });
      let expected = 0;
      for await (const page of source.read(type, range)) expected += page.records.length;
      expect(run?.totals[type]?.records).toBe(expected);
    }
    expect((await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId)).verdict).toBe('ok');
    const files = await readdir(local, { recursive: true });
    expect(files.filter((f) => String(f).endsWith('.part'))).toEqual([]);
    const manifests = files.filter((f) => String(f).includes('manifest-'));
    expect(manifests).toHaveLength(1);
    expect(JSON.parse(await readFile(join(local, String(manifests[0])), 'utf8'))).toMatchObject({ runId: replanned });
  }, 120_000);
});
