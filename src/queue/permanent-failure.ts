import { UnrecoverableError } from 'bullmq';
import { RetentionError } from '../errors.js';

/**
 * Error codes that retrying cannot fix: the job fails at once, with a message that says what to change.
 * Everything else is treated as transient and retried with backoff.
 */
export const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_HOST_KEY_MISMATCH',
  'ERR_TARGET_AUTH',
  'ERR_TARGET_ROOT_MISSING',
  'ERR_TARGET_PERMISSION',
  'ERR_PATH_INVALID',
  'ERR_TARGET_CONFIG_INVALID',
  'ERR_SOURCE_AUTH',
  'ERR_SOURCE_CONFIG',
  'ERR_SOURCE_WINDOW_INVALID',
  'ERR_SOURCE_PAGE_TOO_LARGE',
  'ERR_SECRET_CONTEXT_INVALID',
  'ERR_MANIFEST_INVALID',
  'ERR_WINDOW_PLAN_INVALID',
  'ERR_SETTINGS_INVALID',
  'ERR_SETTINGS_MISSING',
  'ERR_SECRET_KEY_UNKNOWN',
  'ERR_SECRET_TAMPERED',
  'ERR_SECRET_MALFORMED',
  'ERR_MASTER_KEYS_MISSING',
  'ERR_TENANT_ID_INVALID',
  'ERR_TENANT_NOT_FOUND',
  'ERR_DESTINATION_NOT_ALLOWED',
  'ERR_LOCAL_TARGET_DISABLED',
  'ERR_LOCAL_TARGET_OUTSIDE_BASE',
]);

/** True when retrying the error cannot help. */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof UnrecoverableError || (err instanceof RetentionError && PERMANENT_ERROR_CODES.has(err.code));
}

/**
 * Rethrows `err` as BullMQ's `UnrecoverableError` (no retries) when it is permanent, keeping the code in the
 * message (`[ERR_TARGET_AUTH] ...`); transient errors pass through unchanged.
 */
export function toJobError(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  if (err instanceof RetentionError && PERMANENT_ERROR_CODES.has(err.code)) {
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
