import { createHash } from 'node:crypto';

/** `SHA256:` and the unpadded base64 of a SHA-256 digest (43 characters), as OpenSSH prints host keys. */
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * The OpenSSH SHA-256 fingerprint of a host public key blob (the SSH wire encoding that ssh2 hands to `hostVerifier`),
 * in the form `ssh-keygen -l` prints: `SHA256:<base64 without padding>`.
 *
 * @example
 * hostKeyFingerprint(keyBlob); // 'SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs'
 */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * True for a well-formed pinned fingerprint (`SHA256:` + 43 base64 characters).
 *
 * @example
 * isHostKeyFingerprint('SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs'); // true
 * isHostKeyFingerprint('MD5:9f:...'); // false
 */
export function isHostKeyFingerprint(value: string): boolean {
  return FINGERPRINT_PATTERN.test(value);
}
