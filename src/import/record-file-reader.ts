import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RecordEncoding } from '../archive/drop-layout.js';
import { RetentionError } from '../errors.js';

/** Largest single record accepted in a file (bytes of its JSON text). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * What inflating one gzipped record file may cost, so a small file cannot make the importer inflate gigabytes
 * (a decompression bomb). Reading stops as soon as a limit is crossed.
 */
export interface InflateLimits {
  /** Most bytes one gzipped file may inflate to (`IMPORT_MAX_INFLATED_BYTES`). Default 1 GiB. */
  maxInflatedBytes: number;
  /**
   * Most inflated bytes per byte of the compressed file (`IMPORT_MAX_INFLATE_RATIO`), checked once more than
   * `ratioAfterBytes` are inflated. Default 100 (JSON records compress about 5 to 30 times).
   */
  maxInflateRatio: number;
  /** Inflated bytes a file may always reach, whatever its ratio (`IMPORT_INFLATE_RATIO_AFTER_BYTES`). Default 16 MiB. */
  ratioAfterBytes: number;
}

/** Defaults of {@link InflateLimits}; the configuration's defaults are the same. */
export const DEFAULT_INFLATE_LIMITS: Readonly<InflateLimits> = Object.freeze({
  maxInflatedBytes: 1024 * 1024 * 1024,
  maxInflateRatio: 100,
  ratioAfterBytes: 16 * 1024 * 1024,
});

/**
 * A gzipped record file crossed one of its {@link InflateLimits}: `ERR_IMPORT_INFLATED_TOO_LARGE` or
 * `ERR_IMPORT_INFLATE_RATIO_EXCEEDED`. Permanent: the verified file will not change.
 */
export class InflateLimitError extends RetentionError {
  constructor(
    code: 'ERR_IMPORT_INFLATED_TOO_LARGE' | 'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
    message: string,
    /** Bytes inflated when reading stopped. */
    readonly inflatedBytes: number,
    /** Bytes of the compressed file read from disk when reading stopped. */
    readonly compressedBytesRead: number,
  ) {
    super(code, message);
  }
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function unreadable(path: string, message: string, cause?: unknown): RetentionError {
  return new RetentionError('ERR_IMPORT_FILE_UNREADABLE', `${path}: ${message}`, cause === undefined ? undefined : { cause });
}

function parseJson(text: string, path: string, index: number): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw unreadable(path, `record ${index} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`, cause);
  }
}

/** Splits a JSON array into the text of its elements as bytes arrive, whatever its layout (one line or pretty-printed). */
class JsonArraySplitter {
  private state: 'before' | 'inside' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private elementStarted = false;
  private expectingElement = true;
  count = 0;

  constructor(private readonly path: string) {}

  *push(chunk: Buffer): Generator<unknown> {
    let start = this.state === 'inside' && this.elementStarted ? 0 : -1;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i] as number;
      if (this.state !== 'inside') {
        if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === NEWLINE) continue;
        if (this.state === 'before' && byte === OPEN_BRACKET) {
          this.state = 'inside';
          continue;
        }
        throw unreadable(this.path, this.state === 'before' ? 'is not a JSON array' : 'has data after the end of the JSON array');
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.depth += 1;
      } else if (byte === CLOSE_BRACE || (byte === CLOSE_BRACKET && this.depth > 0)) {
        this.depth -= 1;
      } else if (this.depth === 0 && (byte === COMMA || byte === CLOSE_BRACKET)) {
        if (start >= 0) this.append(chunk.subarray(start, i));
        start = -1;
        const value = this.takeElement(byte === CLOSE_BRACKET);
        if (value !== undefined) yield value.value;
        if (byte === CLOSE_BRACKET) this.state = 'after';
        continue;
      }
      if (this.depth === 0 && (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === NEWLINE)) continue;
      if (start < 0) start = i;
      this.elementStarted = true;
    }
    if (start >= 0) this.append(chunk.subarray(start));
  }

  end(): void {
    if (this.state !== 'after') throw unreadable(this.path, 'ends before its JSON array is closed');
  }

  private append(bytes: Buffer): void {
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_RECORD_BYTES) throw unreadable(this.path, `record ${this.count} is larger than ${MAX_RECORD_BYTES} bytes`);
    this.parts.push(bytes);
  }

  private takeElement(closing: boolean): { value: unknown } | undefined {
    if (!this.elementStarted) {
      if (closing && this.expectingElement && this.count === 0) return undefined;
      throw unreadable(this.path, `has an empty element after record ${this.count}`);
    }
    const text = Buffer.concat(this.parts, this.partBytes).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    this.elementStarted = false;
    this.expectingElement = !closing;
    const value = parseJson(text, this.path, this.count);
    this.count += 1;
    return { value };
  }
}

/** The first position from `from` on that is not a space, tab, CR or LF: blank lines are skipped without being split. */
function skipBlanks(buffer: Buffer, from: number): number {
  let at = from;
  for (let byte = buffer[at]; byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === NEWLINE; byte = buffer[at]) at += 1;
  return at;
}

