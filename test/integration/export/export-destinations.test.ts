import { mkdir, mkdtemp, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { failedForAChunk } from '../../../worker/export-workers.js';
import { planRun } from '../../../worker/processors/run-processor.js';
import { startExportApiFixture, type ExportApiFixture } from '../../support/export-api-fixture.js';
import { createExportHarness, uniqueDropDir, type ExportHarness } from '../../support/export-harness.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const sftp = inject('sftp');
let harness: ExportHarness;
let scratch: string;
let base: string;
let outside: string;
let api: ExportApiFixture;

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'retention-export-dest-')));
  base = join(scratch, 'base');
  outside = join(scratch, 'outside');
  await mkdir(base);
  await mkdir(outside);
  await symlink(outside, join(base, 'escape'));
  api = await startExportApiFixture({ token: 'tok_export-destination-test', records: { chats: 5 }, start: new Date(NOW.getTime() - 3 * 3600_000) });
  // Production defaults for the network (public addresses only), local targets allowed below `base`.
  harness = await createExportHarness(inject('mongoUrl'), {
    now: () => NOW,
    options: { initialLookbackMs: 2 * 3600_000, sliceMs: 3600_000 },
    destinations: { network: new NetworkPolicy(), localTargetBaseDir: base },
  });
  harness.startWorkers();
});
afterAll(async () => {
  await harness?.close();
  await api?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function runFor(tenantId: string, source: Record<string, unknown>, target: Record<string, unknown>) {
  await harness.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
  await harness.controlPlane.settings.putRetention(
    tenantId,
    { mode: 'offline', dataTypes: [...RECORD_TYPES], schedule: { cron: '0 2 * * *' }, source, target },
    { actor: 'test' },
  );
  const planned = await planRun(harness.deps, harness.queues, { tenantId, trigger: 'manual' });
  if (planned.status !== 'planned') throw new Error(`not planned: ${planned.status}`);
  return harness.waitForRun(tenantId, planned.runId);
}

async function chunkAttempts(tenantId: string): Promise<number[]> {
  return (await harness.queues.chunks.getFailed()).filter((job) => job.data.tenantId === tenantId).map((job) => job.attemptsMade);
}

describe('a run whose settings point at a refused destination fails permanently (issue #10.6)', () => {
  it('an SFTP target on loopback (stored before the operator policy, or edited in the database): no retries, nothing sent', async () => {
    const tenantId = 'dest-sftp-loopback';
    const dropDir = uniqueDropDir();
    await mkdir(join(sftp.root, dropDir));
    const run = await runFor(tenantId, { kind: 'demo', seed: 3, recordsPerHour: 5 }, harness.sftpTargetSettings(tenantId, sftp, `/${dropDir}`));
    expect(run.status).toBe('failed');
    expect(run.errors.at(-1)?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(run.errors.at(-1)?.message).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    const attempts = await chunkAttempts(tenantId);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((n) => n === 1)).toBe(true);
    expect(await readdir(join(sftp.root, dropDir))).toEqual([]);
    expect((await harness.controlPlane.checkpoints.get(tenantId)).through).toEqual({});
  });

  it('an http source on loopback: no request reaches it, no retries', async () => {
    const tenantId = 'dest-http-loopback';
    const token = sealSecret(harness.keyring, 'tok_export-destination-test', secretContext(tenantId, 'source.token'));
    const drop = join(base, 'http-tenant');
    await mkdir(drop);
    const run = await runFor(tenantId, { kind: 'http', baseUrl: api.baseUrl, token }, { kind: 'local', directory: drop });
    expect(run.status).toBe('failed');
    expect(run.errors.at(-1)?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(api.requests).toHaveLength(0);
    expect((await chunkAttempts(tenantId)).every((n) => n === 1)).toBe(true);
    expect(await readdir(drop)).toEqual([]);
  });

  it('a local target through a link out of LOCAL_TARGET_BASE_DIR: nothing written outside', async () => {
    const tenantId = 'dest-local-escape';
    const run = await runFor(tenantId, { kind: 'demo', seed: 3, recordsPerHour: 5 }, { kind: 'local', directory: join(base, 'escape') });
    expect(run.status).toBe('failed');
    expect(run.errors.at(-1)?.code).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect((await chunkAttempts(tenantId)).every((n) => n === 1)).toBe(true);
    expect(await readdir(outside)).toEqual([]);

    // The run's finalize job fails after its chunk ("child … failed", no code): that failure is never the one
    // recorded, whichever of the two failure handlers runs first.
    const finalize = await vi.waitFor(
      async () => {
        const failed = (await harness.queues.finalize.getFailed()).find((job) => job.data.tenantId === tenantId);
        if (!failed) throw new Error('finalize job not failed yet');
        return failed;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(failedForAChunk(finalize, new Error(finalize.failedReason))).toBe(true);
    const after = await harness.controlPlane.runs.get(tenantId, run.id);
    expect(after?.errors.map((error) => error.code)).not.toContain('ERR_UNKNOWN');
  });

  it('a local target below LOCAL_TARGET_BASE_DIR is delivered (allowed when the operator allows it)', async () => {
    const tenantId = 'dest-local-inside';
    const drop = join(base, 'inside');
    await mkdir(drop);
    const run = await runFor(tenantId, { kind: 'demo', seed: 3, recordsPerHour: 5 }, { kind: 'local', directory: drop });
    expect(run.status).toBe('done');
    expect((await readdir(join(drop, tenantId), { recursive: true })).some((name) => name.includes('manifest-'))).toBe(true);
  });

  it('any local target where the operator set no LOCAL_TARGET_BASE_DIR', async () => {
    const strict = await createExportHarness(inject('mongoUrl'), {
      now: () => NOW,
      options: { initialLookbackMs: 2 * 3600_000, sliceMs: 3600_000 },
      destinations: { network: new NetworkPolicy(), localTargetBaseDir: undefined },
    });
    try {
      strict.startWorkers();
      const tenantId = 'dest-local-off';
      const drop = join(base, 'off');
      await mkdir(drop);
      await strict.controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
      await strict.controlPlane.settings.putRetention(
        tenantId,
        {
          mode: 'offline',
          dataTypes: ['chats'],
          schedule: { cron: '0 2 * * *' },
          source: { kind: 'demo', seed: 3 },
          target: { kind: 'local', directory: drop },
        },
        { actor: 'test' },
      );
      const planned = await planRun(strict.deps, strict.queues, { tenantId, trigger: 'manual' });
      if (planned.status !== 'planned') throw new Error(`not planned: ${planned.status}`);
      const run = await strict.waitForRun(tenantId, planned.runId);
      expect(run.status).toBe('failed');
      expect(run.errors.at(-1)?.code).toBe('ERR_LOCAL_TARGET_DISABLED');
      expect(await readdir(drop)).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
