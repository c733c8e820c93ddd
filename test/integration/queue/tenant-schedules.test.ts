import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { syncAllSchedules, syncTenantSchedule } from '../../../src/queue/tenant-schedules.js';
import { parseRetentionSettings } from '../../../src/tenants/retention-settings.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const prefix = uniqueName('sched');
const runs = new Queue('runs', { connection: redis, prefix });

const settings = (cron: string, timezone: string, paused = false) =>
  parseRetentionSettings({
    mode: 'offline',
    dataTypes: ['chats'],
    schedule: { cron, timezone, paused },
    source: { kind: 'demo', seed: 1 },
    target: { kind: 'local', directory: '/srv/drop' },
  });

afterAll(async () => {
  await runs.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

describe('tenant job schedulers', () => {
  it('creates, changes, pauses and removes a tenant schedule in step with its settings', async () => {
    expect(await syncTenantSchedule(runs, 'acme', settings('0 2 * * *', 'Europe/Berlin'))).toBe('scheduled');
    let scheduler = await runs.getJobScheduler('tenant.acme');
    expect(scheduler).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    expect(scheduler?.template?.data).toEqual({ tenantId: 'acme', trigger: 'schedule' });
    const next = new Date(scheduler?.next ?? 0);
    expect(next.getUTCMinutes()).toBe(0);
    expect([0, 1]).toContain(next.getUTCHours());

    await syncTenantSchedule(runs, 'acme', settings('30 4 * * 1', 'UTC'));
    scheduler = await runs.getJobScheduler('tenant.acme');
    expect(scheduler).toMatchObject({ pattern: '30 4 * * 1', tz: 'UTC' });
    expect(await runs.getJobSchedulersCount()).toBe(1);

    expect(await syncTenantSchedule(runs, 'acme', settings('30 4 * * 1', 'UTC', true))).toBe('removed');
    expect(await runs.getJobScheduler('tenant.acme')).toBeUndefined();
  });

  it('reconciles all schedulers with stored settings, removing those of tenants without settings', async () => {
    await syncTenantSchedule(runs, 'gone-co', settings('0 3 * * *', 'UTC'));
    await syncAllSchedules(runs, [
      { tenantId: 'kept-co', settings: settings('0 1 * * *', 'UTC') },
      { tenantId: 'paused-co', settings: settings('0 1 * * *', 'UTC', true) },
    ]);
    const ids = (await runs.getJobSchedulers(0, -1)).map((s) => s.key).sort();
    expect(ids).toEqual(['tenant.kept-co']);
  });
});
