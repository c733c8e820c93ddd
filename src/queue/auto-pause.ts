import type { Queue } from 'bullmq';
import { hasErrorCode } from '../errors.js';
import type { ControlPlane } from '../store/control-plane.js';
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
  const n = limit ?? pauseAfterFailuresOf((await controlPlane.settings.getRetention(tenantId))?.value);
  if (n === 0) return 'not-needed';
  const recent = await controlPlane.runs.listByTenant(tenantId, { limit: n });
  if (!failedInARow(recent, n)) return 'not-needed';
  for (let attempt = 0; ; attempt += 1) {
    const stored = await controlPlane.settings.getRetention(tenantId);
    if (stored === undefined) return 'no-settings';
    if (stored.value.schedule.paused) {
      await syncTenantSchedule(runs, tenantId, stored.value);
      return 'already-paused';
    }
    const value = { ...stored.value, schedule: { ...stored.value.schedule, paused: true } };
    try {
      const saved = await controlPlane.settings.putRetention(tenantId, value, { actor: 'system:auto-pause', expectedVersion: stored.version, now: now() });
      await syncTenantSchedule(runs, tenantId, saved.value);
      await controlPlane.audit.append(
        tenantId,
        {
          actor: { type: 'system', id: 'auto-pause' },
          action: 'schedule.auto-paused',
          outcome: 'success',
          target: 'retention',
          details: { failedRuns: n, lastRunId: recent[0]?.id ?? null, version: saved.version },
        },
        now(),
      );
      return 'paused';
    } catch (err) {
      if (attempt >= 1 || !hasErrorCode(err, 'ERR_SETTINGS_CONFLICT')) throw err;
    }
  }
}
