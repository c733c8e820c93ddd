import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RetentionError } from '../errors.js';
import { instantMs } from '../records/record-fields.js';
import { MAX_PART, assertPathSegment, type RecordEncoding } from './drop-layout.js';
import type { ManifestFile } from './manifest.js';
import { SpoolFile } from './spool-file.js';

/**
 * One spool file produced by {@link writeRecordFiles}: where it is on this machine, and the `records`, `bytes` and
 * `sha256` (of the bytes on disk) its manifest entry will state (see `recordFileEntry`).
 */
export interface RecordFile extends Pick<ManifestFile, 'records' | 'bytes' | 'sha256'> {
  /** Absolute or spool-relative path of the file on this machine. */
  localPath: string;
  /** The file's name, as it will be named in the drop. */
  fileName: string;
  /** 1-based part number. */
  part: number;
  /** Size of the encoded text before gzip (equals `bytes` without gzip). */
  encodedBytes: number;
  /** Smallest `updatedAt` in the file (ISO-8601 UTC); null for an empty file. */
  minUpdatedAt: string | null;
  /** Largest `updatedAt` in the file (ISO-8601 UTC); null for an empty file. */
  maxUpdatedAt: string | null;
}

/**
 * A spool file {@link writeRecordFiles} has just opened: its bytes can be read while it is written (`follow`), and
 * `complete` settles once it is closed: with its {@link RecordFile}, or rejected (`ERR_SPOOL_ABANDONED`) when the
 * encoding failed before the file was complete.
 */
export interface StartedRecordFile {
  localPath: string;
  fileName: string;
  part: number;
  /** The bytes on disk as they are written; ends at the file's last byte, fails if the file is abandoned. */
  follow(): AsyncIterable<Buffer>;
  complete: Promise<RecordFile>;
}

/** Options of {@link writeRecordFiles}. */
export interface RecordFileWriterOptions {
  /** Local spool directory; it must exist. */
  directory: string;
  /** Names part `n` (1-based), e.g. `(part) => recordFileName({ type, window, part, encoding, gzip, runId })`. */
  fileName: (part: number) => string;
  /** `json`: a JSON array, one record per line between `[` and `]`. `ndjson`: one record per line. */
  encoding: RecordEncoding;
  /** Gzip each file (streaming, node:zlib). Default false. */
  gzip?: boolean;
  /** Gzip level 0 to 9. Default 6. */
  gzipLevel?: number;
  /** Most records in one file. Default 50,000. */
  maxRecords?: number;
  /**
   * Most bytes of **encoded text before gzip** in one file, framing (`[`, `,`, newlines) included. The gzipped file on
   * disk is smaller; the limit is on the uncompressed size because that is known exactly before a record is written
   * (deflate output is not). A single record larger than the limit still gets written, alone in its file.
   * Default 64 MiB.
   */
  maxBytes?: number;
  /**
   * Called as soon as each file is complete on disk, while later records are still being encoded, so a caller can
   * upload it in parallel (the encoder lets the event loop run after every 256 KiB of text, so the upload moves while
   * records are encoded). It must not throw; the returned list still holds every file.
   */
  onFile?: (file: RecordFile) => void;
  /**
   * Called when each file is opened, before its first record is written, so a caller can upload it while it grows
   * (see {@link StartedRecordFile}). It must not throw. `onFile` is still called when the file is complete.
   */
  onFileStart?: (file: StartedRecordFile) => void;
}

/**
 * Encoded bytes after which the encoder lets the event loop run (`setImmediate`) even when nothing it awaits needed
 * I/O: records of an in-memory page encode in microtasks only, and without this an upload started by `onFile`, a
 * connection's handshake, lock renewals and timers waited until the disk asked the encoder to wait, or the input ended.
 * About 5 ms of work on call logs; the turn itself costs microseconds.
 */
