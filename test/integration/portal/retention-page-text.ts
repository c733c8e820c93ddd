import { retentionFormField } from '../../../src/portal/routes/retention-settings-fields.js';

/** Text as a reader sees it (EJS escapes quotes, ampersands and angle brackets). */
export const shown = (html: string): string =>
  html.replaceAll('&#34;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** What a reader sees of a piece of the page: no tags, entities decoded. */
export const textOf = (html: string): string => shown(html.replace(/<[^>]+>/g, ''));

/** The error printed after the form control `name` and before the next label, as a reader sees it. */
export function errorNextTo(html: string, name: string): string | undefined {
  const at = html.indexOf(`name="${name}"`);
  if (at === -1) throw new Error(`no form control ${name} on the page`);
  const rest = html.slice(at);
  const next = rest.indexOf('<label');
  const match = /<p class="field-error" role="alert"[^>]*>([^<]*)<\/p>/.exec(next === -1 ? rest : rest.slice(0, next));
  return match?.[1] === undefined ? undefined : shown(match[1]);
}

/** The error the Retention settings page prints for `field` (next to its control, by the control's id). */
export function errorOf(html: string, field: string): string | undefined {
  const id = retentionFormField(field).id;
  const match = new RegExp(`<p class="field-error" role="alert" id="${id}-error">([^<]*)</p>`).exec(html);
  return match?.[1] === undefined ? undefined : shown(match[1]);
}

/** The summary of problems above the Retention settings form, as a reader sees it ('' when there is none). */
export function summaryOf(html: string): string {
  const box = /<div class="notice notice-error problem-summary" role="alert">([\s\S]*?)<\/div>/.exec(html)?.[1];
  return box === undefined ? '' : textOf(box).replace(/\s+/g, ' ');
}

/** Validation text a reader must never see: zod's own messages and the like. */
const RAW_VALIDATION_TEXT = [
  /Invalid (input|option|discriminator|value|string|url)/,
  /expected (a |an )?(number|string|array|object|boolean|one of|record)/i,
  /Too (big|small)/,
  /[<>]=\s?\d/,
  /Unrecognized key/,
  /\(data scope \)/,
  /received (undefined|string|number)/,
];

/** The raw validation phrases the page shows a reader (none is the only right answer). */
export function rawValidationText(html: string): string[] {
  const text = textOf(html);
  return RAW_VALIDATION_TEXT.flatMap((pattern) => text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? []);
}
