/** Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection), ASCII and full-width. */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/u;

/** A cell value before encoding. */
export type CsvValue = string | number | boolean | null | undefined;

/**
 * Encodes one CSV cell (RFC 4180): `null`/`undefined` become empty, numbers and booleans plain text; a text that
 * starts with `=`, `+`, `-`, `@`, tab or CR (or their full-width forms) gets a leading `'` so spreadsheets show it
 * as text instead of running it (formula injection); a cell with `"`, `,`, CR or LF is quoted with `"` doubled.
 * Numbers are never prefixed: they are typed values, not text a user wrote.
 *
 * @example
 * csvCell('=HYPERLINK("http://x")'); // '"\'=HYPERLINK(""http://x"")"'
 * csvCell('+49 ••• ••• ••12');      // "'+49 ••• ••• ••12"
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line of cells, ending in CRLF (RFC 4180). */
export function csvLine(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
