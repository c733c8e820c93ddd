/**
 * The export benchmark's source: demo records written once, before anything is measured, as the page texts an export
 * API would answer (`{"records":[...],"nextCursor":...}`, one page per line of a file), then read back and parsed the
 * way `HttpSource` parses a body (`parseExportApiPage`). Measuring from page text leaves the demo generator out of
 * every figure, and makes "JSON.parse of the page text" part of the source, as it is in production.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { generateRecords } from '../src/records/demo-generator.js';
import type { RecordType } from '../src/records/record-type.js';
import { parseExportApiPage } from '../src/sources/export-api-page.js';
import type { Source, SourcePage, TimeWindow } from '../src/sources/source.js';

/** Records per hour of the generated window: dense enough that a window of a few hours holds any count. */
const RATE_PER_HOUR = 50_000;
const FROM = new Date('2026-01-01T00:00:00.000Z');

/** What {@link writePageFile} wrote. */
export interface PageFile {
  path: string;
  type: RecordType;
  records: number;
  /** Bytes of page text (UTF-8), framing included. */
  bytes: number;
  /** The window on `updatedAt` that holds every record. */
  window: TimeWindow;
}

/** The window `count` records of the benchmark's demo tenant fall in. */
export function windowFor(count: number): TimeWindow {
  return { from: FROM, to: new Date(FROM.getTime() + Math.ceil(count / RATE_PER_HOUR + 1) * 3_600_000) };
}

/** Writes the first `count` demo records of `type` as pages of `pageSize`, one page of JSON text per line. */
export async function writePageFile(path: string, type: RecordType, count: number, pageSize: number): Promise<PageFile> {
  const window = windowFor(count);
  const out = createWriteStream(path);
  let records = 0;
  let bytes = 0;
  let page: unknown[] = [];
  const flush = async (last: boolean): Promise<void> => {
    const text = `${JSON.stringify({ records: page, nextCursor: last ? null : `after-${records}` })}\n`;
    bytes += Buffer.byteLength(text);
    page = [];
    if (!out.write(text)) await once(out, 'drain');
  };
  for (const record of generateRecords({ seed: 'bench', tenantId: 'bench', type, ...window, ratesPerHour: { [type]: RATE_PER_HOUR } })) {
    page.push(record);
    records += 1;
    if (records === count) break;
    if (page.length === pageSize) await flush(false);
  }
  await flush(true);
  out.end();
  await once(out, 'close');
  if (records < count) throw new Error(`the demo window holds only ${records} ${type}, not ${count}`);
  return { path, type, records, bytes, window };
}

/**
 * Streams the page texts of a page file, one string per page, in constant memory: each page's bytes decoded once,
 * as `HttpSource` decodes a response body.
 */
export async function* readPageTexts(path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carried: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      const bytes = carried.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...carried, chunk.subarray(start, end)]);
      carried = [];
      yield decoder.decode(bytes);
      start = end + 1;
    }
    if (start < chunk.length) carried.push(chunk.subarray(start));
  }
  if (carried.length > 0) yield decoder.decode(Buffer.concat(carried));
}

/**
 * A {@link Source} serving a page file: each page text parsed with the export API client's own parser, up to `limit`
 * records, the whole file `passes` times over (the same records again, for a run longer than the file). The records
 * are whatever the file holds, whatever type or window is asked for.
 */
export class PageFileSource implements Source {
  readonly kind = 'bench-pages';

  constructor(
    private readonly path: string,
    private readonly limit = Number.POSITIVE_INFINITY,
    private readonly passes = 1,
  ) {}

  async *read(): AsyncGenerator<SourcePage> {
    let left = this.limit;
    for (let pass = 0; pass < this.passes; pass += 1) {
      for await (const text of readPageTexts(this.path)) {
        const parsed = parseExportApiPage(text);
        if (!parsed.ok) throw new Error(`page file ${this.path}: ${parsed.problem}`);
        const records = parsed.page.records.length <= left ? parsed.page.records : parsed.page.records.slice(0, left);
        left -= records.length;
        yield { records };
        if (left <= 0) return;
      }
    }
  }
}
