import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { RetentionError } from '../errors.js';
import { KEY_ID_PATTERN, type Keyring } from './keyring.js';

/**
 * A secret sealed by {@link sealSecret}: `v1.<keyId>.<iv>.<ciphertext>.<tag>`, the last three base64url without
 * padding. Safe to store and log; it is useless without the master key and the exact context it was sealed for.
 */
export type SealedSecret = string & { readonly __brand: 'SealedSecret' };

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';
const BASE64URL = /^[A-Za-z0-9_-]*$/;

interface SealedParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function malformed(problem: string): RetentionError {
  return new RetentionError('ERR_SECRET_MALFORMED', `sealed secret is malformed: ${problem}; seal the secret again (re-enter it)`);
}

function decodeField(name: string, text: string, expectedBytes?: number): Buffer {
  if (!BASE64URL.test(text)) throw malformed(`the ${name} is not base64url`);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw malformed(`the ${name} is not canonical base64url`);
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
    throw malformed(`the ${name} is ${bytes.length} bytes, expected ${expectedBytes}`);
  }
  return bytes;
}

function parseSealed(sealed: string): SealedParts {
  if (typeof sealed !== 'string') throw malformed('expected a string');
  const parts = sealed.split('.');
  if (parts.length !== 5) throw malformed(`expected 5 dot-separated fields, found ${parts.length}`);
  const [version, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (version !== VERSION) throw malformed(`unknown format version (expected "${VERSION}")`);
  if (!KEY_ID_PATTERN.test(keyId)) throw malformed('the key id is not 1 to 32 characters of a-z, 0-9 and "-"');
  return {
    keyId,
    iv: decodeField('IV', iv, IV_BYTES),
    ciphertext: decodeField('ciphertext', ciphertext),
    tag: decodeField('tag', tag, TAG_BYTES),
  };
}

function checkContext(context: string): void {
  if (typeof context !== 'string' || context === '') {
    throw new RetentionError('ERR_SECRET_CONTEXT_INVALID', 'a secret needs a non-empty context such as "tenant:acme/sftp.password"');
  }
}

/** Additional authenticated data: the header and the context, so neither can be swapped without detection. */
function additionalData(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');
}

function keyFor(keyring: Keyring, keyId: string): KeyObject {
  const key = keyring.keys.get(keyId);
  if (key === undefined) {
    throw new RetentionError(
      'ERR_SECRET_KEY_UNKNOWN',
      `secret was sealed under master key "${keyId}", which is not in RETENTION_MASTER_KEYS; add that key back (keep old keys until \`retention keys rotate\` has resealed everything)`,
    );
  }
  return key;
}

/**
 * Checks that `value` has the shape of a sealed secret (without opening it) and brands it.
 * Throws `ERR_SECRET_MALFORMED` otherwise.
 *
 * @example
 * const token = asSealedSecret(settings.source.token);
 */
export function asSealedSecret(value: string): SealedSecret {
  parseSealed(value);
  return value as SealedSecret;
}

/**
 * Seals `plaintext` with AES-256-GCM under the keyring's active key: a fresh random 96-bit IV per call, a 16-byte
 * tag, and `context` bound as additional authenticated data, so the result opens only for the same context
 * (a value sealed for `tenant:acme/sftp.password` cannot be moved to another tenant or field).
 *
 * Random 96-bit IVs keep the nonce-reuse risk negligible up to about 2^32 seals per key; rotate keys well before.
 *
 * @example
 * const sealed = sealSecret(keyring, 'hunter2', 'tenant:acme/sftp.password');
 * // 'v1.k2025.Qm9…Ag.x3…w.9v…Q'
 */
export function sealSecret(keyring: Keyring, plaintext: string, context: string): SealedSecret {
  checkContext(context);
  const keyId = keyring.activeKeyId;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, keyFor(keyring, keyId), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(keyId, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, keyId, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.') as SealedSecret;
}

/**
 * Opens a value sealed by {@link sealSecret} for the same `context`.
 *
 * Throws `ERR_SECRET_MALFORMED` (not a sealed value), `ERR_SECRET_KEY_UNKNOWN` (its key id is not in the keyring; the
 * message names the id) or `ERR_SECRET_TAMPERED` (authentication failed: altered, sealed for another context, or a
 * different key under the same id). Messages never contain the plaintext or the sealed value.
 *
 * @example
 * const password = openSecret(keyring, settings.target.password, 'tenant:acme/sftp.password');
 */
export function openSecret(keyring: Keyring, sealed: string, context: string): string {
  checkContext(context);
  const { keyId, iv, ciphertext, tag } = parseSealed(sealed);
  const decipher = createDecipheriv(ALGORITHM, keyFor(keyring, keyId), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(keyId, context));
  decipher.setAuthTag(tag);
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new RetentionError(
      'ERR_SECRET_TAMPERED',
      `sealed secret for "${context}" failed authentication: it was altered, sealed for another tenant or field, or master key "${keyId}" changed; enter the secret again`,
    );
  }
  return plaintext.toString('utf8');
}

/**
 * True when `sealed` is under a key other than the active one, so `retention keys rotate` should reseal it.
 * Throws `ERR_SECRET_MALFORMED` for a value that is not sealed.
 *
 * @example
 * if (needsReseal(keyring, stored)) stored = resealSecret(keyring, stored, context);
 */
export function needsReseal(keyring: Keyring, sealed: string): boolean {
  return parseSealed(sealed).keyId !== keyring.activeKeyId;
}

/**
 * Opens `sealed` (under whichever key of the keyring it names) and seals it again under the active key, for the
 * same `context`. A value already under the active key comes back unchanged, so a rotation can be rerun safely.
 *
 * @example
 * const resealed = resealSecret(keyring, stored, 'tenant:acme/sftp.password');
 */
export function resealSecret(keyring: Keyring, sealed: string, context: string): SealedSecret {
  const plaintext = openSecret(keyring, sealed, context);
  if (!needsReseal(keyring, sealed)) return sealed as SealedSecret;
  return sealSecret(keyring, plaintext, context);
}
