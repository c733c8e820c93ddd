import { RetentionError } from '../errors.js';
import { isHostKeyFingerprint } from './host-key-fingerprint.js';

/** SSH host-key types a pin may name, as the key blobs and `ssh-keyscan` name them. */
export const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;

/** One of {@link HOST_KEY_TYPES}. */
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

/**
 * A pinned host key: its SHA-256 fingerprint and, when known, its type. With the type, the client asks the server for
 * exactly that key (a server with several host keys would otherwise present the one the client prefers, and a pin of
 * another of its keys would look like an interception). Without it, every key type the server has is tried in turn.
 */
export interface HostKeyPin {
  fingerprint: string;
  type?: HostKeyType;
}

/** The host-key algorithms that negotiate a key of `type` (an RSA key signs with SHA-2 first, SHA-1 last). */
export function hostKeyAlgorithmsOf(type: HostKeyType): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** The families of host keys a server may have, each as the algorithms that negotiate it. */
const KEY_FAMILIES: readonly (readonly string[])[] = [
  ['ssh-ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'],
  hostKeyAlgorithmsOf('ssh-rsa'),
];

/** Names of key types as `ssh-keygen -l` prints them at the end of a line, e.g. `(ED25519)`. */
const KEYGEN_TYPE_NAMES: Record<string, HostKeyType | undefined> = { ED25519: 'ssh-ed25519', RSA: 'ssh-rsa' };

/**
 * The key type named inside an SSH public key blob (its first string: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-…`), or
 * undefined for a blob that does not start with one.
 */
export function hostKeyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const length = keyBlob.readUInt32BE(0);
  if (length < 1 || length > 64 || keyBlob.length < 4 + length) return undefined;
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** True when `value` names one of {@link HOST_KEY_TYPES}. */
export function isHostKeyType(value: unknown): value is HostKeyType {
  return typeof value === 'string' && (HOST_KEY_TYPES as readonly string[]).includes(value);
}

/**
 * Reads a pin as people copy it: a bare fingerprint (`SHA256:…`), a type and a fingerprint (`ssh-rsa SHA256:…`), or
 * a line of `ssh-keygen -l` (`3072 SHA256:… host (RSA)`; an ECDSA line names its curve by the bit count). Throws
 * `ERR_HOST_KEY_PIN_INVALID` (400) saying what is accepted.
 *
 * @example
 * parseHostKeyPin('256 SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs sftp.example.com (ED25519)');
 * // { fingerprint: 'SHA256:rrav…', type: 'ssh-ed25519' }
 */
export function parseHostKeyPin(text: string): HostKeyPin {
  const trimmed = text.trim();
  const fingerprint = /(^|\s)(SHA256:[A-Za-z0-9+/]{43})=?(\s|$)/.exec(trimmed)?.[2];
  if (fingerprint === undefined || !isHostKeyFingerprint(fingerprint)) {
    throw new RetentionError(
      'ERR_HOST_KEY_PIN_INVALID',
      'a host-key pin is the SHA-256 fingerprint "SHA256:" and 43 base64 characters, optionally with its type ("ssh-rsa SHA256:…") or as a whole line of "ssh-keygen -l" ("3072 SHA256:… host (RSA)")',
    );
  }
  const named = HOST_KEY_TYPES.find((type) => trimmed.startsWith(`${type} `));
  if (named !== undefined) return { fingerprint, type: named };
  const keygen = /^(\d+)\s+SHA256:\S+.*\((ED25519|RSA|ECDSA)\)\s*$/.exec(trimmed);
  if (keygen !== null) {
    const bits = keygen[1];
    const name = keygen[2] ?? '';
    const type =
      name === 'ECDSA'
        ? bits === '256' || bits === '384' || bits === '521'
          ? (`ecdsa-sha2-nistp${bits}` as HostKeyType)
          : undefined
        : KEYGEN_TYPE_NAMES[name];
    return type === undefined ? { fingerprint } : { fingerprint, type };
  }
  return { fingerprint };
}

/**
 * The handshakes to try, each as the host-key algorithms to offer (`undefined`: ssh2's defaults), so that the server
 * presents a pinned key if it has one: when every pin has a type, one handshake per pinned type, in pin order (a
 * server offered several types presents the first, so two pins of different types need two handshakes); otherwise
 * the default handshake first, then one per other key family (ed25519, ECDSA, RSA).
 *
 * @example
 * hostKeyHandshakes([{ fingerprint, type: 'ssh-rsa' }]); // [['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']]
 */
export function hostKeyHandshakes(pins: readonly HostKeyPin[]): (string[] | undefined)[] {
  if (pins.length > 0 && pins.every((pin) => pin.type !== undefined)) {
    const types = [...new Set(pins.map((pin) => pin.type as HostKeyType))];
    return types.map((type) => hostKeyAlgorithmsOf(type));
  }
  return [undefined, ...KEY_FAMILIES.map((family) => [...family])];
}

/** The key family of a negotiated key type, to skip a later handshake that would present the same key again. */
export function hostKeyFamilyOf(type: string | undefined): number {
  if (type === undefined) return -1;
  return KEY_FAMILIES.findIndex((family) => family.includes(type));
}

/** The pin `fingerprint` (of a key of `type`) matches, if any: a typed pin matches only a key of its own type. */
export function matchingPin(pins: readonly HostKeyPin[], fingerprint: string, type: string | undefined): HostKeyPin | undefined {
  return pins.find((pin) => pin.fingerprint === fingerprint && (pin.type === undefined || type === undefined || pin.type === type));
}

/** `ssh-rsa SHA256:…` or the bare fingerprint, for messages. */
export function describeHostKey(key: { fingerprint: string; type?: string | undefined }): string {
  return key.type === undefined ? key.fingerprint : `${key.type} ${key.fingerprint}`;
}
