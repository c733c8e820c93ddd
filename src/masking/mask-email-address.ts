import { MASK_CHAR } from './mask-phone-number.js';

const HIDDEN = MASK_CHAR.repeat(3);
const firstCodePoint = (text: string): string => Array.from(text)[0] ?? '';

/**
 * Masks an email address: the first character of the local part and of the domain, and the top-level domain stay;
 * the rest becomes a fixed mask (lengths are not revealed). Works on internationalized addresses (code points, not
 * UTF-16 units). A value without `@` is masked like a handle.
 *
 * @example
 * maskEmailAddress('john.doe@example.com'); // 'j•••@e•••.com'
 * maskEmailAddress('ünal@bücher.co.uk');    // 'ü•••@b•••.uk'
 */
export function maskEmailAddress(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return maskHandle(value);
  const labels = value.slice(at + 1).split('.');
  const tld = labels.length > 1 ? (labels.at(-1) ?? '') : '';
  const tldShown = /^[\p{L}]{2,24}$/u.test(tld) ? `.${tld}` : '';
  return `${firstCodePoint(value.slice(0, at))}${HIDDEN}@${firstCodePoint(labels[0] ?? '')}${HIDDEN}${tldShown}`;
}

/**
 * Masks an identifier of a person that is neither a number nor an address (a social handle, a visitor name typed in
 * a chat widget): the first character stays (unless it is a digit), the rest becomes a fixed mask.
 *
 * @example
 * maskHandle('@jane_doe'); // '@•••'
 */
export function maskHandle(value: string): string {
  const first = firstCodePoint(value.trim());
  return `${/\p{N}/u.test(first) ? '' : first}${HIDDEN}`;
}
