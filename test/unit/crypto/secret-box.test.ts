import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { asSealedSecret, needsReseal, openSecret, resealSecret, sealSecret } from '../../../src/crypto/secret-box.js';
import { RetentionError } from '../../../src/errors.js';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const keyring = parseKeyring(`k1:${k1}`);
const context = 'tenant:acme/sftp.password';
const plaintext = 'correct horse battery staple';

function failure(run: () => unknown): RetentionError {
  try {
    run();
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  }
  throw new Error('expected a RetentionError');
}

/** Replaces field `index` (2 = IV, 3 = ciphertext, 4 = tag) of a sealed value after flipping one of its bytes. */
function flipByte(sealed: string, index: number, byte: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('sealSecret / openSecret', () => {
  it.each([
    ['a password', plaintext],
    ['an empty string', ''],
    ['unicode', 'pässwörd 🔑 密码'],
    ['a private key', `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(300).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`],
  ])('round-trips %s', (_label, secret) => {
    const sealed = sealSecret(keyring, secret, context);
    expect(openSecret(keyring, sealed, context)).toBe(secret);
  });

  it('produces v1.<keyId>.<iv>.<ciphertext>.<tag> with a 12-byte IV and a 16-byte tag (ASVS 5.0 11.3.3)', () => {
    const sealed = sealSecret(keyring, plaintext, context);
    const [version, keyId, iv, ciphertext, tag] = sealed.split('.');
    expect(version).toBe('v1');
    expect(keyId).toBe('k1');
    expect(Buffer.from(iv ?? '', 'base64url')).toHaveLength(12);
    expect(Buffer.from(ciphertext ?? '', 'base64url')).toHaveLength(Buffer.byteLength(plaintext));
    expect(Buffer.from(tag ?? '', 'base64url')).toHaveLength(16);
    expect(sealed).not.toContain(plaintext);
    expect(asSealedSecret(sealed)).toBe(sealed);
  });

  it('uses a fresh IV for every seal, so equal plaintexts seal differently (ASVS 5.0 11.3.4)', () => {
    const sealed = Array.from({ length: 50 }, () => sealSecret(keyring, plaintext, context));
    expect(new Set(sealed).size).toBe(50);
    expect(new Set(sealed.map((s) => s.split('.')[2])).size).toBe(50);
  });

  it.each([
    ['IV', 2],
    ['ciphertext', 3],
    ['tag', 4],
  ])('refuses every single-byte flip of the %s with ERR_SECRET_TAMPERED', (_label, index) => {
    const sealed = sealSecret(keyring, plaintext, context);
    const length = Buffer.from(sealed.split('.')[index] ?? '', 'base64url').length;
    expect(length).toBeGreaterThan(0);
    for (let byte = 0; byte < length; byte += 1) {
      const tampered = flipByte(sealed, index, byte);
      expect(tampered).not.toBe(sealed);
      expect(failure(() => openSecret(keyring, tampered, context)).code).toBe('ERR_SECRET_TAMPERED');
    }
  });

  it.each([
    ['another tenant', 'tenant:other/sftp.password'],
    ['another field', 'tenant:acme/sftp.passphrase'],
    ['a prefix of the context', 'tenant:acme/sftp'],
    ['a longer context', 'tenant:acme/sftp.password2'],
  ])('refuses to open under %s with ERR_SECRET_TAMPERED', (_label, otherContext) => {
    const sealed = sealSecret(keyring, plaintext, context);
    expect(failure(() => openSecret(keyring, sealed, otherContext)).code).toBe('ERR_SECRET_TAMPERED');
  });

  it('refuses a value sealed under a different key with the same id', () => {
    const impostor = parseKeyring(`k1:${k2}`);
    const sealed = sealSecret(impostor, plaintext, context);
    expect(failure(() => openSecret(keyring, sealed, context)).code).toBe('ERR_SECRET_TAMPERED');
  });

  it('refuses a value whose key id was swapped to another key of the ring', () => {
    const ring = parseKeyring(`k1:${k1},k2:${k1}`);
    const sealed = sealSecret(ring, plaintext, context);
    const relabelled = sealed.replace(/^v1\.k1\./, 'v1.k2.');
    expect(failure(() => openSecret(ring, relabelled, context)).code).toBe('ERR_SECRET_TAMPERED');
  });

  it('names an unknown key id with ERR_SECRET_KEY_UNKNOWN', () => {
    const sealed = sealSecret(parseKeyring(`old-2023:${k2}`), plaintext, context);
    const err = failure(() => openSecret(keyring, sealed, context));
    expect(err.code).toBe('ERR_SECRET_KEY_UNKNOWN');
    expect(err.message).toContain('"old-2023"');
    expect(err.message).not.toContain(sealed);
  });

  it.each([
    ['an empty string', ''],
    ['a plaintext password', 'hunter2'],
    ['four fields', 'v1.k1.AAAAAAAAAAAAAAAA.AAAA'],
    ['six fields', 'v1.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA.x'],
    ['an unknown version', 'v2.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['an upper-case key id', 'v1.K1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['an empty key id', 'v1..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['an 8-byte IV', 'v1.k1.AAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['a 12-byte tag', 'v1.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAA'],
    ['an empty tag', 'v1.k1.AAAAAAAAAAAAAAAA.AAAA.'],
    ['standard base64 characters', 'v1.k1.AAAAAAAAAAAAAAA+.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['base64 padding', 'v1.k1.AAAAAAAAAAAAAAAA.AAA=.AAAAAAAAAAAAAAAAAAAAAA'],
    ['a non-canonical tag encoding', 'v1.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAB'],
    ['whitespace', ' v1.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
  ])('refuses %s with ERR_SECRET_MALFORMED', (_label, sealed) => {
    expect(failure(() => openSecret(keyring, sealed, context)).code).toBe('ERR_SECRET_MALFORMED');
    expect(failure(() => needsReseal(keyring, sealed)).code).toBe('ERR_SECRET_MALFORMED');
    expect(failure(() => asSealedSecret(sealed)).code).toBe('ERR_SECRET_MALFORMED');
  });

  it('refuses an empty context', () => {
    expect(failure(() => sealSecret(keyring, plaintext, '')).code).toBe('ERR_SECRET_CONTEXT_INVALID');
    expect(failure(() => openSecret(keyring, sealSecret(keyring, plaintext, context), '')).code).toBe('ERR_SECRET_CONTEXT_INVALID');
  });

  it('never puts the plaintext or the sealed value in an error message', () => {
    const sealed = sealSecret(keyring, plaintext, context);
    const errors = [
      failure(() => openSecret(keyring, sealed, 'tenant:other/sftp.password')),
      failure(() => openSecret(keyring, flipByte(sealed, 4, 0), context)),
      failure(() => openSecret(parseKeyring(`k9:${k2}`), sealed, context)),
      failure(() => openSecret(keyring, plaintext, context)),
      failure(() => openSecret(keyring, `${sealed}.`, context)),
    ];
    for (const err of errors) {
      expect(err.message).not.toContain(plaintext);
      expect(err.message).not.toContain(sealed.split('.')[3]);
    }
  });
});

describe('key rotation', () => {
  it('reseals a value from k1 to k2, after which k2 alone opens it', () => {
    const before = parseKeyring(`k1:${k1}`);
    const sealed = sealSecret(before, plaintext, context);

    const rotating = parseKeyring(`k1:${k1},k2:${k2}`, 'k2');
    expect(needsReseal(rotating, sealed)).toBe(true);
    const resealed = resealSecret(rotating, sealed, context);
    expect(resealed.startsWith('v1.k2.')).toBe(true);
    expect(needsReseal(rotating, resealed)).toBe(false);

    const after = parseKeyring(`k2:${k2}`);
    expect(openSecret(after, resealed, context)).toBe(plaintext);
    expect(failure(() => openSecret(after, sealed, context)).code).toBe('ERR_SECRET_KEY_UNKNOWN');
  });

  it('leaves a value already under the active key unchanged, so a rotation can be rerun', () => {
    const ring = parseKeyring(`k1:${k1},k2:${k2}`, 'k2');
    const sealed = sealSecret(ring, plaintext, context);
    expect(needsReseal(ring, sealed)).toBe(false);
    expect(resealSecret(ring, sealed, context)).toBe(sealed);
  });

  it('refuses to reseal a tampered value or one sealed for another context', () => {
    const sealed = sealSecret(parseKeyring(`k1:${k1}`), plaintext, context);
    const rotating = parseKeyring(`k1:${k1},k2:${k2}`, 'k2');
    expect(failure(() => resealSecret(rotating, flipByte(sealed, 3, 0), context)).code).toBe('ERR_SECRET_TAMPERED');
    expect(failure(() => resealSecret(rotating, sealed, 'tenant:other/sftp.password')).code).toBe('ERR_SECRET_TAMPERED');
  });
});
