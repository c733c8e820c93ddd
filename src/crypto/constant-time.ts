import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string | Uint8Array): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Compares two secrets (tokens, codes, digests) in time that depends on neither their contents nor their lengths:
 * both sides are hashed with SHA-256 first, then compared with `crypto.timingSafeEqual`. Strings compare as UTF-8.
 *
 * @example
 * if (!constantTimeEqual(presentedToken, expectedToken)) throw new RetentionError('ERR_NOT_SIGNED_IN', 'bad token');
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
