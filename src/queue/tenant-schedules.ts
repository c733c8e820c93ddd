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

/** What a reconciliation of the tenants' job schedulers changed, by tenant id. */
export interface ScheduleReconciliation {
  /** Schedulers that were missing (a new tenant, or Redis lost them) and were created. */
  created: string[];
  /** Schedulers whose cron or time zone differed from the settings. */
  updated: string[];
  /** Schedulers of paused tenants or of tenants without settings. */
  removed: string[];
}

/**
 * Reconciles every tenant's job scheduler with the stored settings: a missing one (a new tenant, or Redis lost its
 * data) is created, one whose cron or time zone differs is updated, and schedulers of paused tenants or of tenants
 * without settings are removed; matching ones are left alone (their next run keeps its place). Idempotent, so any
 * number of workers may run it at once; run at worker start and then periodically.
 *
 * @example
 * const changed = await syncAllSchedules(queues.runs, tenantsWithSettings);
 */
export async function syncAllSchedules(
  runs: Queue<RunJobData>,
  tenants: Array<{ tenantId: string; settings: RetentionSettings | undefined }>,
): Promise<ScheduleReconciliation> {
  const outcome: ScheduleReconciliation = { created: [], updated: [], removed: [] };
  const wanted = new Set<string>();
  const existing = new Map((await runs.getJobSchedulers(0, -1)).map((scheduler) => [scheduler.key, scheduler]));
  for (const { tenantId, settings } of tenants) {
    const id = schedulerId(tenantId);
    const current = existing.get(id);
    if (!settings || settings.schedule.paused) continue;
    wanted.add(id);
    if (current !== undefined && current.pattern === settings.schedule.cron && current.tz === settings.schedule.timezone) continue;
    await syncTenantSchedule(runs, tenantId, settings);
    (current === undefined ? outcome.created : outcome.updated).push(tenantId);
  }
  for (const id of existing.keys()) {
    if (id.startsWith('tenant.') && !wanted.has(id)) {
      await runs.removeJobScheduler(id);
      outcome.removed.push(id.slice('tenant.'.length));
    }
  }
  return outcome;
}
