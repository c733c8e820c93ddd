import type { SchedulePause } from '../queue/auto-pause.js';
import type { SchedulePausedAlert } from './alert-event.js';

/**
 * The alert of a pause made by `pauseAfterFailedRuns`: the streak, the newest failed run and its last error.
 *
 * @example
 * const result = await pauseAfterFailedRuns(controlPlane, queues.runs, tenantId);
 * if (result.outcome === 'paused') await alerts.raise(schedulePausedAlert(tenantId, result.pause));
 */
export function schedulePausedAlert(tenantId: string, pause: SchedulePause): SchedulePausedAlert {
  const last = pause.lastRun.errors.at(-1);
  return {
    kind: 'schedule-paused',
    tenantId,
    failedRuns: pause.failedRuns,
    lastRunId: pause.lastRun.id,
    lastErrorCode: last?.code ?? 'ERR_UNKNOWN',
    lastErrorMessage: last?.message ?? 'the run recorded no error',
    pausedAt: pause.pausedAt,
  };
}
