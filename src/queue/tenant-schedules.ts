import type { Queue } from 'bullmq';
import type { RetentionSettings } from '../tenants/retention-settings.js';
import type { RunJobData } from './job-payloads.js';
import { schedulerId } from './queue-names.js';

/** Retry policy of run jobs. */
export const RUN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/**
 * Keeps a tenant's BullMQ job scheduler in step with its settings: created or updated from the cron expression and
 * time zone, removed when the schedule is paused or the settings are gone. Idempotent; safe from any process.
 *
 * @example
 * await syncTenantSchedule(runsQueue, 'acme', settings); // after every settings change
 */
export async function syncTenantSchedule(runs: Queue<RunJobData>, tenantId: string, settings: RetentionSettings | undefined): Promise<'scheduled' | 'removed'> {
  if (!settings || settings.schedule.paused) {
    await runs.removeJobScheduler(schedulerId(tenantId));
    return 'removed';
  }
  await runs.upsertJobScheduler(
    schedulerId(tenantId),
    { pattern: settings.schedule.cron, tz: settings.schedule.timezone },
    { name: 'run', data: { tenantId, trigger: 'schedule' }, opts: RUN_JOB_OPTIONS },
  );
  return 'scheduled';
}

/**
 * Reconciles every job scheduler with the stored settings (at worker start): tenants with settings get theirs,
 * schedulers of tenants without settings are removed.
 */
export async function syncAllSchedules(
  runs: Queue<RunJobData>,
  tenants: Array<{ tenantId: string; settings: RetentionSettings | undefined }>,
): Promise<void> {
  const wanted = new Set<string>();
  for (const { tenantId, settings } of tenants) {
    if ((await syncTenantSchedule(runs, tenantId, settings)) === 'scheduled') wanted.add(schedulerId(tenantId));
  }
  for (const scheduler of await runs.getJobSchedulers(0, -1)) {
    const id = scheduler.key;
    if (id.startsWith('tenant.') && !wanted.has(id)) await runs.removeJobScheduler(id);
  }
}
