import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { Transform, type TransformOptions, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, type ZlibOptions } from 'node:zlib';
import { RetentionError } from '../errors.js';
import { CommittedFileWriter } from './committed-file-writer.js';

/** Size and SHA-256 of a finished spool file, both of the bytes on disk. */
export interface SpoolFileDigest {
  bytes: number;
  sha256: string;
}

/** Options of {@link SpoolFile}. */
export interface SpoolFileOptions {
  /** Gzip the bytes before they reach the disk. Default false. */
  gzip?: boolean;
  /** Gzip level 0 to 9. Default 6. */
  gzipLevel?: number;
  /** Text is collected up to this many bytes before it is handed to the stream. Default 64 KiB. */
  batchBytes?: number;
}

/**
 * Bytes each stage of a spool file's stream (gzip, measuring, the file) buffers before it asks the writer to wait. At
 * Node's 16 KiB default every 64 KiB batch waited for its disk write to finish before the next record was encoded; at
 * 1 MiB the disk (and gzip, which runs on the thread pool) works while records are encoded, still in bounded memory.
 */
const STREAM_BUFFER_BYTES = 1024 * 1024;
/** Most bytes {@link SpoolFile.follow} reads from the file at once. */
const FOLLOW_CHUNK_BYTES = 1024 * 1024;

/**
 * One local file being written as a stream of text: optionally gzipped, and measured (byte count and SHA-256 of
 * exactly what lands on disk) while it streams. Memory stays bounded: text is encoded straight into a batch buffer of
 * about `batchBytes`, a full batch goes to the stream, and `write` waits for `drain` when the stream is full.
 *
 * `append` is the same without the wait, for callers that write many small pieces (a record at a time): it says when
 * a batch is full, and the caller then awaits `flush()` before appending more.
 *
 * `follow()` reads the file back while it is written (an upload that starts before the last record is encoded).
 *
 * @example
 * const file = new SpoolFile('/spool/x.json.gz', { gzip: true });
 * await file.write('[]\n');
 * const { bytes, sha256 } = await file.finish();
 */
export class SpoolFile {
  readonly localPath: string;
  private readonly head: Writable;
  private readonly done: Promise<void>;
  private readonly hash = createHash('sha256');
  private readonly batchBytes: number;
  private diskBytes = 0;
  /** The batch being filled: room for twice `batchBytes`, so a piece of up to `batchBytes` fits while it is not full. */
  private batch: Buffer;
  private used = 0;
  /** Batches retired to make room for a piece too large for the current one, not yet handed to the stream. */
  private retired: Buffer[] = [];
  private failure: unknown;
  private finished = false;
  private readonly file: CommittedFileWriter;
  /** Size on disk once the file is complete and closed; undefined before. */
  private completeBytes: number | undefined;
  /** Followers waiting for the file to grow, complete or fail. */
  private waiters: (() => void)[] = [];

