import type { Readable } from 'node:stream';

/** One entry of a remote directory listing. */
export interface TargetEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
}

/** What the uploader knows about a spool file, checked against the remote copy before it gets its final name. */
export interface UploadExpectation {
  /** Exact byte count of the file. */
  bytes: number;
}

/** A local file still being written, for {@link Target.uploadGrowing} (a spool file's `follow()` and completion). */
export interface GrowingFile {
  /** The file's bytes from its start, as they are written; ends at its last byte; fails if the file is abandoned. */
  bytes: AsyncIterable<Buffer>;
  /** Settles once the file is complete, with what its remote copy is checked against; rejects if it is abandoned. */
  complete: Promise<UploadExpectation>;
}

/**
 * The port every delivery target implements (`sftp` for the customer's server, `local` for a directory on this
 * machine: on-premises installs and the demo).
 *
 * Paths are POSIX, relative to the target's configured root, already validated by the drop layout
 * (`src/archive/drop-layout.ts`); a target refuses an absolute path or one with `..` segments all the same.
 *
 * Contract:
 * - `uploadAtomically(local, remote)` writes `<remote>.part`, checks its size against `expected.bytes`, then renames it
 *   to `<remote>` replacing any existing file, creating parent directories as needed. A reader never sees a partial
 *   file under the final name. Running it twice with the same bytes leaves the same end state.
 *   Replacing never deletes the only copy: where the server cannot rename over a file atomically, the delivered file
 *   is first renamed aside to its recovery name (`<name>.replaced-<stamp>-<token>`, see
 *   `src/delivery/recovery-names.ts`), so at every instant it exists under its name or under its recovery name.
 * - `uploadGrowing(file, remote)`, where a target has it, is `uploadAtomically` of a file still being written: bytes
 *   are sent as they are written, and the `.part` is checked and renamed only once `file.complete` says the file is
 *   whole. A file abandoned before it is complete fails the upload with the file's error and leaves no `.part`; the
 *   final name is untouched. Waiting for the next local bytes never counts as the server's lack of progress.
 * - `read` streams a file; `list` lists a directory (empty array if it does not exist); `stat` returns `undefined`
 *   for a missing path; `remove` deletes a file and ignores a missing one.
 * - `rename(from, to)` gives a file a name that is free: it never replaces an existing file (`ERR_TARGET_EXISTS`), and a
 *   missing `from` is `ERR_TARGET_NOT_FOUND`. Used to put a recovery copy back.
 * - Permanent failures (rejected credentials, host-key mismatch, missing root directory, permission denied, a
 *   read-only file system) are `RetentionError`s with `ERR_TARGET_AUTH`, `ERR_HOST_KEY_MISMATCH`,
 *   `ERR_TARGET_ROOT_MISSING`, `ERR_TARGET_PERMISSION`, `ERR_TARGET_READ_ONLY`; anything else is transient and may be
 *   retried (`ERR_TARGET_DISK_FULL` too: space may be freed).
 * - `prepare`, where a target has one, opens its connection ahead of the first operation, so that connecting overlaps
 *   the caller's own work (reading and encoding the first file). It never rejects: a failure leaves no connection
 *   open and is thrown by the next operation with the code that operation would have given (`ERR_TARGET_AUTH`,
 *   `ERR_HOST_KEY_MISMATCH`, …); later operations connect again. Callers that limit connections per host call it
 *   under the same limit as the operations.
 * - `close` releases the connection, and stops one still being opened; it never hangs (bounded by a timeout).
 */
export interface Target {
  readonly kind: string;
  prepare?(): Promise<void>;
  uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void>;
  uploadGrowing?(file: GrowingFile, remotePath: string): Promise<void>;
  read(remotePath: string): Promise<Readable>;
  list(remoteDir: string): Promise<TargetEntry[]>;
  stat(remotePath: string): Promise<TargetEntry | undefined>;
  remove(remotePath: string): Promise<void>;
  rename(fromPath: string, toPath: string): Promise<void>;
  close(): Promise<void>;
}
