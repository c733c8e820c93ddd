import { ERROR_CATALOGUE, type ErrorCode } from './error-catalogue.js';

export type { ErrorCode } from './error-catalogue.js';

/**
 * Base class of every error Retention raises on purpose.
 *
 * `code` is one of the error catalogue's (`src/error-catalogue.ts`), stable: callers and tests switch on it, never on
 * the message. `status`, the HTTP status the portal answers with when the error reaches it, is the catalogue's for
 * the code. The message says what failed and what to do about it.
 *
 * @example
 * throw new RetentionError('ERR_TENANT_ID_INVALID', 'tenant id "A B" must match [a-z0-9-]{3,63}');
 */
export class RetentionError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetentionError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** True when `err` is a {@link RetentionError} with the given code. */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof RetentionError && err.code === code;
}

/**
 * True when `err` is a {@link RetentionError} whose code the catalogue marks permanent: a job failing with it is not
 * retried, whichever queue it is on.
 *
 * @example
 * if (isPermanentError(err)) throw new UnrecoverableError(err.message);
 */
export function isPermanentError(err: unknown): err is RetentionError {
  return err instanceof RetentionError && ERROR_CATALOGUE[err.code].permanent;
}
