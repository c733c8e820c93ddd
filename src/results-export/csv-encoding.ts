/** Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection), ASCII and full-width. */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/u;

/** One phone number as the archive holds it: E.164, or masked with `•` and spaces for a reader who may not see it. */
const ONE_PHONE_NUMBER = '\\+[0-9](?:[0-9 •]{0,30}[0-9])?';

/**
 * A cell of phone numbers: one, or a list joined by `; ` (a contact's phones). Such a text cannot be a formula that
 * does anything (no name, reference, call or DDE), so it stays exactly as it is: tools that read the CSV get valid
 * E.164 strings, not `'+4930…`.
 */
const PHONE_NUMBER = new RegExp(`^${ONE_PHONE_NUMBER}(?:; ${ONE_PHONE_NUMBER})*$`, 'u');

/** A cell value before encoding. */
export type CsvValue = string | number | boolean | null | undefined;

/**
 * Encodes one CSV cell (RFC 4180): `null`/`undefined` become empty, numbers and booleans plain text; a text that
 * starts with `=`, `+`, `-`, `@`, tab or CR (or their full-width forms) gets a leading `'` so spreadsheets show it
 * as text instead of running it (formula injection), except a phone number (E.164, or masked: {@link PHONE_NUMBER}),
 * which cannot run anything; a cell with `"`, `,`, CR or LF is quoted with `"` doubled.
 * Numbers are never prefixed: they are typed values, not text a user wrote.
 *
 * @example
 * csvCell('=HYPERLINK("http://x")'); // '"\'=HYPERLINK(""http://x"")"'
 * csvCell('+4930123456');           // '+4930123456'
 * csvCell('+49 ••• ••• ••12');      // '+49 ••• ••• ••12'
 * csvCell('+1+cmd|calc');           // "'+1+cmd|calc"
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) && !PHONE_NUMBER.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line of cells, ending in CRLF (RFC 4180). */
export function csvLine(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
