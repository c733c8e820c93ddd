import { generateActivationToken, isWellFormedActivationToken, verifyActivationToken } from '../auth/activation-tokens.js';

/** A new download token: `token` goes into the link only, `tokenHash` is stored. */
export interface IssuedDownloadToken {
  token: string;
  tokenHash: string;
}

/**
 * A new download-link token: 256 random bits from the CSPRNG, base64url (43 characters); only its SHA-256 is stored
 * (the scheme of activation links, reused).
 *
 * @example
 * const { token, tokenHash } = issueDownloadToken();
 */
export function issueDownloadToken(): IssuedDownloadToken {
  return generateActivationToken();
}

/** True when `token` has a download token's shape (checked before any lookup). */
export function isWellFormedDownloadToken(token: unknown): token is string {
  return isWellFormedActivationToken(token);
}

/** True when `token` is the one whose hash is `storedHash`, compared in constant time. */
export function verifyDownloadToken(token: string, storedHash: string): boolean {
  return verifyActivationToken(token, storedHash);
}
