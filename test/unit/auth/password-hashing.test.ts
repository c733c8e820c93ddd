import { argon2i, argon2id, hash } from 'argon2';
import { describe, expect, it } from 'vitest';
import {
  MAX_PASSWORD_LENGTH,
  hashPassword,
  needsRehash,
  normalizePassword,
  verifyPassword,
  verifyPasswordForUnknownAccount,
} from '../../../src/auth/password-hashing.js';
import { RetentionError } from '../../../src/errors.js';

const codeOf = async (run: () => unknown): Promise<string> => {
  try {
    await run();
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

describe('hashPassword / verifyPassword', () => {
  it('ASVS 5.0 appendix / 2.4.4: hashes with argon2id, t=2, m=19 MiB, p=1', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
  });

  it('ASVS 2.4.2: every hash has its own salt', async () => {
    const [a, b] = await Promise.all([hashPassword('same password here'), hashPassword('same password here')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('ASVS 2.1.2: accepts 64- and 128-character passwords', async () => {
    for (const length of [64, 128]) {
      const password = 'Ab1 '.repeat(length / 4);
      const stored = await hashPassword(password);
      expect(await verifyPassword(stored, password)).toBe(true);
    }
  });

  it('ASVS 2.1.3: never truncates (a difference in the 1024th character counts)', async () => {
    const long = 'x'.repeat(MAX_PASSWORD_LENGTH - 1);
    const stored = await hashPassword(`${long}a`);
    expect(await verifyPassword(stored, `${long}a`)).toBe(true);
    expect(await verifyPassword(stored, `${long}b`)).toBe(false);
    expect(await verifyPassword(stored, long)).toBe(false);
  });

  it('ASVS 2.1.3: spaces count, nothing is trimmed or lower-cased', async () => {
    const stored = await hashPassword(' Pass word ');
    expect(await verifyPassword(stored, ' Pass word ')).toBe(true);
    for (const other of ['Pass word', ' pass word ', ' Password ', ' Pass  word ']) expect(await verifyPassword(stored, other)).toBe(false);
  });

  it('NIST SP 800-63B 5.1.1.2: NFKC normalisation makes composed, decomposed and full-width forms equal', async () => {
    const stored = await hashPassword('caf\u00e9 ｐａｓｓ １２３');
    expect(await verifyPassword(stored, 'cafe\u0301 pass 123')).toBe(true);
    expect(normalizePassword('ｐａｓｓ ｗｏｒｄ')).toBe('pass word');
  });

  it(`refuses passwords over ${MAX_PASSWORD_LENGTH} characters (denial of service), and they never verify`, async () => {
    expect(await codeOf(() => hashPassword('x'.repeat(MAX_PASSWORD_LENGTH + 1)))).toBe('ERR_PASSWORD_TOO_LONG');
    expect(await codeOf(() => hashPassword('x'.repeat(1_000_000)))).toBe('ERR_PASSWORD_TOO_LONG');
    const stored = await hashPassword('a reasonable password');
    expect(await verifyPassword(stored, 'x'.repeat(MAX_PASSWORD_LENGTH + 1))).toBe(false);
  });

  it.each([[''], [undefined], [42]])('refuses the password %j', async (password) => {
    expect(await codeOf(() => hashPassword(password as unknown as string))).toBe('ERR_PASSWORD_INVALID');
  });

  it.each([['not a hash'], [''], ['$2b$12$abcdefghijklmnopqrstuv'], ['$argon2id$v=19$m=19456,t=2,p=1$broken']])(
    'says the stored hash %j is corrupt instead of answering false',
    async (stored) => {
      expect(await codeOf(() => verifyPassword(stored, 'whatever password'))).toBe('ERR_PASSWORD_HASH_INVALID');
    },
  );

  it('ASVS 2.2.1 / no account enumeration: an unknown account costs a real verification and fails', async () => {
    expect(await verifyPasswordForUnknownAccount('guess guess guess')).toBe(false);
    const stored = await hashPassword('timing reference');
    const t0 = performance.now();
    await verifyPassword(stored, 'timing reference');
    const known = performance.now() - t0;
    const t1 = performance.now();
    await verifyPasswordForUnknownAccount('guess guess guess');
    const unknown = performance.now() - t1;
    expect(unknown).toBeGreaterThan(known / 4);
  });
});

describe('needsRehash', () => {
  it('is false for a hash with the current parameters', async () => {
    expect(needsRehash(await hashPassword('current parameters'))).toBe(false);
  });

  it('ASVS 2.4.4: is true for weaker argon2id parameters and for argon2i', async () => {
    expect(needsRehash(await hash('old', { type: argon2id, timeCost: 1, memoryCost: 8192, parallelism: 1 }))).toBe(true);
    expect(needsRehash(await hash('old', { type: argon2i, timeCost: 2, memoryCost: 19456, parallelism: 1 }))).toBe(true);
  });

  it.each([[''], ['$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY'], ['plain']])('is true for %j', (stored) => {
    expect(needsRehash(stored)).toBe(true);
  });
});
