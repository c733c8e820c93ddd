import { QueueEvents } from 'bullmq';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyDrop } from '../../../src/archive/verify-drop.js';
import { parseManifest } from '../../../src/archive/manifest.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import type { Target } from '../../../src/delivery/target.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { DemoSource } from '../../../src/sources/demo-source.js';
import { createExportHarness, uniqueDropDir, type ExportHarness } from '../../support/export-harness.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const sftp = inject('sftp');
let harness: ExportHarness;
/** When set, the upload with this 1-based number (counted from when it was set) fails once, as a crash would. */
let crashAtUpload: number | undefined;
let uploadsSinceArmed = 0;
const crashingTarget = (target: Target): Target => ({
  kind: target.kind,
  read: (p) => target.read(p),
  list: (p) => target.list(p),
  stat: (p) => target.stat(p),
  remove: (p) => target.remove(p),
  rename: (from, to) => target.rename(from, to),
  close: () => target.close(),
  async uploadAtomically(local, remote, expected) {
    uploadsSinceArmed += 1;
    if (crashAtUpload !== undefined && uploadsSinceArmed === crashAtUpload) {
      crashAtUpload = undefined;
      throw new Error('simulated crash in the middle of a chunk');
    }
    return target.uploadAtomically(local, remote, expected);
  },
});

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), {
    now: () => NOW,
    options: { initialLookbackMs: 6 * 3600_000, sliceMs: 2 * 3600_000 },
    wrapTarget: crashingTarget,
  });
  harness.startWorkers({ concurrency: 3 });
});

