import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RetentionError } from '../../../src/errors.js';
import type { Target } from '../../../src/delivery/target.js';

/** A target under test and the local directory its root maps to, so tests can check what really landed. */
export interface TargetUnderTest {
  target: Target;
  /** Local path of the target's root. */
  rootDir: string;
}

/** Builds a fresh target whose root is `rootDir` on this machine (which the factory may need to create), or whose root is missing. */
export interface TargetFactory {
  /** A target over a fresh, empty, existing root. */
  create(): Promise<TargetUnderTest>;
  /** A target whose configured root does not exist (`rootDir` is where it would be on this machine). */
  createWithMissingRoot(): Promise<TargetUnderTest>;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as RetentionError).code;
  }
  throw new Error('expected a rejection');
}

/** Paths every target refuses with ERR_PATH_INVALID. */
export const BAD_PATHS: ReadonlyArray<[string, string]> = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent segment', '../escape.json'],
  ['parent segment inside', 'acme/../../escape.json'],
  ['dot segment', 'acme/./x.json'],
  ['empty segment', 'acme//x.json'],
  ['trailing slash', 'acme/x/'],
  ['backslash', 'acme\\x.json'],
  ['windows parent', '..\\escape.json'],
  ['NUL', 'acme/x\u0000.json'],
  ['newline', 'acme/x\n.json'],
];

/**
 * The {@link Target} contract, run against every implementation: atomic upload with size check, overwrite,
 * idempotence, stale `.part` reuse, read/list/stat/remove/rename semantics, path safety and a missing root.
 */
