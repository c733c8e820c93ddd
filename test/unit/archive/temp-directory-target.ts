import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Target, TargetEntry, UploadExpectation } from '../../../src/delivery/target.js';

/** A small Target over a temporary directory, for the archive unit tests only. */
export class TempDirectoryTarget implements Target {
  readonly kind = 'temp-directory';

  private constructor(readonly root: string) {}

  static async create(): Promise<TempDirectoryTarget> {
    return new TempDirectoryTarget(await mkdtemp(join(tmpdir(), 'retention-archive-target-')));
  }

  resolve(remotePath: string): string {
    if (remotePath.startsWith('/') || remotePath.split('/').includes('..')) throw new Error(`unsafe path ${remotePath}`);
    return join(this.root, remotePath);
  }

  async uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void> {
    const finalPath = this.resolve(remotePath);
    await mkdir(dirname(finalPath), { recursive: true });
    await copyFile(localPath, `${finalPath}.part`);
    const size = (await stat(`${finalPath}.part`)).size;
    if (size !== expected.bytes) throw new Error(`size ${size} != ${expected.bytes}`);
    await rename(`${finalPath}.part`, finalPath);
  }

  async read(remotePath: string): Promise<Readable> {
    await stat(this.resolve(remotePath));
    return createReadStream(this.resolve(remotePath), { highWaterMark: 4096 });
  }

  async list(remoteDir: string): Promise<TargetEntry[]> {
    const dir = this.resolve(remoteDir);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return Promise.all(
      names.map(async (name) => {
        const info = await stat(join(dir, name));
        return { name, type: info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other', size: info.size } as TargetEntry;
      }),
    );
  }

  async stat(remotePath: string): Promise<TargetEntry | undefined> {
    try {
      const info = await stat(this.resolve(remotePath));
      const name = remotePath.split('/').at(-1) ?? remotePath;
      return { name, type: info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other', size: info.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async remove(remotePath: string): Promise<void> {
    await rm(this.resolve(remotePath), { force: true });
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    if (await this.stat(toPath)) throw Object.assign(new Error(`${toPath} exists`), { code: 'ERR_TARGET_EXISTS' });
    await rename(this.resolve(fromPath), this.resolve(toPath));
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
