/**
 * Base class of every error Retention raises on purpose.
 *
 * `code` is stable (`ERR_CONFIG_INVALID`, `ERR_HOST_KEY_MISMATCH`, ...): callers and tests switch on it,
 * never on the message. `status` is the HTTP status the portal answers with when the error reaches it.
 * The message says what failed and what to do about it.
 *
 * @example
 * throw new RetentionError('ERR_TENANT_ID_INVALID', 'tenant id "A B" must match [a-z0-9-]{3,63}', 400);
 */
export class RetentionError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetentionError';
    this.code = code;
    this.status = status;
  }
}

/** True when `err` is a {@link RetentionError} with the given code. */
export function hasErrorCode(err: unknown, code: string): boolean {
  return err instanceof RetentionError && err.code === code;
}
