import { maskEmailAddress } from './mask-email-address.js';
import { maskPhoneNumber } from './mask-phone-number.js';

/** Fewest digits a run must have to be taken for a phone number in free text. */
export const MIN_PHONE_DIGITS = 7;

const D = '\\p{Nd}';
const SEP = '[ \\u00A0\\u2009\\u202F.\\-/]';
const PAREN = `\\(${D}{1,5}\\)`;
/**
 * A run of digits in groups: an optional `+`, optional `(0)`-style groups, single separators (space, no-break space,
 * `.`, `-`, `/`) between groups. Every repetition consumes a separator or a parenthesis, so matching is linear
 * (no catastrophic backtracking), and a run never starts inside another run of digits. Letters before or after do
 * not matter: CJK text writes numbers without spaces (`電話は090-1234-5678です`).
 */
const PHONE_CANDIDATE = new RegExp(`(?<![\\p{N}_+＋])(?:[+＋]${SEP}?)?(?:${PAREN}${SEP}?)?${D}+(?:${SEP}?${PAREN}${SEP}?${D}+|${SEP}${D}+)*`, 'gu');
/** An address: a local part and a dotted domain of letters, digits and `-`, starting where no address character precedes. */
const EMAIL = /(?<![\p{L}\p{N}._%+'-])[\p{L}\p{N}._%+'-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
/** Calendar dates (`2026-05-04`, `04.05.2026`, `5/4/2026`) are not phone numbers. */
const DATE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4})$/;

function looksLikeDate(candidate: string): boolean {
  const ascii = candidate.normalize('NFKC');
  if (!DATE.test(ascii)) return false;
  const groups = ascii.split(/[-./]/);
  const [a = 0, b = 0] = (groups[0]?.length === 4 ? groups.slice(1) : groups.slice(0, 2)).map(Number);
  return Math.min(a, b) >= 1 && Math.min(a, b) <= 12 && Math.max(a, b) <= 31;
}

/**
 * Masks every email address and phone number in free text (chat messages, notes, names, custom fields), leaving the
 * rest as it is. Regex-based; the documented limits:
 *
 * - a phone number is a run of at least {@link MIN_PHONE_DIGITS} digits (any script), optionally starting with `+`,
 *   grouped by single spaces, `.`, `-`, `/` or parentheses. Any such run is masked, so long order or account numbers
 *   are masked too (on purpose: when in doubt, hide). Calendar dates are left alone.
 * - not found: numbers written in words ("zero one seven…"), split by other characters or by two separators in a row,
 *   numbers under seven digits, and obfuscated addresses
 *   (`jane at example dot com`).
 * - an address is `local@domain.tld` of letters, digits and `._%+'-` (internationalized too); quoted local parts and
 *   IP-literal domains are not recognised.
 *
 * @example
 * maskText('Call me at +49 171 2345678 or mail jane@example.com');
 * // 'Call me at +49 ••• ••• ••78 or mail j•••@e•••.com'
 */
export function maskText(text: string): string {
  if (text.length === 0) return text;
  const withoutEmails = text.includes('@') ? text.replace(EMAIL, (address) => maskEmailAddress(address)) : text;
  return withoutEmails.replace(PHONE_CANDIDATE, (candidate) => {
    const digits = candidate.match(/\p{Nd}/gu)?.length ?? 0;
    if (digits < MIN_PHONE_DIGITS || looksLikeDate(candidate)) return candidate;
    return maskPhoneNumber(candidate);
  });
}