const TURN_BYTES = 256 * 1024;
const JSON_FILE_OVERHEAD = 3;
const JSON_RECORD_OVERHEAD = 2;
const NDJSON_RECORD_OVERHEAD = 1;
const FIRST_JSON_RECORD = Buffer.from('[\n');
const NEXT_JSON_RECORD = Buffer.from(',\n');
const NDJSON_RECORD_END = Buffer.from('\n');

/**
 * Encodes each record's JSON text to UTF-8 once, into a reused buffer: the encoded bytes give the exact size the file
 * limits need, and are copied into the spool file's batch as they are (no second encoding, no joined strings).
 * A text too long for the buffer gets a buffer of its own.
 */
class LineEncoder {
  private readonly scratch = Buffer.allocUnsafe(256 * 1024);

  encode(line: string): Uint8Array {
    if (line.length * 3 > this.scratch.length) return Buffer.from(line, 'utf8');
    return this.scratch.subarray(0, this.scratch.write(line, 0, 'utf8'));
  }
}

function recordError(message: string): RetentionError {
  return new RetentionError('ERR_RECORD_UNENCODABLE', message);
}

function updatedAtMillis(record: unknown, index: number): number {
  const value = typeof record === 'object' && record !== null ? (record as { updatedAt?: unknown }).updatedAt : undefined;
  const millis = value instanceof Date ? value.getTime() : typeof value === 'string' ? instantMs(value) : Number.NaN;
  if (Number.isNaN(millis)) {
    throw recordError(`record ${index} has no valid updatedAt: validate records before encoding them and route failures to rejected/`);
  }
  return millis;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RetentionError('ERR_ENCODER_OPTIONS_INVALID', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

class OpenRecordFile {
  records = 0;
  encodedBytes = 0;
  minUpdatedAt = Number.POSITIVE_INFINITY;
  maxUpdatedAt = Number.NEGATIVE_INFINITY;
  readonly complete: Promise<RecordFile>;
  settle: { resolve: (file: RecordFile) => void; reject: (error: unknown) => void } = { resolve: () => undefined, reject: () => undefined };

  constructor(
    readonly part: number,
    readonly fileName: string,
    readonly spool: SpoolFile,
  ) {
    this.complete = new Promise<RecordFile>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.complete.catch(() => undefined);
  }

  /** Deletes the partial file; whoever follows it or awaits `complete` learns that it was abandoned. */
  async abandon(cause: unknown): Promise<void> {
    await this.spool.abort();
    const detail = cause instanceof Error ? cause.message : String(cause);
    this.settle.reject(new RetentionError('ERR_SPOOL_ABANDONED', `spool file ${this.fileName} was abandoned before it was complete (${detail})`, { cause }));
  }
}

/**
 * Encodes a stream of records into one or more spool files, in constant memory.
 *
 * Files split when the next record would take the current file past `maxRecords` or `maxBytes` (encoded text before
 * gzip). Every file is measured while it streams: `bytes` and `sha256` are of the bytes on disk. An empty input
 * still produces one file (`[]` for JSON, a zero-length file for NDJSON), so "nothing changed in this window" is
 * a delivered, listed fact. Records must be JSON-serializable objects with an `updatedAt` (ISO string or Date);
 * anything else fails with `ERR_RECORD_UNENCODABLE`. On failure every file written so far is deleted.
 *
 * @example
 * const files = await writeRecordFiles(validRecords(), {
 *   directory: spoolDir, encoding: 'json', gzip: true, maxRecords: 50_000,
 *   fileName: (part) => recordFileName({ type: 'chats', window, part, encoding: 'json', gzip: true, runId }),
 * });
 * // [{ localPath, fileName: 'chats-…-0001.json.gz', part: 1, records: 1200, bytes: 90412, sha256: '…', … }]
 */
export async function writeRecordFiles(records: AsyncIterable<unknown> | Iterable<unknown>, options: RecordFileWriterOptions): Promise<RecordFile[]> {
  const maxRecords = positiveInteger(options.maxRecords ?? 50_000, 'maxRecords');
  const maxBytes = positiveInteger(options.maxBytes ?? 64 * 1024 * 1024, 'maxBytes');
  const isJson = options.encoding === 'json';
  if (!isJson && options.encoding !== 'ndjson') {
    throw new RetentionError('ERR_ENCODER_OPTIONS_INVALID', `encoding ${JSON.stringify(options.encoding)} is unknown: use json or ndjson`);
  }
  const fileOverhead = isJson ? JSON_FILE_OVERHEAD : 0;
  const recordOverhead = isJson ? JSON_RECORD_OVERHEAD : NDJSON_RECORD_OVERHEAD;

  const produced: RecordFile[] = [];
  const encoder = new LineEncoder();
  let current: OpenRecordFile | undefined;
  let index = 0;
  let sinceTurn = 0;

  const open = (): OpenRecordFile => {
    const part = produced.length + 1;
    if (part > MAX_PART) {
      throw new RetentionError('ERR_PART_INVALID', `more than ${MAX_PART} parts in one window: use a smaller slice or a larger maxRecords/maxBytes`);
    }
    const fileName = assertPathSegment(options.fileName(part));
    const spool = new SpoolFile(join(options.directory, fileName), { gzip: options.gzip ?? false, gzipLevel: options.gzipLevel });
    const file = new OpenRecordFile(part, fileName, spool);
    options.onFileStart?.({ localPath: spool.localPath, fileName, part, follow: () => spool.follow(), complete: file.complete });
    return file;
  };

  const close = async (file: OpenRecordFile): Promise<void> => {
    if (isJson) {
      await file.spool.write(file.records === 0 ? '[]\n' : '\n]\n');
    }
    const encodedBytes = file.records === 0 ? fileOverhead : file.encodedBytes + fileOverhead;
    const digest = await file.spool.finish();
    const finished: RecordFile = {
      localPath: file.spool.localPath,
      fileName: file.fileName,
      part: file.part,
      records: file.records,
      bytes: digest.bytes,
      encodedBytes,
      sha256: digest.sha256,
      minUpdatedAt: file.records === 0 ? null : new Date(file.minUpdatedAt).toISOString(),
      maxUpdatedAt: file.records === 0 ? null : new Date(file.maxUpdatedAt).toISOString(),
    };
    produced.push(finished);
    file.settle.resolve(finished);
    options.onFile?.(finished);
  };

  try {
    for await (const record of records) {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        throw recordError(`record ${index} is not a JSON object`);
      }
      const millis = updatedAtMillis(record, index);
      let line: string;
      try {
        line = JSON.stringify(record);
      } catch (cause) {
        throw new RetentionError('ERR_RECORD_UNENCODABLE', `record ${index} cannot be serialized as JSON`, { cause });
      }
      const bytes = encoder.encode(line);
      const cost = bytes.length + recordOverhead;
      if (current !== undefined && current.records > 0 && (current.records + 1 > maxRecords || current.encodedBytes + cost + fileOverhead > maxBytes)) {
        await close(current);
        current = undefined;
      }
      current ??= open();
      const { spool } = current;
      if (isJson) spool.append(current.records === 0 ? FIRST_JSON_RECORD : NEXT_JSON_RECORD);
      let full = spool.append(bytes);
      if (!isJson) full = spool.append(NDJSON_RECORD_END) || full;
      if (full) await spool.flush();
      current.records += 1;
      current.encodedBytes += cost;
      sinceTurn += cost;
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
      if (millis < current.minUpdatedAt) current.minUpdatedAt = millis;
      if (millis > current.maxUpdatedAt) current.maxUpdatedAt = millis;
      index += 1;
    }
    current ??= open();
    await close(current);
    current = undefined;
    return produced;
  } catch (error) {
    if (current !== undefined) await current.abandon(error);
    await Promise.all(produced.map((file) => rm(file.localPath, { force: true }).catch(() => undefined)));
    throw error;
  }
}
