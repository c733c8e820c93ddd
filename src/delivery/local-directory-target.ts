import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RetentionError } from '../errors.js';
import { resolveLocalTargetDirectory } from './local-target-base.js';
import { assertSpoolFile } from './spool-file.js';
import { PARTIAL_UPLOAD_SUFFIX, parseRemoteDirectory, parseRemotePath } from './remote-path.js';
import type { Target, TargetEntry, UploadExpectation } from './target.js';

export interface LocalDirectoryTargetOptions {
  /** Existing directory that receives the drop. It is never created: a missing root is `ERR_TARGET_ROOT_MISSING`. */
  root: string;
  /** Mode of delivered files (before the umask). Default: `0o644`. */
  fileMode?: number;
  /**
   * The directory `root` must lie in (`LOCAL_TARGET_BASE_DIR`), compared as real paths before every operation, which
   * then works on the real root: a root that leads out of it through `..` or a symbolic link fails with
   * `ERR_LOCAL_TARGET_OUTSIDE_BASE`. Always set for a tenant's settings (`createTarget`); absent for a directory the
   * operator chose (the CLI's `verify`, tests). Default: none.
   */
  baseDirectory?: string;
}

/**
 * A {@link Target} that delivers into a directory on this machine (on-premises installs, the demo, pipeline tests),
 * with the same atomic semantics as the SFTP target: write `<name>.part`, fsync, compare its size, rename over
 * `<name>`, fsync the directory.
 *
 * A failed upload may leave `<name>.part` behind; retrying the same upload truncates and reuses it, so a retried
 * upload leaves no `.part` file. `list` shows `.part` files as they are (an upload in flight or one never retried).
 *
 * @example
 * const target = new LocalDirectoryTarget({ root: '/srv/retention-drop' });
 * await target.uploadAtomically('/spool/chats-1.json', 'acme/2025/01/31/chats/chats-1.json', { bytes: 1234 });
 */
export class LocalDirectoryTarget implements Target {
  readonly kind = 'local';
  private readonly root: string;
  private readonly fileMode: number;
  private readonly baseDirectory: string | undefined;

  constructor(options: LocalDirectoryTargetOptions) {
    if (!options.root) throw new RetentionError('ERR_TARGET_CONFIG_INVALID', 'local directory target needs a root directory');
    this.root = options.root;
    this.fileMode = options.fileMode ?? 0o644;
    this.baseDirectory = options.baseDirectory;
  }

  async uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void> {
    const segments = parseRemotePath(remotePath);
    await assertSpoolFile(localPath);
    const root = await this.openRoot();
    const finalPath = join(root, ...segments);
    const partPath = finalPath + PARTIAL_UPLOAD_SUFFIX;
    const parent = join(root, ...segments.slice(0, -1));
    await this.guard(remotePath, () => mkdir(parent, { recursive: true }));
    await this.guard(remotePath, async () => {
      const handle = await open(partPath, 'w', this.fileMode);
      try {
        for await (const chunk of createReadStream(localPath)) await handle.write(chunk as Buffer);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    const written = (await stat(partPath)).size;
    if (written !== expected.bytes) {
      await unlink(partPath).catch(() => undefined);
      throw new RetentionError(
        'ERR_TARGET_SIZE_MISMATCH',
        `upload of ${remotePath} wrote ${written} bytes but ${expected.bytes} were expected; the partial file was removed, retry the upload (if it repeats, the spool file changed while uploading)`,
      );
    }
    await this.guard(remotePath, async () => {
      await rename(partPath, finalPath);
      const dir = await open(parent, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    });
  }

  async read(remotePath: string): Promise<Readable> {
    const segments = parseRemotePath(remotePath);
    const root = await this.openRoot();
    const handle = await this.guard(remotePath, () => open(join(root, ...segments), 'r'));
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new RetentionError('ERR_TARGET_NOT_FOUND', `${remotePath} is not a file in the local target`);
    }
    return handle.createReadStream();
  }

  async list(remoteDir: string): Promise<TargetEntry[]> {
    const segments = parseRemoteDirectory(remoteDir);
    const root = await this.openRoot();
    const dir = join(root, ...segments);
    const names = await this.guard(remoteDir, async () => {
      try {
        return await readdir(dir);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
        throw err;
      }
    });
    const entries: TargetEntry[] = [];
    for (const name of names.sort()) {
      const entry = await this.entryAt(join(dir, name), name);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  async stat(remotePath: string): Promise<TargetEntry | undefined> {
    const segments = parseRemotePath(remotePath);
    const root = await this.openRoot();
    return this.entryAt(join(root, ...segments), segments[segments.length - 1] ?? remotePath);
  }

  async remove(remotePath: string): Promise<void> {
    const segments = parseRemotePath(remotePath);
    const root = await this.openRoot();
    await this.guard(remotePath, async () => {
      try {
        await unlink(join(root, ...segments));
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    });
  }

  /**
   * Renames a file to a free name: a hard link to the new name (which fails if it exists), then the old name removed;
   * on a file system without hard links, a check for the new name and a rename. An existing `to` fails with
   * `ERR_TARGET_EXISTS`.
   */
  async rename(fromPath: string, toPath: string): Promise<void> {
    const fromSegments = parseRemotePath(fromPath);
    const toSegments = parseRemotePath(toPath);
    const root = await this.openRoot();
    const from = join(root, ...fromSegments);
    const to = join(root, ...toSegments);
    const exists = (): RetentionError =>
      new RetentionError('ERR_TARGET_EXISTS', `${toPath} already exists in the local target, so ${fromPath} was not renamed to it (nothing was replaced)`);
    await this.guard(fromPath, async () => {
      try {
        await link(from, to);
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'EEXIST') throw exists();
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
        if (await this.entryAt(to, toPath)) throw exists();
        await rename(from, to);
        return;
      }
      await unlink(from);
    });
  }

  async close(): Promise<void> {
    // Nothing to release: every operation opens and closes its own files.
  }

  private async entryAt(path: string, name: string): Promise<TargetEntry | undefined> {
    try {
      const info = await lstat(path);
      return { name, type: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other', size: info.size };
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
      throw toTargetError(err, name);
    }
  }

  /** The directory to work in: the root, or with a base its real path once checked to lie in the base. */
  private async openRoot(): Promise<string> {
    const root = this.baseDirectory === undefined ? this.root : await resolveLocalTargetDirectory(this.baseDirectory, this.root);
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new RetentionError(
        'ERR_TARGET_ROOT_MISSING',
        `target root directory ${this.root} does not exist or is not a directory; create it (the target creates only directories below it)`,
      );
    }
    return root;
  }

  private async guard<T>(remotePath: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toTargetError(err, remotePath);
    }
  }
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function toTargetError(err: unknown, remotePath: string): RetentionError {
  if (err instanceof RetentionError) return err;
  const code = errnoOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new RetentionError(
      'ERR_TARGET_PERMISSION',
      `permission denied on ${remotePath} in the local target: ${message}; give the worker write access to the target directory`,
      { cause: err },
    );
  }
  if (code === 'ENOENT') {
    return new RetentionError('ERR_TARGET_NOT_FOUND', `${remotePath} does not exist in the local target`, { cause: err });
  }
  return new RetentionError('ERR_TARGET_IO', `local target failed on ${remotePath}: ${message}; the operation can be retried`, { cause: err });
}
