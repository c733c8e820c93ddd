import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/**
 * A stream to a new local file (created or truncated) that knows how many bytes have reached it: `committed` grows
 * only once a write has returned, so a reader of the same file (`SpoolFile.follow`) may read up to it and never sees
 * a region still being written. `onCommit` is called after each write and once more when the file is closed.
 *
 * @example
 * const file = new CommittedFileWriter('/spool/x.json', { highWaterMark: 1 << 20, onCommit: () => wake() });
 * file.write(Buffer.from('[]\n'));
 */
export class CommittedFileWriter extends Writable {
  /** Bytes that are in the file, in order from its start. */
  committed = 0;
  private handle: FileHandle | undefined;
  private readonly onCommit: () => void;

  constructor(
    private readonly path: string,
    options: { highWaterMark: number; onCommit: () => void },
  ) {
    super({ highWaterMark: options.highWaterMark });
    this.onCommit = options.onCommit;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'w').then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map(({ chunk }) => chunk)).then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    (handle?.close() ?? Promise.resolve()).then(
      () => {
        this.onCommit();
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    (handle?.close() ?? Promise.resolve()).then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Writes every byte of `buffers` at the end of the file, looping over short writes. */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) throw new Error(`${this.path} is not open`);
    const pending = buffers.filter((buffer) => buffer.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await handle.writev(pending, this.committed);
      if (bytesWritten === 0) throw new Error(`${this.path}: the file system took no bytes of a write`);
      this.committed += bytesWritten;
      this.onCommit();
      let skip = bytesWritten;
      while (pending.length > 0 && skip >= (pending[0]?.length ?? 0)) skip -= pending.shift()?.length ?? 0;
      if (skip > 0 && pending[0] !== undefined) pending[0] = pending[0].subarray(skip);
    }
  }
}
