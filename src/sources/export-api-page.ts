/**
 * One answer of the platform's export API (`200 application/json`):
 * `{ "records": [...], "nextCursor": "opaque" | null }`. `nextCursor` null means the window has no more pages.
 */
export interface ExportApiPage {
  /** Raw records, passed on as they are (the pipeline validates them, and rejects non-objects with a reason). */
  records: unknown[];
  /** Opaque cursor of the next page, or null after the last one. */
  nextCursor: string | null;
}

/** The outcome of {@link parseExportApiPage}: the page, or what is wrong with the body. */
export type ParseExportApiPageResult = { ok: true; page: ExportApiPage } | { ok: false; problem: string };

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Says where JSON.parse failed, without quoting the body (it may hold personal data): a failure at the very end means
 * the body was cut off.
 */
function describeJsonError(err: unknown, text: string): string {
  const detail = err instanceof Error ? err.message : '';
  const position = /at position (\d+)/.exec(detail)?.[1];
  const at = position === undefined ? undefined : Number(position);
  if (text.trim() === '' || /end of (JSON )?input|unterminated/i.test(detail) || (at !== undefined && at >= text.length)) {
    return `the JSON body ends early (truncated after ${text.length} characters)`;
  }
  return `the body is not valid JSON${at === undefined ? '' : ` (error at character ${at} of ${text.length})`}`;
}

/**
 * Parses the JSON text of an export API answer and checks its shape: an object whose `records` is an array and
 * whose `nextCursor` is a non-empty string or null. Record entries are not inspected.
 *
 * @example
 * const result = parseExportApiPage('{"records":[{"id":"c1"}],"nextCursor":null}');
 * if (result.ok) result.page.records.length // 1
 */
export function parseExportApiPage(text: string): ParseExportApiPageResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: describeJsonError(err, text) };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problem: `expected a JSON object with "records" and "nextCursor", got ${describeType(body)}` };
  }
  const { records, nextCursor } = body as { records?: unknown; nextCursor?: unknown };
  if (!Array.isArray(records)) return { ok: false, problem: `"records" must be an array, got ${describeType(records)}` };
  if (nextCursor === undefined) return { ok: false, problem: '"nextCursor" is missing (expected a string, or null after the last page)' };
  if (nextCursor !== null && typeof nextCursor !== 'string') {
    return { ok: false, problem: `"nextCursor" must be a string or null, got ${describeType(nextCursor)}` };
  }
  if (nextCursor === '') return { ok: false, problem: '"nextCursor" is an empty string (expected a cursor, or null after the last page)' };
  return { ok: true, page: { records, nextCursor } };
}
