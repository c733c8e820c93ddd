import { RetentionError } from '../../errors.js';

/**
 * Normalises a phone number, or the start of one, as typed by a person to an E.164 prefix: separators
 * (spaces, `-`, `.`, `/`, parentheses) removed and a leading international `00` turned into `+`. The result is `+`
 * and 1 to 15 digits. Without a country code (no `+` or `00`) the number cannot be placed, so it is refused with
 * `ERR_ARCHIVE_FILTER_INVALID`.
 *
 * @example
 * normalizePhonePrefix('+1 (415) 555-01'); // '+141555501'
 * normalizePhonePrefix('0044 20 7946');    // '+44207946'
 */
export function normalizePhonePrefix(input: string, field = 'number'): string {
  const compact = input.trim().replace(/[\s().\-/]/g, '');
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  if (!/^\+[1-9]\d{0,14}$/.test(international)) {
    throw new RetentionError(
      'ERR_ARCHIVE_FILTER_INVALID',
      `filter "${field}" ${JSON.stringify(input.slice(0, 40))} is not a phone number: give "+" or "00", the country code and digits, e.g. +1 415 555`,
    );
  }
  return international;
}

/** A regular expression source matching strings that start with `prefix` literally. */
export function literalPrefixPattern(prefix: string): string {
  return `^${prefix.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}`;
}
