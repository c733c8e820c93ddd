import type { RebuildStatus } from '../../queue/import-queues.js';

/** Why the Retention page cannot queue a rebuild, when the portal was started without the archive queues. */
export const REBUILD_UNAVAILABLE =
  'This portal was started without the archive queues, so it cannot queue a rebuild of the online archive. Ask your Retention operator to rebuild it (retention rebuild <tenant>) or to give the portal its Redis queues.';

/** What the Online archive section says about rebuilds (times in UTC, ready to print). */
export interface RebuildView {
  /** Whether this portal can queue rebuilds (it was given the archive queues). */
  available: boolean;
  /** The state could not be read (Redis unreachable). */
  unknown: boolean;
  running?: string;
  queued?: string;
  last?: { ok: boolean; text: string };
}

const utc = (date: Date | undefined): string => (date === undefined ? 'at an unknown time' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
const manifests = (n: number): string => `${n} ${n === 1 ? 'manifest' : 'manifests'}`;

/**
 * The rebuild state in words for the Retention page.
 *
 * @example
 * describeRebuildStatus({ running: { imported: 3 } }, true).running; // 'A rebuild is running (started at an unknown time): 3 manifests loaded so far.'
 */
export function describeRebuildStatus(status: RebuildStatus | undefined, available: boolean): RebuildView {
  const view: RebuildView = { available, unknown: available && status === undefined };
  if (status === undefined) return view;
  if (status.running !== undefined)
    view.running = `A rebuild is running (started ${utc(status.running.startedAt)}): ${manifests(status.running.imported)} loaded so far.`;
  if (status.queued !== undefined) {
    const retry = status.queued.retry;
    view.queued =
      retry === undefined
        ? `A rebuild is queued (since ${utc(status.queued.queuedAt)})${status.running !== undefined ? ' and starts when the running one finishes' : ''}.`
        : `A rebuild is queued and tries again shortly (attempt ${retry.attempt}); the last attempt stopped: ${retry.reason}`;
  }
  const last = status.last;
  if (last !== undefined) {
    view.last =
      last.outcome === 'completed'
        ? {
            ok: last.refused === 0,
            text: `The last rebuild finished ${utc(last.finishedAt)}: ${manifests(last.imported)} loaded${last.refused > 0 ? `, ${manifests(last.refused)} refused (the audit log says why: action archive.import-failed)` : ''}.`,
          }
        : { ok: false, text: `The last rebuild failed ${utc(last.finishedAt)}: ${last.reason}` };
  }
  return view;
}
