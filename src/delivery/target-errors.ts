import { RetentionError } from '../errors.js';

/**
 * Codes of target failures that retrying cannot fix: an administrator has to change a setting or the server.
 * The worker turns them into BullMQ `UnrecoverableError`s; every other target failure is retried with backoff.
 */
export const PERMANENT_TARGET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_TARGET_AUTH',
  'ERR_HOST_KEY_MISMATCH',
  'ERR_TARGET_ROOT_MISSING',
  'ERR_TARGET_PERMISSION',
  'ERR_TARGET_READ_ONLY',
  'ERR_TARGET_CONFIG_INVALID',
  'ERR_PATH_INVALID',
]);

/**
 * True when `err` is a target failure that must not be retried.
 *
 * @example
 * catch (err) { if (isPermanentTargetError(err)) throw new UnrecoverableError((err as Error).message); throw err; }
 */
export function isPermanentTargetError(err: unknown): boolean {
  return err instanceof RetentionError && PERMANENT_TARGET_ERROR_CODES.has(err.code);
}

const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set(['ERR_TARGET_UNREACHABLE', 'ERR_TARGET_TIMEOUT', 'ERR_TARGET_CLOSED']);

/**
 * True when `err` says the target could not be reached or its connection was lost, so nothing more can be done on it
 * now; a refusal of one operation (permission, a missing file) is not such an error.
 *
 * @example
 * catch (err) { if (isTargetConnectionError(err)) throw err; failures.push(err); }
 */
export function isTargetConnectionError(err: unknown): boolean {
  return err instanceof RetentionError && CONNECTION_ERROR_CODES.has(err.code);
}
