import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RetentionError } from '../errors.js';

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
 * One local file being written as a stream of text: optionally gzipped, and measured (byte count and SHA-256 of
 * exactly what lands on disk) while it streams. Memory stays bounded: text is batched up to `batchBytes`, and
 * `write` waits for `drain` when the stream is full.
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
  private pending: string[] = [];
  private pendingBytes = 0;
  private failure: unknown;
  private finished = false;

  constructor(localPath: string, options: SpoolFileOptions = {}) {
    this.localPath = localPath;
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    const measure = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.diskBytes += chunk.length;
        callback(null, chunk);
      },
    });
    const file = createWriteStream(localPath, { flags: 'w' });
    if (options.gzip === true) {
      const gzip = createGzip({ level: options.gzipLevel ?? 6 });
      this.head = gzip;
      this.done = pipeline(gzip, measure, file);
    } else {
      this.head = measure;
      this.done = pipeline(measure, file);
    }
    this.done.catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  /** Appends text (UTF-8). Resolves once the text is buffered within limits. */
  async write(text: string): Promise<void> {
    this.throwIfFailed();
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= this.batchBytes) await this.flushPending();
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
    return { bytes: this.diskBytes, sha256: this.hash.digest('hex') };
  }

  /** Stops writing and deletes the partial file. Never throws. */
  async abort(): Promise<void> {
    this.finished = true;
    this.head.destroy();
    await this.done.catch(() => undefined);
    await rm(this.localPath, { force: true }).catch(() => undefined);
  }

  private async flushPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.head.write(chunk)) {
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
