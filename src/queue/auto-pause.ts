import type { Queue } from 'bullmq';
import { hasErrorCode } from '../errors.js';
import type { ControlPlane } from '../store/control-plane.js';
import type { Run } from '../store/runs-store.js';
import type { RunJobData } from './job-payloads.js';
import { syncTenantSchedule } from './tenant-schedules.js';

/** Failed runs in a row after which a tenant's schedule is paused, unless its settings say otherwise. */
export const AUTO_PAUSE_AFTER_FAILURES = 3;

/** The tenant's streak limit (`schedule.pauseAfterFailures`; 0: never pause), {@link AUTO_PAUSE_AFTER_FAILURES} without settings. */
export function pauseAfterFailuresOf(settings: { schedule: { pauseAfterFailures?: number } } | undefined): number {
  return settings?.schedule.pauseAfterFailures ?? AUTO_PAUSE_AFTER_FAILURES;
}

/** What {@link autoPauseAfterFailures} did. */
export type AutoPauseOutcome = 'paused' | 'already-paused' | 'not-needed' | 'no-settings';

/** A pause {@link pauseAfterFailedRuns} made: the streak and its newest run (the pause's identity for its alert). */
export interface SchedulePause {
  failedRuns: number;
  /** The newest failed run of the streak, with its errors. */
  lastRun: Pick<Run, 'id' | 'errors'>;
  pausedAt: Date;
  /** The version of the settings that hold the pause. */
  version: number;
}

/** What {@link pauseAfterFailedRuns} did, and the pause when it made one. */
export type AutoPauseResult = { outcome: 'paused'; pause: SchedulePause } | { outcome: Exclude<AutoPauseOutcome, 'paused'> };

/**
 * True when the newest `n` runs of a list (newest first) all failed: the streak that pauses a schedule.
 *
 * @example
 * failedInARow(await runs.listByTenant('acme', { limit: 3 }), 3);
 */
export function failedInARow(runs: ReadonlyArray<{ status: string }>, n: number): boolean {
  return n > 0 && runs.length >= n && runs.slice(0, n).every((run) => run.status === 'failed');
}

/**
 * Pauses a tenant's schedule when its last `n` runs in a row failed (`n`: the tenant's
 * `schedule.pauseAfterFailures` unless given; 0 never pauses): sets `schedule.paused` in the stored settings
 * (optimistic concurrency, retried once on a concurrent change), removes the BullMQ job scheduler and writes a
 * `schedule.auto-paused` audit event. Idempotent: a schedule that is already paused is left alone. The worker calls it
 * after marking a run failed; the portal's jobs page shows the alert from the same runs.
 *
 * @example
 * await autoPauseAfterFailures(controlPlane, queues.runs, 'acme'); // 'paused' after the tenant's streak limit
 */
export async function autoPauseAfterFailures(
  controlPlane: Pick<ControlPlane, 'runs' | 'settings' | 'audit'>,
  runs: Queue<RunJobData>,
  tenantId: string,
  limit?: number,
  now: () => Date = () => new Date(),
): Promise<AutoPauseOutcome> {
  return (await pauseAfterFailedRuns(controlPlane, runs, tenantId, limit, now)).outcome;
}

/**
 * {@link autoPauseAfterFailures}, and the pause it made (`outcome: 'paused'`): how many runs failed, the newest of
 * them with its errors, when. Only the one caller whose write paused the schedule gets `paused` (a concurrent caller
 * gets `already-paused`), so the pause is alerted by whoever made it.
 *
 * @example
 * const result = await pauseAfterFailedRuns(controlPlane, queues.runs, 'acme');
 * if (result.outcome === 'paused') await alerts.raise(schedulePausedAlert('acme', result.pause));
 */
export async function pauseAfterFailedRuns(
  controlPlane: Pick<ControlPlane, 'runs' | 'settings' | 'audit'>,
  runs: Queue<RunJobData>,
  tenantId: string,
  limit?: number,
  now: () => Date = () => new Date(),
): Promise<AutoPauseResult> {
  const n = limit ?? pauseAfterFailuresOf((await controlPlane.settings.getRetention(tenantId))?.value);
  if (n === 0) return { outcome: 'not-needed' };
  const recent = await controlPlane.runs.listByTenant(tenantId, { limit: n });
  const lastRun = recent[0];
  if (!failedInARow(recent, n) || lastRun === undefined) return { outcome: 'not-needed' };
  for (let attempt = 0; ; attempt += 1) {
    const stored = await controlPlane.settings.getRetention(tenantId);
    if (stored === undefined) return { outcome: 'no-settings' };
    if (stored.value.schedule.paused) {
      await syncTenantSchedule(runs, tenantId, stored.value);
      return { outcome: 'already-paused' };
    }
    const value = { ...stored.value, schedule: { ...stored.value.schedule, paused: true } };
    const pausedAt = now();
    try {
      const saved = await controlPlane.settings.putRetention(tenantId, value, { actor: 'system:auto-pause', expectedVersion: stored.version, now: pausedAt });
      await syncTenantSchedule(runs, tenantId, saved.value);
      await controlPlane.audit.append(
        tenantId,
        {
          actor: { type: 'system', id: 'auto-pause' },
          action: 'schedule.auto-paused',
          outcome: 'success',
          target: 'retention',
          details: { failedRuns: n, lastRunId: lastRun.id, version: saved.version },
        },
        pausedAt,
      );
      return { outcome: 'paused', pause: { failedRuns: n, lastRun: { id: lastRun.id, errors: lastRun.errors }, pausedAt, version: saved.version } };
    } catch (err) {
      if (attempt >= 1 || !hasErrorCode(err, 'ERR_SETTINGS_CONFLICT')) throw err;
    }
  }
}
