import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../crypto/constant-time.js';

/** Random bytes per token: 256 bits from the CSPRNG (ASVS 5.0 6.5.3; at least 128 asked for). */
export const ACTIVATION_TOKEN_BYTES = 32;

/** A token as it appears in a link: 43 base64url characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A freshly issued token: `token` goes into the link, only `tokenHash` is stored. */
export interface IssuedActivationToken {
  token: string;
  tokenHash: string;
}

/**
 * The stored form of a token: SHA-256, hex. A fast hash is right here (unlike for passwords): the token has 256
 * bits of entropy, so a leaked hash cannot be brute-forced, and a database dump never contains a usable link.
 *
 * @example
 * hashActivationToken('n3Q…') // '9f86d081884c7d65…' (64 hex characters)
 */
export function hashActivationToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A new one-time token for an activation, invitation or reset link: {@link ACTIVATION_TOKEN_BYTES} random bytes,
 * base64url without padding, and its hash to store.
 *
 * @example
 * const { token, tokenHash } = generateActivationToken();
 * const link = `${baseUrl}/activate/${token}`;
 */
export function generateActivationToken(): IssuedActivationToken {
  const token = randomBytes(ACTIVATION_TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashActivationToken(token) };
}

/** True when `token` has the shape of a token from {@link generateActivationToken} (checked before any lookup). */
export function isWellFormedActivationToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_PATTERN.test(token);
}

/**
 * True when `token` is the one whose hash is `storedHash`, compared in constant time.
 *
 * @example
 * if (!verifyActivationToken(presented, record.tokenHash)) throw invalidLink();
 */
export function verifyActivationToken(token: string, storedHash: string): boolean {
  return isWellFormedActivationToken(token) && constantTimeEqual(hashActivationToken(token), storedHash);
}
