/** How long to wait between attempts: exponential backoff with full jitter. */
export interface BackoffPolicy {
  /** Upper bound of the first wait, in milliseconds; doubles with every further retry. */
  baseMs: number;
  /** No wait is longer than this, in milliseconds. */
  maxMs: number;
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  random: () => number;
}

/**
 * The wait before retry number `retry` (1 for the first retry): a uniformly random duration between 0 and
 * `min(maxMs, baseMs * 2^(retry - 1))` ("full jitter"), so many workers failing together do not retry together.
 *
 * @example
 * backoffDelayMs(3, { baseMs: 500, maxMs: 30_000, random: () => 0.5 }) // 1000 (half of 2000)
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  const fraction = Math.min(Math.max(policy.random(), 0), 1);
  return Math.floor(ceiling * fraction);
}

const DELAY_SECONDS = /^\s*(\d{1,10})\s*$/;

/**
 * Reads an HTTP `Retry-After` header: delay-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`),
 * relative to `nowMs`. Returns the wait in milliseconds, at most `maxMs` (a date in the past means 0), or
 * `undefined` when the header is absent or unreadable (then the caller falls back to its backoff).
 *
 * @example
 * parseRetryAfterMs('3', Date.now(), 60_000) // 3000
 * parseRetryAfterMs('3600', Date.now(), 60_000) // 60000 (capped)
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number, maxMs: number): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const seconds = DELAY_SECONDS.exec(header);
  if (seconds?.[1] !== undefined) return Math.min(Number(seconds[1]) * 1000, maxMs);
  if (!/[a-z]/i.test(header)) return undefined;
  const at = Date.parse(header);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), maxMs);
}
