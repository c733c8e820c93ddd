import { RetentionError } from '../errors.js';

/** The RFC 4648 Base32 alphabet, as authenticator apps expect TOTP keys. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Encodes bytes as RFC 4648 Base32 without `=` padding (the form `otpauth://` URIs and authenticator apps use).
 *
 * @example
 * encodeBase32(Buffer.from('12345678901234567890')) // 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
 */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes RFC 4648 Base32 as people type it: any case, spaces and dashes ignored, trailing `=` padding optional.
 * Throws `ERR_BASE32_INVALID` for any other character or an impossible length.
 *
 * @example
 * decodeBase32('gezd gnbv gy3t qojq gezd gnbv gy3t qojq').toString() // '12345678901234567890'
 */
export function decodeBase32(text: string): Buffer {
  const cleaned = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  if (![0, 2, 4, 5, 7].includes(cleaned.length % 8)) {
    throw new RetentionError('ERR_BASE32_INVALID', `a Base32 key of ${cleaned.length} characters is impossible: check that it was copied completely`);
  }
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of cleaned) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) {
      throw new RetentionError('ERR_BASE32_INVALID', `${JSON.stringify(char)} is not a Base32 character (A–Z and 2–7): check the key`);
    }
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}
