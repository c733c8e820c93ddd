import { RetentionError } from '../errors.js';

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
