import {
  HOST_KEY_TYPES,
  describeHostKey,
  isHostKeyType,
  matchingPin,
  parseHostKeyPin,
  type HostKeyPin,
  type HostKeyType,
} from '../../delivery/host-key-pin.js';
import type { ProbedHostKey } from '../../delivery/probe-sftp-host-key.js';
import { RetentionError } from '../../errors.js';
import { describeRefusedValue } from '../../validation/refused-value.js';

/** The form fields of the two pins, named by their path in the settings. */
export const HOST_KEY_FIELDS = {
  fingerprint: 'target.hostKeyFingerprint',
  type: 'target.hostKeyType',
  secondFingerprint: 'target.secondHostKey.fingerprint',
  secondType: 'target.secondHostKey.type',
} as const;

/** How the portal names each host-key type. */
export const HOST_KEY_TYPE_LABELS: Record<HostKeyType, string> = {
  'ssh-ed25519': 'Ed25519 (ssh-ed25519)',
  'ecdsa-sha2-nistp256': 'ECDSA P-256 (ecdsa-sha2-nistp256)',
  'ecdsa-sha2-nistp384': 'ECDSA P-384 (ecdsa-sha2-nistp384)',
  'ecdsa-sha2-nistp521': 'ECDSA P-521 (ecdsa-sha2-nistp521)',
  'ssh-rsa': 'RSA (ssh-rsa)',
};

/** Where OpenSSH keeps the public host key of each type, for the command an administrator runs on the server. */
const HOST_KEY_FILES: Record<HostKeyType, string> = {
  'ssh-ed25519': '/etc/ssh/ssh_host_ed25519_key.pub',
  'ecdsa-sha2-nistp256': '/etc/ssh/ssh_host_ecdsa_key.pub',
  'ecdsa-sha2-nistp384': '/etc/ssh/ssh_host_ecdsa_key.pub',
  'ecdsa-sha2-nistp521': '/etc/ssh/ssh_host_ecdsa_key.pub',
  'ssh-rsa': '/etc/ssh/ssh_host_rsa_key.pub',
};

/**
 * The readable name of a key type; an unknown one as the server named it.
 *
 * @example
 * hostKeyTypeLabel('ssh-rsa'); // 'RSA (ssh-rsa)'
 * hostKeyTypeLabel(undefined); // 'unknown type'
 */
export function hostKeyTypeLabel(type: string | undefined): string {
  if (type === undefined) return 'unknown type';
  return isHostKeyType(type) ? HOST_KEY_TYPE_LABELS[type] : type;
}

/** Which pin: the first (`hostKeyFingerprint`, `hostKeyType`) or the second (`secondHostKey`, during a rotation). */
export type PinSlot = 'first' | 'second';

/** The two pins of a submitted form, read and checked. */
export interface HostKeyPinsInput {
  /** The first pin; undefined when its field is empty or its fingerprint unreadable. */
  first?: HostKeyPin;
  /** The second pin; undefined when its field is empty (no second pin), its fingerprint unreadable or the first's. */
  second?: HostKeyPin;
  /** Problems by form field ({@link HOST_KEY_FIELDS}); nothing may be saved while there is one. */
  fieldErrors: Record<string, string[]>;
}

function readPin(text: string, typeText: string, fields: { fingerprint: string; type: string }, fieldErrors: Record<string, string[]>): HostKeyPin | undefined {
  let selected: HostKeyType | undefined;
  if (typeText !== '') {
    if (isHostKeyType(typeText)) selected = typeText;
    else fieldErrors[fields.type] = [describeRefusedValue(typeText, `choose one of ${HOST_KEY_TYPES.join(', ')}, or "any type the server has"`)];
  }
  let pasted: HostKeyPin;
  try {
    pasted = parseHostKeyPin(text);
  } catch (err) {
    if (!(err instanceof RetentionError) || err.code !== 'ERR_HOST_KEY_PIN_INVALID') throw err;
    fieldErrors[fields.fingerprint] = [describeRefusedValue(text, err.message)];
    return undefined;
  }
  if (selected !== undefined && pasted.type !== undefined && pasted.type !== selected) {
    fieldErrors[fields.type] = [
      `the pasted line is a key of type ${HOST_KEY_TYPE_LABELS[pasted.type]}, but ${HOST_KEY_TYPE_LABELS[selected]} is selected: choose the pasted key's type, or "any type the server has" to take it from the line`,
    ];
  }
  const type = selected ?? pasted.type;
  return type === undefined ? { fingerprint: pasted.fingerprint } : { fingerprint: pasted.fingerprint, type };
}

/**
 * Reads the host-key pins of the Retention settings form. A fingerprint field takes `SHA256:…`, `<type> SHA256:…` or
 * a whole line of `ssh-keygen -l`; a type named in it fills the type when the type select is blank ("any type the
 * server has"), and a type that disagrees with the select is an error on the select. An empty first field is left
 * to the settings schema (a required field); an empty second field means no second pin, whatever its select says.
 * A second pin of the same key as the first is an error.
 *
 * @example
 * readHostKeyPins({ 'target.hostKeyFingerprint': '256 SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs host (ED25519)', 'target.hostKeyType': '' });
 * // { first: { fingerprint: 'SHA256:rrav…', type: 'ssh-ed25519' }, fieldErrors: {} }
 */
