import { filterHash } from '../../views/assets/password-strength.js';

/** Bits of the remainder per entry: a password that is not listed is found with a probability of 2^-16 per lookup. */
export const FILTER_RICE_BITS = 16;

/** The encoded set, as `decodeCommonPasswordFilter` in views/assets/password-strength.js reads it. */
export interface EncodedCommonPasswordFilter {
  count: number;
  entries: number;
  riceBits: number;
  range: number;
  data: string;
}

/**
 * Golomb-Rice codes the hashes of `passwords` (each reduced modulo `entries × 2^riceBits`, sorted, deduplicated):
 * every gap as its quotient in unary (ones ended by a zero) and its remainder in `riceBits` bits, most significant
 * bit first, base64.
 *
 * @example
 * const filter = encodeCommonPasswordFilter(COMMON_PASSWORDS);
 */
export function encodeCommonPasswordFilter(passwords: readonly string[], riceBits = FILTER_RICE_BITS): EncodedCommonPasswordFilter {
  const range = passwords.length * 2 ** riceBits;
  if (range > 2 ** 32) throw new Error(`a filter of ${passwords.length} entries needs fewer than ${riceBits} remainder bits`);
  const values = [...new Set(passwords.map((p) => filterHash(p) % range))].sort((a, b) => a - b);
  const bits: number[] = [];
  let previous = 0;
  for (const value of values) {
    const gap = value - previous;
    previous = value;
    const quotient = Math.floor(gap / 2 ** riceBits);
    for (let i = 0; i < quotient; i += 1) bits.push(1);
    bits.push(0);
    for (let b = riceBits - 1; b >= 0; b -= 1) bits.push(Math.floor(gap / 2 ** b) % 2);
  }
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    if (bit === 1) bytes[i >>> 3] = (bytes[i >>> 3] ?? 0) | (0x80 >>> (i & 7));
  });
  return { count: values.length, entries: passwords.length, riceBits, range, data: bytes.toString('base64') };
}

/**
 * The source of views/assets/common-password-filter.js for `filter`: a generated ES module, base64 in lines of 96.
 *
 * @example
 * await expect(renderCommonPasswordFilterModule(filter)).toMatchFileSnapshot('../../../views/assets/common-password-filter.js');
 */
export function renderCommonPasswordFilterModule(filter: EncodedCommonPasswordFilter): string {
  const lines = filter.data.match(/.{1,96}/g) ?? [];
  return [
    '// Generated from src/auth/common-passwords.ts by test/unit/portal/common-password-filter.test.ts: do not edit.',
    '// Regenerate: npx vitest run test/unit/portal/common-password-filter.test.ts --update',
    `// The ${filter.entries} common passwords of the portal's blocklist, as a Golomb-Rice coded set of hashes read by`,
    '// decodeCommonPasswordFilter (password-strength.js), so the strength meter knows them without loading the list.',
    '// The list is from @zxcvbn-ts/language-common (MIT; Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.;',
    '// Copyright (c) 2021 @zxcvbn-ts); see src/auth/common-passwords.ts for the licence.',
    'export const COMMON_PASSWORD_FILTER = Object.freeze({',
    `  count: ${filter.count},`,
    `  entries: ${filter.entries},`,
    `  riceBits: ${filter.riceBits},`,
    `  range: ${filter.range},`,
    '  data: [',
    ...lines.map((line) => `    '${line}',`),
    "  ].join(''),",
    '});',
    '',
  ].join('\n');
}
