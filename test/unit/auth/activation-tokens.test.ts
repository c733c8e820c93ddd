import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_TOKEN_BYTES,
  generateActivationToken,
  hashActivationToken,
  isWellFormedActivationToken,
  verifyActivationToken,
} from '../../../src/auth/activation-tokens.js';

describe('activation tokens', () => {
  it('ASVS 5.0 6.5.3 / 3.2.2: 256 random bits, base64url, distinct every time', () => {
    expect(ACTIVATION_TOKEN_BYTES * 8).toBeGreaterThanOrEqual(128);
    const tokens = Array.from({ length: 100 }, () => generateActivationToken().token);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(100);
  });

  it('stores only the SHA-256 of the token', () => {
    const { token, tokenHash } = generateActivationToken();
    expect(tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(tokenHash).not.toContain(token);
    expect(hashActivationToken(token)).toBe(tokenHash);
  });

  it('verifies the token against its hash and nothing else', () => {
    const { token, tokenHash } = generateActivationToken();
    const other = generateActivationToken();
    expect(verifyActivationToken(token, tokenHash)).toBe(true);
    expect(verifyActivationToken(other.token, tokenHash)).toBe(false);
    expect(verifyActivationToken(tokenHash, tokenHash)).toBe(false);
    expect(verifyActivationToken(`${token.slice(0, 42)}${token[42] === 'A' ? 'B' : 'A'}`, tokenHash)).toBe(false);
  });

  it.each([[''], ['short'], ['a'.repeat(42)], ['a'.repeat(44)], [`${'a'.repeat(42)}=`], [`${'a'.repeat(42)}+`], [null], [42]])(
    'calls %j malformed',
    (token) => {
      expect(isWellFormedActivationToken(token)).toBe(false);
    },
  );
});
