import { Queue } from 'bullmq';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { autoPauseAfterFailures, failedInARow } from '../../../src/queue/auto-pause.js';
import type { RunJobData } from '../../../src/queue/job-payloads.js';
import { syncTenantSchedule } from '../../../src/queue/tenant-schedules.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import { uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const prefix = uniqueName('autopause');
const runs = new Queue<RunJobData>('runs', { connection: redis, prefix });
let mongo: MongoClient;
let cp: ControlPlane;
const dbName = uniqueDbName('autopause');

const SETTINGS = {
  mode: 'offline',
  dataTypes: ['chats'],
  schedule: { cron: '0 2 * * *', timezone: 'UTC' },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: '/srv/drop' },
};

async function addRun(tenantId: string, id: string, at: number, status: 'done' | 'failed' | 'running'): Promise<void> {
  await cp.runs.createIfAbsent({ id, tenantId, trigger: 'schedule', windows: {}, previous: null, chunkCount: 1, createdAt: new Date(at) });
  if (status === 'failed') await cp.runs.markFailed(tenantId, id, { code: 'ERR_TARGET_UNREACHABLE', message: 'down' }, new Date(at + 1));
  if (status === 'done')
    await cp.runs.markDone(tenantId, id, { manifest: { runId: id, path: `/m-${id}.json`, sha256: 'a'.repeat(64) }, files: [], totals: {} }, new Date(at + 1));
}

async function tenantWithRuns(statuses: Array<'done' | 'failed' | 'running'>, pauseAfterFailures?: number): Promise<string> {
  const tenantId = `ap-${uniqueName('t').slice(2)}`;
  const settings = pauseAfterFailures === undefined ? SETTINGS : { ...SETTINGS, schedule: { ...SETTINGS.schedule, pauseAfterFailures } };
  await cp.settings.putRetention(tenantId, settings, { actor: 'test' });
  await syncTenantSchedule(runs, tenantId, (await cp.settings.requireRetention(tenantId)).value);
  // oldest first
  for (const [i, status] of statuses.entries()) await addRun(tenantId, `${tenantId}-run${i}`, Date.UTC(2026, 0, 1, i), status);
  return tenantId;
}

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  cp = createControlPlane(mongo.db(dbName));
  await ensureControlPlaneIndexes(cp);
});
afterAll(async () => {
  await runs.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await mongo.db(dbName).dropDatabase();
  await mongo.close();
});

describe('auto-pause after failed runs in a row', () => {
  it.each([
    [[], 3, false],
    [[{ status: 'failed' }, { status: 'failed' }], 3, false],
    [[{ status: 'failed' }, { status: 'failed' }, { status: 'failed' }], 3, true],
    [[{ status: 'failed' }, { status: 'done' }, { status: 'failed' }, { status: 'failed' }], 3, false],
    [[{ status: 'running' }, { status: 'failed' }, { status: 'failed' }, { status: 'failed' }], 3, false],
    [[{ status: 'failed' }], 0, false],
  ])('failedInARow(%j, %i) is %s', (list, n, expected) => {
    expect(failedInARow(list, n)).toBe(expected);
  });

  it('pauses the schedule, removes the job scheduler and audits once the last 3 runs failed', async () => {
    const tenantId = await tenantWithRuns(['done', 'failed', 'failed', 'failed']);
    expect(await runs.getJobScheduler(`tenant.${tenantId}`)).toBeDefined();
    expect(await autoPauseAfterFailures(cp, runs, tenantId, 3)).toBe('paused');
    expect((await cp.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);
    expect(await runs.getJobScheduler(`tenant.${tenantId}`)).toBeUndefined();
    const audit = await cp.audit.list(tenantId, { action: 'schedule.auto-paused' });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ failedRuns: 3, lastRunId: `${tenantId}-run3` });

    expect(await autoPauseAfterFailures(cp, runs, tenantId, 3)).toBe('already-paused');
    expect(await cp.audit.list(tenantId, { action: 'schedule.auto-paused' })).toHaveLength(1);
  });

  it('leaves the schedule alone when a run in the streak succeeded', async () => {
    const tenantId = await tenantWithRuns(['failed', 'failed', 'done', 'failed', 'failed']);
    expect(await autoPauseAfterFailures(cp, runs, tenantId, 3)).toBe('not-needed');
    expect((await cp.settings.requireRetention(tenantId)).value.schedule.paused).toBe(false);
    expect(await runs.getJobScheduler(`tenant.${tenantId}`)).toBeDefined();
  });

  it.each([
    [[], 'failed failed failed', 'paused'],
    [[], 'done failed failed', 'not-needed'],
    [[2], 'done failed failed', 'paused'],
    [[1], 'done done failed', 'paused'],
    [[0], 'failed failed failed failed failed', 'not-needed'],
    [[5], 'failed failed failed failed', 'not-needed'],
  ] as const)('follows the tenant’s own streak limit (schedule.pauseAfterFailures %j): %s → %s', async (limit, history, expected) => {
    const statuses = history.split(' ') as Array<'done' | 'failed'>;
    const tenantId = await tenantWithRuns(statuses, limit[0]);
    expect(await autoPauseAfterFailures(cp, runs, tenantId)).toBe(expected);
    expect((await cp.settings.requireRetention(tenantId)).value.schedule.paused).toBe(expected === 'paused');
    if (expected === 'paused') {
      const [audit] = await cp.audit.list(tenantId, { action: 'schedule.auto-paused' });
      expect(audit?.details).toMatchObject({ failedRuns: limit[0] ?? 3 });
    }
  });

  it('says so when the tenant has no settings', async () => {
    const tenantId = `ap-${uniqueName('n').slice(2)}`;
    for (const i of [0, 1, 2]) await addRun(tenantId, `${tenantId}-r${i}`, Date.UTC(2026, 0, 2, i), 'failed');
    expect(await autoPauseAfterFailures(cp, runs, tenantId, 3)).toBe('no-settings');
  });
});
