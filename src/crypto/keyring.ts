import { createSecretKey, type KeyObject } from 'node:crypto';
import { RetentionError } from '../errors.js';

/** Pattern of a master-key id: what appears in sealed values (`v1.<keyId>.…`). */
export const KEY_ID_PATTERN = /^[a-z0-9-]{1,32}$/;

/** Length of an AES-256 master key in bytes. */
export const MASTER_KEY_BYTES = 32;

const BASE64_KEY = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * The master keys secrets are sealed under, by key id, and the id new seals use.
 * Key material lives in `KeyObject`s, so it never shows up when the keyring is logged or serialised.
 */
export interface Keyring {
  /** Key id {@link sealSecret} uses; always present in `keys`. */
  readonly activeKeyId: string;
  /** Every key that can open a sealed value, by key id. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

function invalid(message: string): RetentionError {
  return new RetentionError('ERR_CONFIG_INVALID', `RETENTION_MASTER_KEYS: ${message}`);
}

/**
 * Builds a keyring from the `RETENTION_MASTER_KEYS` text: comma-separated `keyId:base64Key` entries, each key
 * exactly 32 bytes (standard or URL-safe base64), key ids of `[a-z0-9-]{1,32}`, each id once.
 * `activeKeyId` (from `RETENTION_ACTIVE_KEY_ID`) defaults to the first entry.
 *
 * Throws `ERR_MASTER_KEYS_MISSING` when the text is empty and `ERR_CONFIG_INVALID` naming the entry or key id
 * at fault; messages never contain key material.
 *
 * @example
 * const keyring = parseKeyring('k2024:3q2+7w…=,k2025:q83v…=', 'k2025');
 * keyring.activeKeyId // 'k2025'
 */
export function parseKeyring(spec: string | undefined, activeKeyId?: string): Keyring {
  if (spec === undefined || spec.trim() === '') {
    throw new RetentionError(
      'ERR_MASTER_KEYS_MISSING',
      'RETENTION_MASTER_KEYS is not set: secrets cannot be sealed or opened. Set it to "keyId:base64Key" (generate a key with: openssl rand -base64 32)',
    );
  }
  const keys = new Map<string, KeyObject>();
  const entries = spec.split(',').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    const position = `entry ${index + 1} of ${entries.length}`;
    if (entry === '') throw invalid(`${position} is empty; remove the stray comma`);
    const separator = entry.indexOf(':');
    if (separator < 0) throw invalid(`${position} is not "keyId:base64Key" (no ":" found)`);
    const keyId = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    if (!KEY_ID_PATTERN.test(keyId)) throw invalid(`${position} has a key id that is not 1 to 32 characters of a-z, 0-9 and "-"`);
    if (keys.has(keyId)) throw invalid(`key id "${keyId}" appears more than once; give each key its own id`);
    if (!BASE64_KEY.test(encoded)) throw invalid(`key "${keyId}" is not base64 (generate one with: openssl rand -base64 32)`);
    const material = Buffer.from(encoded, 'base64');
    if (material.length !== MASTER_KEY_BYTES) {
      throw invalid(`key "${keyId}" is ${material.length} bytes; AES-256 needs exactly ${MASTER_KEY_BYTES} (generate one with: openssl rand -base64 32)`);
    }
    keys.set(keyId, createSecretKey(material));
    material.fill(0);
  });
  const active = activeKeyId ?? keys.keys().next().value;
  if (active === undefined || !keys.has(active)) {
    throw new RetentionError(
      'ERR_CONFIG_INVALID',
      `RETENTION_ACTIVE_KEY_ID "${String(active)}" is not among the master keys (${[...keys.keys()].join(', ')}); set it to one of them`,
    );
  }
  return Object.freeze({ activeKeyId: active, keys });
}
