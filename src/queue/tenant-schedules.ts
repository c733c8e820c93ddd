import type { JobSchedulerJson, Queue } from 'bullmq';
import type { RetentionSettings } from '../tenants/retention-settings.js';
import type { RunJobData } from './job-payloads.js';
import { schedulerId } from './queue-names.js';
import { hadPendingJob, hasPendingJob, lostItsNextJob, pendingJobIds } from './scheduler-slot.js';

/** Retry policy of run jobs. */
export const RUN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/** A tenant and its stored retention settings (`undefined`: none, or unreadable; either way not scheduled). */
export interface TenantSettingsEntry {
  tenantId: string;
  settings: RetentionSettings | undefined;
}

/** How many schedulers are checked or changed at once (one connection, overlapping round trips). */
const BATCH = 200;

const isScheduled = (settings: RetentionSettings | undefined): settings is RetentionSettings => settings !== undefined && !settings.schedule.paused;

const matchesSettings = (scheduler: JobSchedulerJson, settings: RetentionSettings): boolean =>
  scheduler.pattern === settings.schedule.cron && scheduler.tz === settings.schedule.timezone;

/** Arms a matching scheduler again when its next run job is gone ({@link lostItsNextJob}). */
async function rearmIfStuck(runs: Queue<RunJobData>, tenantId: string, settings: RetentionSettings, scheduler: JobSchedulerJson): Promise<boolean> {
  if (!(await lostItsNextJob(runs, scheduler))) return false;
  await upsertTenantScheduler(runs, tenantId, settings);
  return true;
}

async function upsertTenantScheduler(runs: Queue<RunJobData>, tenantId: string, settings: RetentionSettings): Promise<void> {
  await runs.upsertJobScheduler(
    schedulerId(tenantId),
    { pattern: settings.schedule.cron, tz: settings.schedule.timezone },
    { name: 'run', data: { tenantId, trigger: 'schedule' }, opts: RUN_JOB_OPTIONS },
  );
}

/**
 * Keeps a tenant's BullMQ job scheduler in step with its settings: created or updated from the cron expression and
 * time zone, removed when the schedule is paused or the settings are gone. Idempotent; safe from any process.
 *
 * A scheduler that already has the settings' cron and time zone, and a next run still to come, is left alone (a save
 * of other settings does not touch it): BullMQ's upsert replaces the pending job and computes the next slot from the
 * current time, so an upsert while the tenant's slot is due but not yet picked up (a burst of due tenants takes a
 * while to drain) would drop that slot and the tenant would wait for the following one.
 *
 * @example
 * await syncTenantSchedule(runsQueue, 'acme', settings); // after every settings change
 */
export async function syncTenantSchedule(runs: Queue<RunJobData>, tenantId: string, settings: RetentionSettings | undefined): Promise<'scheduled' | 'removed'> {
  if (!isScheduled(settings)) {
    await runs.removeJobScheduler(schedulerId(tenantId));
    return 'removed';
  }
  const current = await runs.getJobScheduler(schedulerId(tenantId));
  if (current !== undefined && matchesSettings(current, settings) && (await hasPendingJob(runs, current))) return 'scheduled';
  await upsertTenantScheduler(runs, tenantId, settings);
  return 'scheduled';
}

/** What a reconciliation of the tenants' job schedulers changed, by tenant id. */
export interface ScheduleReconciliation {
  /** Schedulers that were missing (a new tenant, or Redis lost them) and were created. */
  created: string[];
  /** Schedulers whose cron or time zone differed from the settings. */
  updated: string[];
  /** Matching schedulers whose next run job was gone (they would never have fired again), armed again. */
  rearmed: string[];
  /** Schedulers of paused tenants or of tenants without settings. */
  removed: string[];
  /** Tenants whose scheduler could not be changed; the others were still reconciled, and the next round tries again. */
  failed: Array<{ tenantId: string; message: string }>;
}

/**
 * Reconciles every tenant's job scheduler with the stored settings: a missing one (a new tenant, or Redis lost its
 * data) is created, one whose cron or time zone differs is updated, one whose next run job is gone is armed again,
 * and schedulers of paused tenants or of tenants without settings are removed; matching ones are left alone (their
 * next run keeps its place). Scheduler ids are derived from the tenant id and every change is one atomic BullMQ
 * script, so any number of workers may run this at once and still leave one scheduler per tenant with one next job.
 * A tenant whose scheduler cannot be changed is reported in `failed` and does not stop the others (nor a worker's
 * start).
 *
 * Pass the tenants as a loader: the schedulers are then read before the settings, so a tenant whose settings are
 * saved (and its scheduler created by the portal) while this runs is seen either in both or in neither, never in
 * Redis only, where it would be taken for a leftover and removed.
 *
 * @example
 * const changed = await syncAllSchedules(queues.runs, () => loadTenantSettings(controlPlane, logger));
 */
export async function syncAllSchedules(
  runs: Queue<RunJobData>,
  tenants: readonly TenantSettingsEntry[] | (() => Promise<readonly TenantSettingsEntry[]>),
): Promise<ScheduleReconciliation> {
  const outcome: ScheduleReconciliation = { created: [], updated: [], rearmed: [], removed: [], failed: [] };
  const existing = new Map((await runs.getJobSchedulers(0, -1)).map((scheduler) => [scheduler.key, scheduler]));
  // After the schedulers: a next job listed here was still to come after its scheduler was read.
  const pending = await pendingJobIds(runs);
  const list = typeof tenants === 'function' ? await tenants() : tenants;
  /** Runs one tenant's change; `done` gets the tenant unless the change reports that it did nothing (`false`). */
  const apply = async (tenantId: string, change: () => Promise<unknown>, done: string[]): Promise<void> => {
    try {
      if ((await change()) !== false) done.push(tenantId);
    } catch (err) {
      outcome.failed.push({ tenantId, message: err instanceof Error ? err.message : String(err) });
    }
  };

  const wanted = new Set<string>();
  const changes: Array<() => Promise<void>> = [];
  for (const { tenantId, settings } of list) {
    if (!isScheduled(settings)) continue;
    const id = schedulerId(tenantId);
    wanted.add(id);
    const current = existing.get(id);
    if (current === undefined) changes.push(() => apply(tenantId, () => upsertTenantScheduler(runs, tenantId, settings), outcome.created));
    else if (!matchesSettings(current, settings)) changes.push(() => apply(tenantId, () => upsertTenantScheduler(runs, tenantId, settings), outcome.updated));
    else if (!hadPendingJob(pending, current)) changes.push(() => apply(tenantId, () => rearmIfStuck(runs, tenantId, settings, current), outcome.rearmed));
  }
  for (const id of existing.keys()) {
    if (!id.startsWith('tenant.') || wanted.has(id)) continue;
    changes.push(() => apply(id.slice('tenant.'.length), () => runs.removeJobScheduler(id), outcome.removed));
  }
  // Different schedulers are independent: a batch at a time overlaps the round trips (a boot on an empty Redis creates them all).
  for (let start = 0; start < changes.length; start += BATCH) await Promise.all(changes.slice(start, start + BATCH).map((change) => change()));
  for (const ids of [outcome.created, outcome.updated, outcome.rearmed, outcome.removed]) ids.sort();
  return outcome;
}