  constructor(localPath: string, options: SpoolFileOptions = {}) {
    this.localPath = localPath;
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    this.batch = Buffer.allocUnsafe(this.batchBytes * 2);
    const measure = new Transform({
      highWaterMark: STREAM_BUFFER_BYTES,
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.diskBytes += chunk.length;
        callback(null, chunk);
      },
    });
    const file = new CommittedFileWriter(localPath, { highWaterMark: STREAM_BUFFER_BYTES, onCommit: () => this.wake() });
    this.file = file;
    if (options.gzip === true) {
      const gzip = createGzip({ level: options.gzipLevel ?? 6, highWaterMark: STREAM_BUFFER_BYTES } as ZlibOptions & TransformOptions);
      this.head = gzip;
      this.done = pipeline(gzip, measure, file);
    } else {
      this.head = measure;
      this.done = pipeline(measure, file);
    }
    this.done.catch((error: unknown) => {
      this.failure ??= error;
      this.wake();
    });
  }

  /** Appends text (UTF-8). Resolves once the text is buffered within limits. */
  async write(text: string): Promise<void> {
    if (this.append(text)) await this.flush();
  }

  /**
   * Buffers `piece` (text as UTF-8) without waiting. True when a batch is full: the caller must then `await flush()`
   * before appending more, or memory is no longer bounded.
   */
  append(piece: string | Uint8Array): boolean {
    this.throwIfFailed();
    const room = this.batch.length - this.used;
    if (typeof piece === 'string') {
      if (piece.length * 3 > room) this.retire(piece.length * 3);
      this.used += this.batch.write(piece, this.used, 'utf8');
    } else {
      if (piece.length > room) this.retire(piece.length);
      this.batch.set(piece, this.used);
      this.used += piece.length;
    }
    return this.used >= this.batchBytes || this.retired.length > 0;
  }

  /** Hands what is buffered to the stream; resolves once the stream has room for more. */
  async flush(): Promise<void> {
    await this.flushPending();
  }

  /** Flushes, closes the file and returns its size and SHA-256 on disk. */
  async finish(): Promise<SpoolFileDigest> {
    if (this.finished) throw new RetentionError('ERR_SPOOL_FINISHED', `spool file ${this.localPath} was already finished`);
    this.finished = true;
    await this.flushPending();
    this.head.end();
    try {
      await this.done;
    } catch (error) {
      throw this.spoolError(error);
    }
    this.completeBytes = this.diskBytes;
    this.wake();
    return { bytes: this.diskBytes, sha256: this.hash.digest('hex') };
  }

  /**
   * The file's bytes as they reach the disk, from its start, in chunks of up to 1 MiB: only bytes a write has
   * returned for are read (never a region being written), and the iteration waits for more until the file is
   * finished, then ends at its last byte. It fails with `ERR_SPOOL_ABANDONED` when the file is aborted or its writing
   * fails, so a reader never takes a partial file for a whole one. Reads go through a file handle of their own, so
   * the writer never waits for a reader; several readers may follow one file.
   */
  async *follow(): AsyncGenerator<Buffer> {
    let position = 0;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for (;;) {
        this.throwIfAbandoned();
        const available = this.file.committed;
        if (position < available) {
          handle ??= await open(this.localPath, 'r');
          const chunk = Buffer.allocUnsafe(Math.min(FOLLOW_CHUNK_BYTES, available - position));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
          if (bytesRead === 0) throw this.abandoned(`spool file ${this.localPath} is shorter than the ${available} bytes written to it`);
          position += bytesRead;
          yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
        } else if (this.completeBytes !== undefined && position >= this.completeBytes) {
          return;
        } else {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      }
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /** Stops writing and deletes the partial file. Never throws. */
  async abort(): Promise<void> {
    this.finished = true;
    this.failure ??= this.abandoned(`spool file ${this.localPath} was abandoned before it was complete`);
    this.wake();
    this.head.destroy();
    await this.done.catch(() => undefined);
    await rm(this.localPath, { force: true }).catch(() => undefined);
  }

  /** Puts the current batch aside and starts one with room for at least `needed` bytes. */
  private retire(needed: number): void {
    if (this.used > 0) this.retired.push(this.batch.subarray(0, this.used));
    this.batch = Buffer.allocUnsafe(Math.max(this.batchBytes * 2, needed));
    this.used = 0;
  }

  private async flushPending(): Promise<void> {
    if (this.used === 0 && this.retired.length === 0) return;
    const chunks = this.used === 0 ? this.retired : [...this.retired, this.batch.subarray(0, this.used)];
    this.retired = [];
    this.batch = Buffer.allocUnsafe(this.batchBytes * 2);
    this.used = 0;
    let room = true;
    for (const chunk of chunks) room = this.head.write(chunk);
    if (!room) {
      await Promise.race([
        new Promise<void>((resolve) => this.head.once('drain', resolve)),
        this.done.then(
          () => undefined,
          () => undefined,
        ),
      ]);
    }
    this.throwIfFailed();
  }

  /** Wakes every follower waiting for the file to change. */
  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private throwIfAbandoned(): void {
    if (this.failure === undefined) return;
    if (this.failure instanceof RetentionError && this.failure.code === 'ERR_SPOOL_ABANDONED') throw this.failure;
    const detail = this.failure instanceof Error ? this.failure.message : String(this.failure);
    throw this.abandoned(`writing spool file ${this.localPath} failed (${detail}), so it is not complete`);
  }

  private abandoned(message: string): RetentionError {
    return new RetentionError('ERR_SPOOL_ABANDONED', message);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.spoolError(this.failure);
  }

  private spoolError(cause: unknown): RetentionError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new RetentionError(
      'ERR_SPOOL_WRITE',
      `writing spool file ${this.localPath} failed (${detail}): check free space and permissions of the spool directory`,
      { cause },
    );
  }
}