async function* splitNdjson(stream: AsyncIterable<unknown>, path: string): AsyncGenerator<unknown> {
  let rest: Buffer[] = [];
  let restBytes = 0;
  let index = 0;
  const line = (bytes: Buffer): { value: unknown } | undefined => {
    const text = bytes.toString('utf8').trim();
    if (text.length === 0) return undefined;
    const value = parseJson(text, path, index);
    index += 1;
    return { value };
  };
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    let from = rest.length === 0 ? skipBlanks(buffer, 0) : 0;
    for (let newline = buffer.indexOf(NEWLINE, from); newline >= 0; newline = buffer.indexOf(NEWLINE, from)) {
      const piece = buffer.subarray(from, newline);
      const whole = rest.length > 0 ? Buffer.concat([...rest, piece]) : piece;
      rest = [];
      restBytes = 0;
      const parsed = line(whole);
      if (parsed) yield parsed.value;
      from = skipBlanks(buffer, newline + 1);
    }
    if (from < buffer.length) {
      restBytes += buffer.length - from;
      if (restBytes > MAX_RECORD_BYTES) throw unreadable(path, `record ${index} is larger than ${MAX_RECORD_BYTES} bytes`);
      rest.push(buffer.subarray(from));
    }
  }
  const parsed = line(Buffer.concat(rest));
  if (parsed) yield parsed.value;
}

/** Compressed bytes read at a time: small, so a file stopped by its limits has not been read far ahead. */
const GZIP_READ_BYTES = 16 * 1024;

/** Yields the inflated chunks of `stream`, stopping with an {@link InflateLimitError} at the first crossed limit. */
async function* inflatedChunks(stream: Readable, file: ReadStream, compressedBytes: number, limits: InflateLimits, path: string): AsyncGenerator<Buffer> {
  const ratioCap = limits.maxInflateRatio * compressedBytes;
  let inflated = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    inflated += buffer.length;
    if (inflated > limits.maxInflatedBytes) {
      throw new InflateLimitError(
        'ERR_IMPORT_INFLATED_TOO_LARGE',
        `${path}: inflates to more than ${limits.maxInflatedBytes} bytes, the most one gzipped record file may hold (IMPORT_MAX_INFLATED_BYTES); reading stopped after ${inflated} bytes. If the file is genuine, raise IMPORT_MAX_INFLATED_BYTES and retry: retention import <tenant> --retry`,
        inflated,
        file.bytesRead,
      );
    }
    if (inflated > limits.ratioAfterBytes && inflated > ratioCap) {
      throw new InflateLimitError(
        'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
        `${path}: its ${compressedBytes} compressed bytes inflate to more than ${limits.maxInflateRatio} times their size (IMPORT_MAX_INFLATE_RATIO, checked past IMPORT_INFLATE_RATIO_AFTER_BYTES = ${limits.ratioAfterBytes} bytes), like a decompression bomb; reading stopped after ${inflated} bytes. If the file is genuine, raise IMPORT_MAX_INFLATE_RATIO and retry: retention import <tenant> --retry`,
        inflated,
        file.bytesRead,
      );
    }
    yield buffer;
  }
}

/** How {@link readRecordFile} reads a file. */
export interface RecordFileFormat {
  encoding: RecordEncoding;
  gzip: boolean;
  /** Path shown in errors (the file's path in the drop); default the local path. */
  displayPath?: string;
  /** Limits of a gzipped file; default {@link DEFAULT_INFLATE_LIMITS}. */
  inflateLimits?: InflateLimits;
}

/**
 * Streams the records of a (verified) record file on this machine: a JSON array or NDJSON, optionally gzipped, in
 * constant memory whatever the file's layout. Values are yielded raw: the caller validates them.
 * `ERR_IMPORT_FILE_UNREADABLE` names the file and the record when the content is not what its name says.
 * A gzipped file stops being read as soon as it crosses its {@link InflateLimits} ({@link InflateLimitError}).
 *
 * @example
 * for await (const raw of readRecordFile('/spool/chats-0001.json.gz', { encoding: 'json', gzip: true })) validate(raw);
 */
export async function* readRecordFile(localPath: string, format: RecordFileFormat): AsyncGenerator<unknown> {
  const path = format.displayPath ?? localPath;
  let compressedBytes = 0;
  if (format.gzip) {
    try {
      compressedBytes = (await stat(localPath)).size;
    } catch (err) {
      throw unreadable(path, `cannot be read (${err instanceof Error ? err.message : String(err)})`, err);
    }
  }
  const file = createReadStream(localPath, format.gzip ? { highWaterMark: GZIP_READ_BYTES } : {});
  const gunzip = format.gzip ? file.pipe(createGunzip()) : undefined;
  if (gunzip) file.on('error', (err) => gunzip.destroy(err));
  const chunks: AsyncIterable<unknown> = gunzip ? inflatedChunks(gunzip, file, compressedBytes, format.inflateLimits ?? DEFAULT_INFLATE_LIMITS, path) : file;
  try {
    if (format.encoding === 'ndjson') {
      yield* splitNdjson(chunks, path);
      return;
    }
    const splitter = new JsonArraySplitter(path);
    for await (const chunk of chunks) yield* splitter.push(chunk as Buffer);
    splitter.end();
  } catch (err) {
    if (err instanceof RetentionError) throw err;
    throw unreadable(path, `cannot be read (${err instanceof Error ? err.message : String(err)})`, err);
  } finally {
    gunzip?.destroy();
    file.destroy();
  }
}
