/** How many characters of a typed value a refusal quotes. */
const QUOTED_LENGTH = 40;

/**
 * A typed value as a refusal quotes it: in double quotes, cut to 40 characters; "an empty value" for nothing typed
 * (`undefined`, `null`, blank text, an empty list).
 *
 * @example
 * quoteTyped('70000'); // '"70000"'
 * quoteTyped('');      // 'an empty value'
 */
export function quoteTyped(value: unknown): string {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return 'an empty value';
  const text = Array.isArray(value) ? value.map(String).join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text.trim() === '') return 'an empty value';
  return `"${text.length > QUOTED_LENGTH ? `${text.slice(0, QUOTED_LENGTH)}…` : text}"`;
}

/**
 * What a form or API says about a value it refuses: the value typed, and what is accepted instead; one sentence, for
 * a message that the caller prefixes with the field's name. A secret is never quoted: pass `{ secret: true }`.
 *
 * @example
 * describeRefusedValue('70000', acceptsWholeNumber(1, 65_535)); // '"70000" is not accepted; enter a whole number from 1 to 65535.'
 * describeRefusedValue(undefined, 'type the API token');         // 'an empty value is not accepted; type the API token.'
 */
export function describeRefusedValue(typed: unknown, accepted: string, options: { secret?: boolean } = {}): string {
  const shown = quoteTyped(typed);
  const value = options.secret === true && shown !== 'an empty value' ? 'the value typed (not shown again)' : shown;
  return `${value} is not accepted; ${accepted}.`;
}

/**
 * What a whole-number field accepts, as {@link describeRefusedValue} says it.
 *
 * @example
 * acceptsWholeNumber(0, 50); // 'enter a whole number from 0 to 50'
 */
export function acceptsWholeNumber(min: number, max: number): string {
  return `enter a whole number from ${min} to ${max}`;
}