export function readHostKeyPins(values: Readonly<Record<string, string | undefined>>): HostKeyPinsInput {
  const fieldErrors: Record<string, string[]> = {};
  const firstText = (values[HOST_KEY_FIELDS.fingerprint] ?? '').trim();
  const secondText = (values[HOST_KEY_FIELDS.secondFingerprint] ?? '').trim();
  const first =
    firstText === ''
      ? undefined
      : readPin(firstText, values[HOST_KEY_FIELDS.type] ?? '', { fingerprint: HOST_KEY_FIELDS.fingerprint, type: HOST_KEY_FIELDS.type }, fieldErrors);
  const second =
    secondText === ''
      ? undefined
      : readPin(
          secondText,
          values[HOST_KEY_FIELDS.secondType] ?? '',
          { fingerprint: HOST_KEY_FIELDS.secondFingerprint, type: HOST_KEY_FIELDS.secondType },
          fieldErrors,
        );
  if (first !== undefined && second !== undefined && first.fingerprint === second.fingerprint) {
    fieldErrors[HOST_KEY_FIELDS.secondFingerprint] = [
      "the second pin is the same key as the first: enter the server's other key (during a rotation, the new one), or leave it empty for no second pin",
    ];
    return { first, fieldErrors };
  }
  return { ...(first !== undefined ? { first } : {}), ...(second !== undefined ? { second } : {}), fieldErrors };
}

/** One host key of the server, as *Test connection* lists it. */
export interface HostKeyRow {
  type: string | undefined;
  label: string;
  fingerprint: string;
  /** What to paste into a fingerprint field to pin this key with its type (`ssh-ed25519 SHA256:…`). */
  pinText: string;
  /** The pins this key matches, in order. */
  pinnedBy: PinSlot[];
}

/** A pin and whether the server has its key. */
export interface PinCheck {
  slot: PinSlot;
  /** The pin as people read it (`ssh-rsa SHA256:…`, or the bare fingerprint). */
  text: string;
  found: boolean;
}

/** The key to pin when nothing is pinned: the text to copy and the command that shows it on the server. */
export interface PinSuggestion {
  label: string;
  pinText: string;
  command: string;
}

/** How the server's host keys compare with the pins. */
export interface HostKeyComparison {
  keys: HostKeyRow[];
  pins: PinCheck[];
  /** True when a pin matches one of the keys (the worker connects), false when none does; undefined when nothing is pinned. */
  matches?: boolean;
  /** Only when nothing is pinned: the key to pin (ed25519 before ECDSA before RSA). */
  suggestion?: PinSuggestion;
}

const preference = (type: string | undefined): number => {
  const index = (HOST_KEY_TYPES as readonly (string | undefined)[]).indexOf(type);
  return index === -1 ? HOST_KEY_TYPES.length : index;
};

/**
 * Compares the host keys a server has with the pins, as the worker does (a typed pin matches only a key of its type).
 *
 * @example
 * const result = compareHostKeys(await probeSftpHostKeys({ host }), [{ fingerprint: 'SHA256:…', type: 'ssh-ed25519' }]);
 * result.matches; // true when the server has the pinned key
 */
export function compareHostKeys(keys: readonly ProbedHostKey[], pins: readonly (HostKeyPin | undefined)[]): HostKeyComparison {
  const slots: PinSlot[] = ['first', 'second'];
  const pinned = pins.flatMap((pin, index) => (pin === undefined ? [] : [{ pin, slot: slots[index] ?? 'second' }]));
  const rows: HostKeyRow[] = keys.map((key) => ({
    type: key.type,
    label: hostKeyTypeLabel(key.type),
    fingerprint: key.fingerprint,
    pinText: describeHostKey(key),
    pinnedBy: pinned.filter(({ pin }) => matchingPin([pin], key.fingerprint, key.type) !== undefined).map(({ slot }) => slot),
  }));
  const checks: PinCheck[] = pinned.map(({ pin, slot }) => ({ slot, text: describeHostKey(pin), found: rows.some((row) => row.pinnedBy.includes(slot)) }));
  if (checks.length > 0) return { keys: rows, pins: checks, matches: checks.some((check) => check.found) };
  const best = [...keys].sort((a, b) => preference(a.type) - preference(b.type))[0];
  if (best === undefined) return { keys: rows, pins: checks };
  const file = best.type !== undefined && isHostKeyType(best.type) ? HOST_KEY_FILES[best.type] : '/etc/ssh/ssh_host_*_key.pub';
  return { keys: rows, pins: checks, suggestion: { label: hostKeyTypeLabel(best.type), pinText: describeHostKey(best), command: `ssh-keygen -l -f ${file}` } };
}
