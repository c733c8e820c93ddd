import { UnrecoverableError } from 'bullmq';
import { isPermanentError, RetentionError } from '../errors.js';
import type { RunTrigger } from '../store/runs-store.js';

/** True when retrying the error cannot help: BullMQ's `UnrecoverableError`, or a code the catalogue marks permanent. */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof UnrecoverableError || isPermanentError(err);
}

/**
 * Rethrows `err` as BullMQ's `UnrecoverableError` (no retries) when it is permanent, keeping the code in the
 * message (`[ERR_TARGET_AUTH] ...`); transient errors pass through unchanged.
 */
export function toJobError(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  if (isPermanentError(err)) {
    const permanent = new UnrecoverableError(`[${err.code}] ${err.message}`);
    permanent.cause = err;
    return permanent;
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The stable code of a job error (`ERR_UNKNOWN` when it carries none). */
export function errorCodeOf(err: unknown): string {
  if (err instanceof RetentionError) return err.code;
  if (err instanceof Error) {
    if (err.cause instanceof RetentionError) return err.cause.code;
    const match = /^\[(ERR_[A-Z0-9_]+)\]/.exec(err.message);
    if (match?.[1]) return match[1];
  }
  return 'ERR_UNKNOWN';
}

/** Phrases of error messages that promise another attempt; wrong in the message of the last one. */
const RETRY_PROMISES =
  /[;,]?\s*(?:it|the chunk|the operation|the upload) (?:will|can) be retried(?: later)?|[;,]?\s*a later attempt (?:may succeed|uploads (?:it|the file) again)\.?|[;,]\s*retry (?:later|the upload)/gi;

/**
 * The message recorded on a run whose job failed for the last time: the error's own message without any promise of
 * another attempt, and, for a transient error whose attempts ran out, how many there were and what happens next (a
 * scheduled or manual run's windows are delivered by the next run, since its checkpoints did not advance; a backfill's
 * range is not, since the schedule never covers a past range).
 *
 * @example
 * finalFailureMessage('SFTP server x refused to write y ("Failure"); a later attempt may succeed', { attemptsMade: 8, permanent: false, trigger: 'schedule' });
 * // 'SFTP server x refused to write y ("Failure") (gave up after 8 attempts; the run failed, and the next run delivers its windows again)'
 */
export function finalFailureMessage(
  message: string,
  { attemptsMade, permanent, trigger }: { attemptsMade: number; permanent: boolean; trigger: RunTrigger | undefined },
): string {
  const cleaned = message.replace(RETRY_PROMISES, '').trim();
  if (permanent) return cleaned;
  return `${cleaned} (gave up after ${attemptsMade} attempt${attemptsMade === 1 ? '' : 's'}; the run failed, and ${whatDeliversAgain(trigger)})`;
}

/** Who delivers the windows of a failed run again, said the way run messages say it. */
export function whatDeliversAgain(trigger: RunTrigger | undefined): string {
  return trigger === 'backfill' ? 'its range is delivered only when the backfill is started again' : 'the next run delivers its windows again';
}
