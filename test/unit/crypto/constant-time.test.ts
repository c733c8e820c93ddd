import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../../src/crypto/constant-time.js';

describe('constantTimeEqual', () => {
  it.each([
    ['equal strings', 'token-123', 'token-123', true],
    ['equal empty strings', '', '', true],
    ['a string and its UTF-8 bytes', 'päss', Buffer.from('päss', 'utf8'), true],
    ['equal byte arrays', new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]), true],
    ['one character different', 'token-123', 'token-124', false],
    ['a prefix', 'token-12', 'token-123', false],
    ['different lengths', 'a', 'a'.repeat(1000), false],
    ['empty against non-empty', '', 'x', false],
    ['case differs', 'Token', 'token', false],
  ])('compares %s', (_label, a, b, expected) => {
    expect(constantTimeEqual(a, b)).toBe(expected);
    expect(constantTimeEqual(b, a)).toBe(expected);
  });
});