export function describeTargetContract(name: string, factory: TargetFactory): void {
  describe(`${name}: Target contract`, () => {
    let spool: string;
    let target: Target;
    let rootDir: string;

    const spoolFile = async (fileName: string, content: string | Buffer): Promise<{ path: string; bytes: number }> => {
      const path = join(spool, fileName);
      await writeFile(path, content);
      return { path, bytes: Buffer.byteLength(content) };
    };

    beforeAll(async () => {
      spool = await mkdtemp(join(tmpdir(), 'retention-spool-'));
    });

    afterAll(async () => {
      await rm(spool, { recursive: true, force: true });
    });

    beforeEach(async () => {
      ({ target, rootDir } = await factory.create());
    });

    afterEach(async () => {
      await target.close();
    });

    it('uploads atomically into new nested directories and reads the same bytes back', async () => {
      const file = await spoolFile('chats.json', JSON.stringify([{ id: 'c1', text: 'héllo' }]));
      await target.uploadAtomically(file.path, 'acme/2025/01/31/chats/chats-1.json', { bytes: file.bytes });

      expect(await readFile(join(rootDir, 'acme/2025/01/31/chats/chats-1.json'))).toEqual(await readFile(file.path));
      expect(await readAll(await target.read('acme/2025/01/31/chats/chats-1.json'))).toEqual(await readFile(file.path));
      expect(await target.stat('acme/2025/01/31/chats/chats-1.json')).toEqual({ name: 'chats-1.json', type: 'file', size: file.bytes });
      expect(await target.list('acme/2025/01/31/chats')).toEqual([{ name: 'chats-1.json', type: 'file', size: file.bytes }]);
    });

    it('replaces an existing file and leaves no .part behind', async () => {
      const first = await spoolFile('v1.json', '[1,2,3]');
      const second = await spoolFile('v2.json', '[4,5,6,7,8,9,10]');
      await target.uploadAtomically(first.path, 'acme/file.json', first);
      await target.uploadAtomically(second.path, 'acme/file.json', second);

      expect(await readFile(join(rootDir, 'acme/file.json'), 'utf8')).toBe('[4,5,6,7,8,9,10]');
      expect(await readdir(join(rootDir, 'acme'))).toEqual(['file.json']);
    });

    it('running the same upload twice leaves the same end state', async () => {
      const file = await spoolFile('same.json', '{"same":true}');
      await target.uploadAtomically(file.path, 'acme/same.json', file);
      await target.uploadAtomically(file.path, 'acme/same.json', file);
      expect(await target.list('acme')).toEqual([{ name: 'same.json', type: 'file', size: file.bytes }]);
    });

    it('overwrites a stale .part left by a failed attempt (longer than the new content) and renames it away', async () => {
      await mkdir(join(rootDir, 'acme'), { recursive: true });
      await writeFile(join(rootDir, 'acme/retry.json.part'), Buffer.alloc(10_000, 0x78));
      const file = await spoolFile('retry.json', '["ok"]');
      await target.uploadAtomically(file.path, 'acme/retry.json', file);
      expect(await readFile(join(rootDir, 'acme/retry.json'), 'utf8')).toBe('["ok"]');
      expect((await target.list('acme')).map((entry) => entry.name)).toEqual(['retry.json']);
    });

    it('detects a size mismatch: fails with ERR_TARGET_SIZE_MISMATCH, removes the part, never writes the final name', async () => {
      const file = await spoolFile('short.json', '[1]');
      expect(await rejectionCode(target.uploadAtomically(file.path, 'acme/short.json', { bytes: file.bytes + 1 }))).toBe('ERR_TARGET_SIZE_MISMATCH');
      expect(existsSync(join(rootDir, 'acme/short.json'))).toBe(false);
      expect(existsSync(join(rootDir, 'acme/short.json.part'))).toBe(false);
    });

    it('keeps the previous version when a replacement fails its size check', async () => {
      const good = await spoolFile('good.json', '"good"');
      await target.uploadAtomically(good.path, 'acme/keep.json', good);
      const bad = await spoolFile('bad.json', '"bad, longer"');
      expect(await rejectionCode(target.uploadAtomically(bad.path, 'acme/keep.json', { bytes: 3 }))).toBe('ERR_TARGET_SIZE_MISMATCH');
      expect(await readFile(join(rootDir, 'acme/keep.json'), 'utf8')).toBe('"good"');
    });

    it('fails with ERR_SPOOL_FILE_MISSING when the local file is gone', async () => {
      expect(await rejectionCode(target.uploadAtomically(join(spool, 'nope.json'), 'acme/nope.json', { bytes: 1 }))).toBe('ERR_SPOOL_FILE_MISSING');
    });

    it('lists a missing directory as empty, the root with "" or ".", and tells files from directories', async () => {
      expect(await target.list('no/such/dir')).toEqual([]);
      const file = await spoolFile('x.json', '[]');
      await target.uploadAtomically(file.path, 'b/x.json', file);
      await target.uploadAtomically(file.path, 'a.json', file);
      const root = await target.list('');
      expect(root.map(({ name, type }) => ({ name, type }))).toEqual([
        { name: 'a.json', type: 'file' },
        { name: 'b', type: 'directory' },
      ]);
      expect(await target.list('.')).toEqual(root);
    });

    it('stats a missing path as undefined and a directory as a directory', async () => {
      expect(await target.stat('missing.json')).toBeUndefined();
      expect(await target.stat('missing/deeper.json')).toBeUndefined();
      const file = await spoolFile('d.json', '[]');
      await target.uploadAtomically(file.path, 'dir/d.json', file);
      expect(await target.stat('dir')).toMatchObject({ name: 'dir', type: 'directory' });
    });

    it('fails to read a missing file or a directory with ERR_TARGET_NOT_FOUND', async () => {
      expect(await rejectionCode(target.read('missing.json'))).toBe('ERR_TARGET_NOT_FOUND');
      await mkdir(join(rootDir, 'a-directory'));
      expect(await rejectionCode(target.read('a-directory'))).toBe('ERR_TARGET_NOT_FOUND');
    });

    it('removes a file and ignores a missing one', async () => {
      const file = await spoolFile('r.json', '[]');
      await target.uploadAtomically(file.path, 'acme/r.json', file);
      await target.remove('acme/r.json');
      expect(existsSync(join(rootDir, 'acme/r.json'))).toBe(false);
      await expect(target.remove('acme/r.json')).resolves.toBeUndefined();
      await expect(target.remove('never/was.json')).resolves.toBeUndefined();
    });

    it('renames a file to a free name, never over an existing one (ERR_TARGET_EXISTS), and a missing one is ERR_TARGET_NOT_FOUND', async () => {
      const first = await spoolFile('one.json', '"one"');
      const second = await spoolFile('two.json', '"two"');
      await target.uploadAtomically(first.path, 'acme/one.json', first);
      await target.uploadAtomically(second.path, 'acme/two.json', second);
      await target.rename('acme/one.json', 'acme/one.json.replaced-20261123T170000Z-0a1b2c3d');
      expect((await target.list('acme')).map((entry) => entry.name)).toEqual(['one.json.replaced-20261123T170000Z-0a1b2c3d', 'two.json']);
      expect(await rejectionCode(target.rename('acme/one.json.replaced-20261123T170000Z-0a1b2c3d', 'acme/two.json'))).toBe('ERR_TARGET_EXISTS');
      expect(await readFile(join(rootDir, 'acme/two.json'), 'utf8')).toBe('"two"');
      expect(await rejectionCode(target.rename('acme/none.json', 'acme/other.json'))).toBe('ERR_TARGET_NOT_FOUND');
      await target.rename('acme/one.json.replaced-20261123T170000Z-0a1b2c3d', 'acme/one.json');
      expect(await readFile(join(rootDir, 'acme/one.json'), 'utf8')).toBe('"one"');
      expect(await rejectionCode(target.rename('../x.json', 'acme/y.json'))).toBe('ERR_PATH_INVALID');
      expect(await rejectionCode(target.rename('acme/one.json', '/etc/y.json'))).toBe('ERR_PATH_INVALID');
    });

    it('runs calls issued at the same time one after the other, all succeeding', async () => {
      const files = await Promise.all([0, 1, 2, 3, 4].map((n) => spoolFile(`p${n}.json`, `[${n}]`.repeat(n + 1))));
      await Promise.all(files.map((file, n) => target.uploadAtomically(file.path, `acme/parallel/p${n}.json`, file)));
      const [listing, ...stats] = await Promise.all([target.list('acme/parallel'), ...files.map((_, n) => target.stat(`acme/parallel/p${n}.json`))]);
      expect(listing?.map((entry) => entry.name)).toEqual(['p0.json', 'p1.json', 'p2.json', 'p3.json', 'p4.json']);
      expect(stats.map((entry) => entry?.size)).toEqual(files.map((file) => file.bytes));
    });

    it.each(BAD_PATHS)('refuses a bad path (%s) with ERR_PATH_INVALID everywhere and writes nothing', async (_label, badPath) => {
      const file = await spoolFile('ok.json', '[]');
      expect(await rejectionCode(target.uploadAtomically(file.path, badPath, file))).toBe('ERR_PATH_INVALID');
      expect(await rejectionCode(target.read(badPath))).toBe('ERR_PATH_INVALID');
      expect(await rejectionCode(target.stat(badPath))).toBe('ERR_PATH_INVALID');
      expect(await rejectionCode(target.remove(badPath))).toBe('ERR_PATH_INVALID');
      if (badPath !== '') expect(await rejectionCode(target.list(badPath))).toBe('ERR_PATH_INVALID');
      expect(await readdir(rootDir)).toEqual([]);
    });

    it('fails with ERR_TARGET_ROOT_MISSING when the root does not exist, and creates nothing', async () => {
      const { target: missing, rootDir: missingDir } = await factory.createWithMissingRoot();
      try {
        const file = await spoolFile('m.json', '[]');
        expect(await rejectionCode(missing.uploadAtomically(file.path, 'acme/m.json', file))).toBe('ERR_TARGET_ROOT_MISSING');
        expect(await rejectionCode(missing.list(''))).toBe('ERR_TARGET_ROOT_MISSING');
        expect(existsSync(missingDir)).toBe(false);
      } finally {
        await missing.close();
      }
    });

    it('close() can be called twice', async () => {
      await target.close();
      await expect(target.close()).resolves.toBeUndefined();
    });
  });
}
