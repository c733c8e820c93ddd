import { describe, expect, it } from 'vitest';
import {
  BACKUP_CODE_ALPHABET,
  BACKUP_CODE_BITS,
  BACKUP_CODE_COUNT,
  generateBackupCodes,
  hashBackupCodes,
  normalizeBackupCode,
  verifyBackupCode,
} from '../../../src/auth/backup-codes.js';
import { RetentionError } from '../../../src/errors.js';

const CODE_SHAPE = /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/;

describe('generateBackupCodes', () => {
  it('ASVS 2.6.2 / NIST SP 800-63B: ten codes of 50 bits each, grouped for reading', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(BACKUP_CODE_COUNT);
    expect(BACKUP_CODE_COUNT).toBe(10);
    expect(BACKUP_CODE_BITS).toBeGreaterThanOrEqual(50);
    expect(new Set(BACKUP_CODE_ALPHABET).size).toBe(32);
    for (const code of codes) expect(code).toMatch(CODE_SHAPE);
    expect(new Set(codes).size).toBe(10);
  });

  it('ASVS 5.0 6.5.3: draws every symbol of the alphabet (CSPRNG, no symbol left out)', () => {
    const symbols = generateBackupCodes(200).join('').replace(/-/g, '');
    for (const symbol of BACKUP_CODE_ALPHABET) expect(symbols).toContain(symbol);
    expect(symbols).not.toMatch(/[ILOU]/);
  });
});

describe('normalizeBackupCode', () => {
  it.each([
    ['7KQ2M-X9D4T', '7KQ2MX9D4T'],
    ['7kq2mx9d4t', '7KQ2MX9D4T'],
    [' 7kq2m x9d4t ', '7KQ2MX9D4T'],
    ['7KQ2M\u2013X9D4T', '7KQ2MX9D4T'],
    ['7-K-Q-2-M-X-9-D-4-T', '7KQ2MX9D4T'],
    ['OKQ2M-X9D4I', '0KQ2MX9D41'],
    ['LKQ2M-X9D4l', '1KQ2MX9D41'],
  ])('reads %j as %j', (input, canonical) => {
    expect(normalizeBackupCode(input)).toBe(canonical);
  });

  it.each([[''], ['7KQ2M-X9D4'], ['7KQ2M-X9D4TT'], ['7KQ2M-X9D4U'], ['7KQ2M_X9D4T'], ['7KQ2M-X9D4!'], ['x'.repeat(100)], [undefined]])(
    'refuses %j',
    (input) => {
      expect(normalizeBackupCode(input as unknown as string)).toBeUndefined();
    },
  );
});

describe('hashBackupCodes / verifyBackupCode', () => {
  it('ASVS 2.6.3 / 5.0 6.5.2: stores argon2id hashes, never the codes', async () => {
    const codes = generateBackupCodes(3);
    const hashes = await hashBackupCodes(codes);
    expect(hashes).toHaveLength(3);
    for (const [i, hash] of hashes.entries()) {
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      expect(hash).not.toContain(codes[i]?.replace('-', ''));
    }
  });

  it('ASVS 2.6.1 / 5.0 6.5.1: a backup code is refused the second time', async () => {
    const codes = generateBackupCodes(3);
    let stored = await hashBackupCodes(codes);
    const code = codes[1] ?? '';
    const match = await verifyBackupCode(stored, code.toLowerCase().replace('-', ' '));
    expect(match).toEqual({ index: 1, hash: stored[1] });
    stored = stored.filter((hash) => hash !== match?.hash);
    expect(await verifyBackupCode(stored, code)).toBeUndefined();
    expect(await verifyBackupCode(stored, codes[2] ?? '')).toEqual({ index: 1, hash: stored[1] });
  });

  it('refuses an unknown or malformed code', async () => {
    const stored = await hashBackupCodes(generateBackupCodes(2));
    expect(await verifyBackupCode(stored, '00000-00000')).toBeUndefined();
    expect(await verifyBackupCode(stored, 'not a code')).toBeUndefined();
    expect(await verifyBackupCode([], '00000-00000')).toBeUndefined();
  });

  it('refuses to hash something that is not a code', async () => {
    const err = await hashBackupCodes(['hello']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetentionError);
    expect((err as RetentionError).code).toBe('ERR_BACKUP_CODE_INVALID');
    expect((err as RetentionError).message).not.toContain('hello');
  });
});
