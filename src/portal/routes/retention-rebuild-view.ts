import type { RebuildStatus } from '../../queue/import-queues.js';
import type { ViewFormat } from './archive-view-format.js';

/** Why the Retention page cannot queue a rebuild, when the portal was started without the archive queues. */
export const REBUILD_UNAVAILABLE =
  'This portal was started without the archive queues, so it cannot queue a rebuild of the online archive. Ask your Retention operator to rebuild it (retention rebuild <tenant>) or to give the portal its Redis queues.';

/** What the Online archive section says about rebuilds (times in the reader's zone, in the portal's format; ready to print). */
export interface RebuildView {
  /** Whether this portal can queue rebuilds (it was given the archive queues). */
  available: boolean;
  /** The state could not be read (Redis unreachable). */
  unknown: boolean;
  running?: string;
  queued?: string;
  last?: { ok: boolean; text: string };
}

const manifests = (n: number): string => `${n} ${n === 1 ? 'manifest' : 'manifests'}`;

/**
 * The rebuild state in words for the Retention page, its times as `fmt` prints times (`res.locals.fmt`).
 *
 * @example
 * describeRebuildStatus({ running: { imported: 3 } }, true, fmt).running; // 'A rebuild is running (started at an unknown time): 3 manifests loaded so far.'
 */
export function describeRebuildStatus(status: RebuildStatus | undefined, available: boolean, fmt: ViewFormat): RebuildView {
  const at = (date: Date | undefined): string => (date === undefined ? 'at an unknown time' : fmt.time(date));
  const view: RebuildView = { available, unknown: available && status === undefined };
  if (status === undefined) return view;
  if (status.running !== undefined)
    view.running = `A rebuild is running (started ${at(status.running.startedAt)}): ${manifests(status.running.imported)} loaded so far.`;
  if (status.queued !== undefined) {
    const retry = status.queued.retry;
    view.queued =
      retry === undefined
        ? `A rebuild is queued (since ${at(status.queued.queuedAt)})${status.running !== undefined ? ' and starts when the running one finishes' : ''}.`
        : `A rebuild is queued and tries again shortly (attempt ${retry.attempt}); the last attempt stopped: ${retry.reason}`;
  }
  const last = status.last;
  if (last !== undefined) {
    view.last =
      last.outcome === 'completed'
        ? {
            ok: last.refused === 0,
            text: `The last rebuild finished ${at(last.finishedAt)}: ${manifests(last.imported)} loaded${last.refused > 0 ? `, ${manifests(last.refused)} refused (the audit log says why: action archive.import-failed)` : ''}.`,
          }
        : { ok: false, text: `The last rebuild failed ${at(last.finishedAt)}: ${last.reason}` };
  }
  return view;
}
