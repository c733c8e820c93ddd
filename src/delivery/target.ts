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
 * - `read` streams a file; `list` lists a directory (empty array if it does not exist); `stat` returns `undefined`
 *   for a missing path; `remove` deletes a file and ignores a missing one.
 * - Permanent failures (rejected credentials, host-key mismatch, missing root directory, permission denied) are
 *   `RetentionError`s with `ERR_TARGET_AUTH`, `ERR_HOST_KEY_MISMATCH`, `ERR_TARGET_ROOT_MISSING`,
 *   `ERR_TARGET_PERMISSION`; anything else is transient and may be retried.
 * - `close` releases the connection; it never hangs (bounded by a timeout).
 */
export interface Target {
  readonly kind: string;
  uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void>;
  read(remotePath: string): Promise<Readable>;
  list(remoteDir: string): Promise<TargetEntry[]>;
  stat(remotePath: string): Promise<TargetEntry | undefined>;
  remove(remotePath: string): Promise<void>;
  close(): Promise<void>;
}
