import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RecordEncoding } from '../archive/drop-layout.js';
import { RetentionError } from '../errors.js';

/** Largest single record accepted in a file (bytes of its JSON text). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function unreadable(path: string, message: string, cause?: unknown): RetentionError {
  return new RetentionError('ERR_IMPORT_FILE_UNREADABLE', `${path}: ${message}`, 422, cause === undefined ? undefined : { cause });
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

async function* splitNdjson(stream: Readable, path: string): AsyncGenerator<unknown> {
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
    let from = 0;
    for (let newline = buffer.indexOf(NEWLINE, from); newline >= 0; newline = buffer.indexOf(NEWLINE, from)) {
      const piece = buffer.subarray(from, newline);
      const whole = rest.length > 0 ? Buffer.concat([...rest, piece]) : piece;
      rest = [];
      restBytes = 0;
      const parsed = line(whole);
      if (parsed) yield parsed.value;
      from = newline + 1;
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

/**
 * Streams the records of a (verified) record file on this machine: a JSON array or NDJSON, optionally gzipped, in
 * constant memory whatever the file's layout. Values are yielded raw: the caller validates them.
 * `ERR_IMPORT_FILE_UNREADABLE` names the file and the record when the content is not what its name says.
 *
 * @example
 * for await (const raw of readRecordFile('/spool/chats-0001.json.gz', { encoding: 'json', gzip: true })) validate(raw);
 */
export async function* readRecordFile(localPath: string, format: { encoding: RecordEncoding; gzip: boolean; displayPath?: string }): AsyncGenerator<unknown> {
  const path = format.displayPath ?? localPath;
  const file = createReadStream(localPath);
  const stream: Readable = format.gzip ? file.pipe(createGunzip()) : file;
  if (format.gzip) file.on('error', (err) => stream.destroy(err));
  try {
    if (format.encoding === 'ndjson') {
      yield* splitNdjson(stream, path);
      return;
    }
    const splitter = new JsonArraySplitter(path);
    for await (const chunk of stream) yield* splitter.push(chunk as Buffer);
    splitter.end();
  } catch (err) {
    if (err instanceof RetentionError) throw err;
    throw unreadable(path, `cannot be read (${err instanceof Error ? err.message : String(err)})`, err);
  } finally {
    stream.destroy();
    file.destroy();
  }
}
