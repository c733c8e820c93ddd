import { callingCodeOf } from './calling-codes.js';

/** The character that stands for a hidden character in masked values. */
export const MASK_CHAR = '•';

const DIGIT = /\p{Nd}/gu;

/** The ASCII value of one decimal digit of any script (`'٣'` → `'3'`, `'３'` → `'3'`). */
function asciiDigit(digit: string): string {
  const ascii = digit.normalize('NFKC');
  if (/^[0-9]$/.test(ascii)) return ascii;
  const code = digit.codePointAt(0) ?? 0;
  for (let zero = code; zero > code - 10; zero -= 1) {
    if (!/\p{Nd}/u.test(String.fromCodePoint(zero - 1))) return String(code - zero);
  }
  return '0';
}

/**
 * Masks a phone number: the country code (when the number is international: `+` or `00`) and the last two digits
 * stay, everything else becomes a fixed mask, so the masked form does not reveal the number's length either.
 * Digits of any script count (`０１７１…`); the kept tail is shown as written. Fewer than three digits: all hidden.
 *
 * @example
 * maskPhoneNumber('+4930123456712');  // '+49 ••• ••• ••12'
 * maskPhoneNumber('0171 234 56 78');  // '••• ••• ••78'
 */
export function maskPhoneNumber(value: string): string {
  const digits = value.match(DIGIT) ?? [];
  if (digits.length < 3) return `${MASK_CHAR.repeat(3)}`;
  const tail = digits.slice(-2).join('');
  const trimmed = value.trimStart().normalize('NFKC');
  const ascii = digits.map(asciiDigit).join('');
  const international = trimmed.startsWith('+') ? ascii : /^00[1-9]/.test(ascii) && /^\(?0\s*0/.test(trimmed) ? ascii.slice(2) : undefined;
  const masked = `${MASK_CHAR.repeat(3)} ${MASK_CHAR.repeat(3)} ${MASK_CHAR.repeat(2)}${tail}`;
  if (international === undefined || international.length < 6) return masked;
  return `+${callingCodeOf(international)} ${masked}`;
}
