import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { RetentionError } from '../../../src/errors.js';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64url');
const short = randomBytes(31).toString('base64');
const long = randomBytes(33).toString('base64');

function failure(run: () => unknown): RetentionError {
  try {
    run();
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  }
  throw new Error('expected a RetentionError');
}

describe('parseKeyring', () => {
  it('reads several keys and defaults the active key to the first entry', () => {
    const keyring = parseKeyring(`k1:${keyA}, k2:${keyB}`);
    expect(keyring.activeKeyId).toBe('k1');
    expect([...keyring.keys.keys()]).toEqual(['k1', 'k2']);
    expect(keyring.keys.get('k2')?.symmetricKeySize).toBe(32);
  });

  it('uses the active key id it is given', () => {
    expect(parseKeyring(`k1:${keyA},k2:${keyB}`, 'k2').activeKeyId).toBe('k2');
  });

  it('does not show key material when inspected or serialised', () => {
    const keyring = parseKeyring(`k1:${keyA}`);
    const raw = Buffer.from(keyA, 'base64');
    for (const text of [inspect(keyring, { depth: 10 }), JSON.stringify({ ...keyring, keys: [...keyring.keys] })]) {
      expect(text).not.toContain(keyA);
      expect(text).not.toContain(raw.toString('hex'));
    }
  });

  it.each([
    ['undefined', undefined, 'ERR_MASTER_KEYS_MISSING'],
    ['empty', '', 'ERR_MASTER_KEYS_MISSING'],
    ['blank', '   ', 'ERR_MASTER_KEYS_MISSING'],
  ])('refuses a missing key list (%s)', (_label, spec, code) => {
    expect(failure(() => parseKeyring(spec)).code).toBe(code);
  });

  it.each([
    ['a key of 31 bytes', `k1:${short}`, /"k1" is 31 bytes/],
    ['a key of 33 bytes', `k1:${long}`, /"k1" is 33 bytes/],
    ['a duplicate key id', `k1:${keyA},k1:${keyB}`, /"k1" appears more than once/],
    ['no separator', keyA, /no ":" found/],
    ['an upper-case key id', `K1:${keyA}`, /key id/],
    ['a key id of 33 characters', `${'a'.repeat(33)}:${keyA}`, /key id/],
    ['an empty key id', `:${keyA}`, /key id/],
    ['a key id with a dot', `k.1:${keyA}`, /key id/],
    ['a key that is not base64', `k1:${keyA.slice(0, 40)}!!!!`, /not base64/],
    ['an empty key', 'k1:', /not base64/],
    ['a trailing comma', `k1:${keyA},`, /entry 2 of 2 is empty/],
  ])('refuses %s with ERR_CONFIG_INVALID', (_label, spec, message) => {
    const err = failure(() => parseKeyring(spec));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('RETENTION_MASTER_KEYS');
  });

  it('refuses an active key id that is not in the ring, naming the ids it has', () => {
    const err = failure(() => parseKeyring(`k1:${keyA},k2:${keyB}`, 'k3'));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain('"k3"');
    expect(err.message).toContain('k1, k2');
  });

  it.each([
    ['a short key', `k1:${short}`],
    ['a long key', `k1:${long}`],
    ['a malformed entry', keyA],
    ['a bad key id', `K1:${keyA}`],
    ['a duplicate id', `k1:${keyA},k1:${keyA}`],
  ])('never puts key material in the message (%s)', (_label, spec) => {
    const err = failure(() => parseKeyring(spec));
    for (const material of [keyA, short, long]) expect(err.message).not.toContain(material.slice(0, 12));
  });
});
