import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { verifyDrop } from '../../../src/archive/verify-drop.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { DemoSource } from '../../../src/sources/demo-source.js';
import { planRun } from '../../../worker/processors/run-processor.js';
import { createExportHarness, TEST_MASTER_KEYS, uniqueDropDir, type ExportHarness } from '../../support/export-harness.js';
import { startSftpServer, type SftpServer } from '../../support/sftp-server.js';
import { TEST_ALLOWED_PRIVATE_DESTINATIONS } from '../../support/destinations.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const harnesses: ExportHarness[] = [];
const servers: SftpServer[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
  await Promise.all(servers.splice(0).map((s) => s.destroy()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function deliveredIds(dir: string, type: RecordType): Promise<string[]> {
  const ids: string[] = [];
  for (const file of (await listFiles(dir)).filter((f) => f.includes(`/${type}/`))) {
    const raw = await readFile(file);
    const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    const records = file.includes('.ndjson')
      ? text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { id: string })
      : (JSON.parse(text) as Array<{ id: string }>);
    ids.push(...records.map((r) => r.id));
  }
  return ids;
}

async function expectedIds(tenantId: string, seed: number, rate: number, type: RecordType, window: { from: Date; to: Date }): Promise<string[]> {
  const source = new DemoSource({ tenantId, seed, ratesPerHour: { 'call-logs': rate, chats: rate, contacts: rate } });
  const ids: string[] = [];
  for await (const page of source.read(type, window)) ids.push(...page.records.map((r) => (r as { id: string }).id));
  return ids;
}

describe('export under faults', () => {
  it('survives sshd being killed in the middle of an upload: the chunk retries, the drop is complete, no .part file remains', async () => {
    const server = await startSftpServer();
    servers.push(server);
    const harness = await createExportHarness(inject('mongoUrl'), { now: () => NOW, options: { initialLookbackMs: 3600_000, sliceMs: 3600_000 } });
    harnesses.push(harness);
    const tenantId = 'fault-sshd-kill';
    const dropDir = uniqueDropDir();
    const local = join(server.root, dropDir);
    await mkdir(local);
    await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await harness.controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'offline',
        dataTypes: ['chats'],
        schedule: { cron: '0 2 * * *' },
        source: { kind: 'demo', seed: 5, recordsPerHour: 2500 },
        target: harness.sftpTargetSettings(tenantId, server, `/${dropDir}`),
        files: { format: 'json', gzip: false, maxRecords: 1_000_000, maxBytes: 1024 ** 3 },
      },
      { actor: 'test' },
    );
    harness.startWorkers({ concurrency: 1 });

    const planned = await planRun(harness.deps, harness.queues, { tenantId, trigger: 'manual' });
    expect(planned.status).toBe('planned');
    let killedDuringUpload = false;
    const deadline = Date.now() + 30_000;
    while (!killedDuringUpload && Date.now() < deadline) {
      if ((await listFiles(local)).some((f) => f.endsWith('.part'))) {
        await server.kill();
        killedDuringUpload = true;
      } else {
        await sleep(5);
      }
    }
    expect(killedDuringUpload).toBe(true);
    await sleep(500);
    await server.restart();

    const runId = planned.status === 'planned' ? planned.runId : '';
    const run = await harness.waitForRun(tenantId, runId, 60_000);
    expect(run.status).toBe('done');
    expect(run.errors.length).toBeGreaterThan(0);
    const files = await listFiles(local);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    expect((await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId)).verdict).toBe('ok');
    const delivered = await deliveredIds(local, 'chats');
    expect(delivered.sort()).toEqual((await expectedIds(tenantId, 5, 2500, 'chats', run.windows.chats!)).sort());
  });

  it('completes a run whose worker process was killed (SIGKILL) in the middle: a new worker takes over, every record once', async () => {
    const sftp = inject('sftp');
    const harness = await createExportHarness(inject('mongoUrl'), { now: () => NOW, options: { initialLookbackMs: 12 * 3600_000, sliceMs: 3600_000 } });
    harnesses.push(harness);
    const tenantId = 'fault-worker-kill';
    const dropDir = uniqueDropDir();
    const local = join(sftp.root, dropDir);
    await mkdir(local);
    await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
    await harness.controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'offline',
        dataTypes: [...RECORD_TYPES],
        schedule: { cron: '0 2 1 1 *' },
        source: { kind: 'demo', seed: 11, recordsPerHour: 40 },
        target: harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`),
        files: { format: 'json', gzip: true, maxRecords: 10 },
      },
      { actor: 'test' },
    );
    const planned = await planRun(harness.deps, harness.queues, { tenantId, trigger: 'manual' });
    if (planned.status !== 'planned') throw new Error(`not planned: ${planned.status}`);
    expect(planned.chunks).toBe(39);

    const env = {
      ...process.env,
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DATABASE: harness.db.databaseName,
      QUEUE_PREFIX: harness.prefix,
      RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
      WORKER_CONCURRENCY: '1',
      SPOOL_DIR: join(harness.spoolDir, 'child'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      NODE_ENV: 'test',
      ALLOWED_PRIVATE_DESTINATIONS: TEST_ALLOWED_PRIVATE_DESTINATIONS,
    };
    const startChild = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-child.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker child exited early with ${code}`)));
      });
      return child;
    };

    const first = await startChild();
    const deadline = Date.now() + 60_000;
    while ((await harness.queues.chunks.getCompletedCount()) < 3 && Date.now() < deadline) await sleep(20);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const completedAtKill = await harness.queues.chunks.getCompletedCount();
    expect(completedAtKill).toBeGreaterThanOrEqual(3);
    expect(completedAtKill).toBeLessThan(39);

    const second = await startChild();
    const run = await harness.waitForRun(tenantId, planned.runId, 90_000);
    expect(run.status).toBe('done');
    second.kill('SIGTERM');
    expect(await new Promise((resolve) => second.once('exit', resolve))).toBe(0);

    expect((await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId)).verdict).toBe('ok');
    for (const type of RECORD_TYPES) {
      const delivered = await deliveredIds(local, type);
      expect(delivered.length).toBe(new Set(delivered).size);
      expect(delivered.sort()).toEqual((await expectedIds(tenantId, 11, 40, type, run.windows[type]!)).sort());
    }
    expect((await listFiles(local)).filter((f) => f.endsWith('.part'))).toEqual([]);
  }, 150_000);
});