afterAll(async () => {
  await harness?.close();
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function readRecords(path: string): Promise<Array<{ id: string; updatedAt: string }>> {
  const raw = await readFile(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  if (path.includes('.ndjson'))
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; updatedAt: string });
  return JSON.parse(text) as Array<{ id: string; updatedAt: string }>;
}

async function setUpTenant(
  tenantId: string,
  extra: { files?: Record<string, unknown>; source?: Record<string, unknown>; target?: Record<string, unknown> } = {},
) {
  const dropDir = uniqueDropDir();
  await mkdir(join(sftp.root, dropDir));
  await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
  await harness.controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'offline',
      dataTypes: [...RECORD_TYPES],
      schedule: { cron: '0 2 * * *', timezone: 'UTC' },
      source: { kind: 'demo', seed: 42, recordsPerHour: 15, ...extra.source },
      target: harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`, extra.target),
      files: { format: 'json', gzip: true, maxRecords: 7, ...extra.files },
    },
    { actor: 'test' },
  );
  return { dropDir, local: join(sftp.root, dropDir) };
}

async function runOnce(tenantId: string, data: Record<string, unknown> = {}) {
  const job = await harness.queues.runs.add('run', { tenantId, trigger: 'manual', ...data });
  const result = await job.waitUntilFinished(await harnessEvents(), 30_000);
  expect(result.status).toBe('planned');
  return harness.waitForRun(tenantId, result.runId as string);
}

let events: QueueEvents | undefined;
async function harnessEvents() {
  if (!events) {
    events = new QueueEvents('runs', { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, prefix: harness.prefix });
    await events.waitUntilReady();
  }
  return events;
}
afterAll(async () => {
  await events?.close();
});

describe('an archive run over SFTP (real OpenSSH)', () => {
  it('delivers every record of the window exactly once, with a manifest that matches the bytes on the server', async () => {
    const { local } = await setUpTenant('run-all-types');
    const run = await runOnce('run-all-types');
    expect(run.status).toBe('done');

    const report = await verifyDrop(new LocalDirectoryTarget({ root: local }), 'run-all-types');
    expect(report.problems).toEqual([]);
    expect(report.verdict).toBe('ok');
    expect(report.manifests).toHaveLength(1);

    const files = await listFiles(local);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    const manifestFile = files.find((f) => /manifest-.*\.json$/.test(f));
    const manifest = parseManifest(await readFile(manifestFile as string));

    const source = new DemoSource({ tenantId: 'run-all-types', seed: 42, ratesPerHour: { 'call-logs': 15, chats: 15, contacts: 15 } });
    for (const type of RECORD_TYPES) {
      const window = run.windows[type as RecordType];
      expect(window).toBeDefined();
      const expected: string[] = [];
      for await (const page of source.read(type, { from: window!.from, to: window!.to })) for (const r of page.records) expected.push((r as { id: string }).id);
      expect(expected.length).toBeGreaterThan(20);

      const delivered: string[] = [];
      for (const file of files.filter((f) => f.includes(`/${type}/`))) delivered.push(...(await readRecords(file)).map((r) => r.id));
      expect(delivered.length).toBe(new Set(delivered).size);
      expect(delivered.sort()).toEqual(expected.sort());
      expect(manifest.totals[type]?.records).toBe(expected.length);
      expect(run.totals[type]?.records).toBe(expected.length);
      expect(run.progress.types[type]?.records).toBe(expected.length);
    }
    expect(run.chunkCount).toBeGreaterThan(RECORD_TYPES.length);
    expect(run.progress.chunksDone).toBe(run.chunkCount);
    expect(run.progress.bytes).toBe(manifest.files.reduce((sum, f) => sum + f.bytes, 0));
    expect(manifest.files.every((f) => f.kind === 'records')).toBe(true);
    expect(Math.max(...(await Promise.all(files.filter((f) => f.endsWith('.gz')).map(async (f) => (await readRecords(f)).length))))).toBeLessThanOrEqual(7);

    const checkpoint = await harness.controlPlane.checkpoints.get('run-all-types');
    expect(checkpoint.activeRunId).toBeNull();
    expect(checkpoint.head).toEqual(run.manifest);
    expect(checkpoint.through.chats).toEqual(run.windows.chats?.to);
    const audit = await harness.controlPlane.audit.list('run-all-types');
    expect(audit.map((e) => e.action)).toContain('run.finished');
  });

  it('runs the same window twice, the first time with a chunk crashing and retried, to the same files and manifest', async () => {
    const { local } = await setUpTenant('run-twice', { files: { format: 'ndjson', gzip: false } });
    uploadsSinceArmed = 0;
    crashAtUpload = 3;
    const first = await runOnce('run-twice');
    expect(crashAtUpload).toBeUndefined();
    expect(first.errors.map((e) => e.message)).toContain('simulated crash in the middle of a chunk');
    expect(first.progress.chunksDone).toBe(first.chunkCount);
    expect(first.progress.records).toBe(Object.values(first.totals).reduce((sum, t) => sum + t.records, 0));
    expect(first.progress.bytes).toBe(Object.values(first.totals).reduce((sum, t) => sum + t.bytes, 0));
    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all((await listFiles(local)).map(async (f) => [f.slice(local.length), (await readFile(f)).toString('base64')] as const)),
      );
    const before = await snapshot();

    await harness.db.collection('checkpoints').updateOne({ _id: 'run-twice' as never }, { $set: { through: {}, head: null, activeRunId: null } });
    await harness.db.collection('runs').deleteMany({ tenantId: 'run-twice' });
    await harness.queues.finalize.remove(`finalize.${first.id}`).catch(() => undefined);
    const second = await runOnce('run-twice');
    expect(second.id).toBe(first.id);
    expect(await snapshot()).toEqual(before);
    expect(second.manifest).toEqual(first.manifest);
  });

  it('routes invalid source records to rejected/ with reasons and delivers the valid ones of the same page', async () => {
    const { local } = await setUpTenant('run-rejects', { source: { invalidShare: 0.2 } });
    const run = await runOnce('run-rejects');
    expect(run.status).toBe('done');
    const files = await listFiles(local);
    const rejectedFiles = files.filter((f) => f.includes('/rejected/'));
    expect(rejectedFiles.length).toBeGreaterThan(0);
    let rejected = 0;
    for (const file of rejectedFiles) {
      const entries = JSON.parse(await readFile(file, 'utf8')) as Array<{ reason: string; issues: Array<{ path: string; message: string }>; record: unknown }>;
      for (const entry of entries) {
        expect(entry.reason).toBe('schema');
        expect(entry.issues.length).toBeGreaterThan(0);
        expect(entry.issues[0]?.path).not.toBe('');
        expect(entry.record).toBeTypeOf('object');
      }
      rejected += entries.length;
    }
    const totals = Object.values(run.totals);
    expect(totals.reduce((n, t) => n + t.rejected, 0)).toBe(rejected);
    expect(totals.reduce((n, t) => n + t.records, 0)).toBeGreaterThan(rejected);
    expect((await verifyDrop(new LocalDirectoryTarget({ root: local }), 'run-rejects')).verdict).toBe('ok');
  });

  it('fails permanently with a clear error, before any byte is sent, when the host key does not match', async () => {
    const { local } = await setUpTenant('run-bad-host-key', { target: { hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` } });
    const job = await harness.queues.runs.add('run', { tenantId: 'run-bad-host-key', trigger: 'manual' });
    const result = await job.waitUntilFinished(await harnessEvents(), 30_000);
    const failedRun = await harness.waitForRun('run-bad-host-key', result.runId as string);
    expect(failedRun.status).toBe('failed');
    expect(failedRun.errors.at(-1)?.code).toBe('ERR_HOST_KEY_MISMATCH');
    expect(failedRun.errors.at(-1)?.message).toContain(sftp.hostKeyFingerprint);
    expect(await listFiles(local)).toEqual([]);
    // Every chunk of the run ends failed: wait until none is queued or running any more.
    const pending = async (): Promise<number> =>
      (await harness.queues.chunks.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).filter((j) => j.data.tenantId === 'run-bad-host-key').length;
    for (let waited = 0; waited < 200 && (await pending()) > 0; waited += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await pending()).toBe(0);
    // The tenant is freed just after the run is marked failed.
    let checkpoint = await harness.controlPlane.checkpoints.get('run-bad-host-key');
    for (let waited = 0; waited < 100 && checkpoint.activeRunId !== null; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      checkpoint = await harness.controlPlane.checkpoints.get('run-bad-host-key');
    }
    expect(checkpoint.through).toEqual({});
    expect(checkpoint.activeRunId).toBeNull();
    const mine = (await harness.queues.chunks.getFailed()).filter((j) => j.data.tenantId === 'run-bad-host-key');
    expect(mine.length).toBeGreaterThan(3);
    expect(mine.every((j) => j.attemptsMade === 1)).toBe(true);
    const run = await harness.controlPlane.runs.get('run-bad-host-key', failedRun.id);
    if (!run) throw new Error('run disappeared');
    // Once the run failed, its queued chunks stopped before connecting (ERR_RUN_ENDED) and recorded nothing on it.
    const reasons = mine.map((j) =>
      j.failedReason.startsWith('[ERR_HOST_KEY_MISMATCH]') ? 'connected' : j.failedReason.startsWith('[ERR_RUN_ENDED]') ? 'stopped' : j.failedReason,
    );
    expect(reasons.filter((reason) => reason !== 'connected' && reason !== 'stopped')).toEqual([]);
    expect(reasons.filter((reason) => reason === 'stopped').length).toBeGreaterThan(0);
    expect(run.errors.map((error) => error.code).filter((code) => code !== 'ERR_HOST_KEY_MISMATCH')).toEqual([]);
    expect(run.errors.at(-1)?.message).not.toMatch(/retried|later attempt/i);
  });

  it('retries a failed backfill of the same range as a new attempt once the cause is fixed, and a repeated one gets a new id', async () => {
    const tenantId = 'run-backfill-retry';
    const { local, dropDir } = await setUpTenant(tenantId, { target: { hostKeyFingerprint: `SHA256:${'B'.repeat(43)}` } });
    const range = { from: '2026-11-22T00:00:00.000Z', to: '2026-11-22T02:00:00.000Z' };
    const backfill = async () => {
      const job = await harness.queues.runs.add('run', { tenantId, trigger: 'backfill', backfill: range });
      const result = await job.waitUntilFinished(await harnessEvents(), 30_000);
      expect(result.status).toBe('planned');
      return harness.waitForRun(tenantId, result.runId as string);
    };
    const failed = await backfill();
    expect(failed.status).toBe('failed');

    const current = await harness.controlPlane.settings.requireRetention(tenantId);
    await harness.controlPlane.settings.putRetention(
      tenantId,
      { ...current.value, target: harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`) },
      { actor: 'test' },
    );
    const retried = await backfill();
    expect(retried.id).toBe(`${failed.id}-r1`);
    expect(retried.status).toBe('done');
    expect(retried.trigger).toBe('backfill');

    const repeated = await backfill();
    expect(repeated.id).not.toBe(retried.id);
    expect(repeated.previous).toEqual(retried.manifest);
    const retriedPaths = retried.files.map((f) => f.path);
    expect(repeated.files.map((f) => f.path).filter((path) => retriedPaths.includes(path))).toEqual([]);
    expect(retried.files.every((f) => f.path.includes(`-${retried.id}`))).toBe(true);
    expect(repeated.files.every((f) => f.path.includes(`-${repeated.id}`))).toBe(true);
    const report = await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId);
    expect(report.verdict).toBe('ok');
    expect(report.manifests.map((m) => m.runId)).toEqual([retried.id, repeated.id]);
    expect((await harness.controlPlane.checkpoints.get(tenantId)).through).toEqual({});
  });

  it('a later run of the tenant removes .part files of uploads never retried and puts back a delivered file left under its recovery name', async () => {
    const tenantId = 'run-upkeep';
    const { local } = await setUpTenant(tenantId);
    const first = await runOnce(tenantId);
    const listed = first.files.find((file) => file.path.includes('/chats/'));
    if (!listed) throw new Error('the first run delivered no chats');
    const day = listed.path.split('/').slice(0, 4).join('/');
    // What a server that died in the middle of a safe replace leaves, and an upload of a failed run never retried.
    const recoveryCopy = `${listed.path}.replaced-20261123T120000Z-0a1b2c3d`;
    await rename(join(local, listed.path), join(local, recoveryCopy));
    await writeFile(join(local, `${day}/chats/chats-20261123T0600Z-20261123T0800Z-p001-failed-run.json.gz.part`), 'half an upload');
    await writeFile(join(local, `${day}/manifest-failed-run.json.part`), '{');
    const before = await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId);
    expect(before.problems.map((problem) => problem.code).sort()).toEqual(['FILE_LEFTOVER', 'FILE_LEFTOVER', 'FILE_RECOVERABLE']);

    const later = new Date(NOW.getTime() + 3 * 3600_000);
    harness.deps.now = () => later;
    try {
      const second = await runOnce(tenantId);
      expect(second.status).toBe('done');
      const files = (await listFiles(local)).map((file) => file.slice(local.length + 1));
      expect(files.filter((file) => file.endsWith('.part') || file.includes('.replaced-'))).toEqual([]);
      expect(files).toContain(listed.path);
      const report = await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId, { expectedHead: second.manifest! });
      expect(report.problems).toEqual([]);
      expect(report.manifests.map((m) => m.runId)).toEqual([first.id, second.id]);
    } finally {
      harness.deps.now = () => NOW;
    }
  });

  it('chains the next run to the previous manifest and advances checkpoints', async () => {
    const tenantId = 'run-chain';
    const { local } = await setUpTenant(tenantId);
    const first = await runOnce(tenantId);
    const later = new Date(NOW.getTime() + 3 * 3600_000);
    harness.deps.now = () => later;
    try {
      const second = await runOnce(tenantId);
      expect(second.previous).toEqual(first.manifest);
      expect(second.windows.chats?.from).toEqual(first.windows.chats?.to);
      const report = await verifyDrop(new LocalDirectoryTarget({ root: local }), tenantId, { expectedHead: second.manifest! });
      expect(report.verdict).toBe('ok');
      expect(report.manifests.map((m) => m.runId)).toEqual([first.id, second.id]);
    } finally {
      harness.deps.now = () => NOW;
    }
  });
});
