import type { RecordType } from '../records/record-type.js';
import type { Run } from '../store/runs-store.js';

/** Why a run cannot be retried, in words for the Jobs page; undefined when it can. */
export type RunRetryRefusal = string | undefined;

function sameWindows(a: Run['windows'], b: Run['windows']): boolean {
  const types = new Set([...Object.keys(a), ...Object.keys(b)] as RecordType[]);
  for (const type of types) {
    const x = a[type];
    const y = b[type];
    if (x === undefined || y === undefined || x.from.getTime() !== y.from.getTime() || x.to.getTime() !== y.to.getTime()) return false;
  }
  return true;
}

/**
 * Whether a run can still be retried, knowing the runs created after it. Only a failed run can. A failed scheduled or
 * manual run leaves the checkpoints where they were, so the next such run covers its windows again: once a later one
 * is running or done, retrying would only repeat it. A failed backfill covers its own range, which the schedule never
 * does: it can be retried until a later backfill of the same range is running or done (a retry, or the same request
 * made again).
 *
 * @example
 * retryRefusal(failedRun, await runs.listCreatedAfter(tenantId, failedRun.createdAt)); // undefined: show Retry
 */
export function retryRefusal(run: Run, later: readonly Run[]): RunRetryRefusal {
  if (run.status !== 'failed') return `Only a failed run can be retried; this one is ${run.status === 'done' ? 'done' : 'still running'}.`;
  const covering = later.filter((other) => other.createdAt.getTime() > run.createdAt.getTime() && other.status !== 'failed');
  if (run.trigger === 'backfill') {
    return covering.some((other) => other.trigger === 'backfill' && sameWindows(other.windows, run.windows))
      ? 'A later backfill of the same range has run or is running: this one needs no retry.'
      : undefined;
  }
  return covering.some((other) => other.trigger !== 'backfill')
    ? "A later run has covered this run's windows again (the checkpoints did not move past them): it needs no retry."
    : undefined;
}
