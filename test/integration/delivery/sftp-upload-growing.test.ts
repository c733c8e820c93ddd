import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SpoolFile } from '../../../src/archive/spool-file.js';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import type { GrowingFile } from '../../../src/delivery/target.js';
import { uniqueName } from '../../support/redis.js';
import { startSftpServer, type SftpServer, type SftpServerFacts } from '../../support/sftp-server.js';
import { freshSftpRoot, sftpTargetOptions } from '../../support/sftp-target-fixture.js';

/** A record file uploaded while it is still being written (`uploadGrowing`), against the shared real sshd. */
const shared = inject('sftp');

function options(root: string, extra: Partial<SftpTargetOptions> = {}, server: SftpServerFacts = shared): SftpTargetOptions {
  return sftpTargetOptions(server, root, extra);
}

const freshRoot = (): Promise<{ remote: string; local: string }> => freshSftpRoot(shared, 'growing');

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once `path` exists, polling for up to `ms`. */
async function appears(path: string, ms = 5_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await pause(20)) {
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/** The spool file as a growing file: its follower and the expectation its finish gives. */
function growing(file: SpoolFile, finished: Promise<{ bytes: number }>): GrowingFile {
  return { bytes: file.follow(), complete: finished.then(({ bytes }) => ({ bytes })) };
}

/** A deferred promise, so a test decides when (and how) the file is complete. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

describe('SftpTarget.uploadGrowing', () => {
  let spool: string;
  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'retention-growing-spool-'));
  });
  afterAll(async () => {
    await rm(spool, { recursive: true, force: true });
  });

  it('sends the bytes while the file is written, keeps them under .part until it is complete, then renames it into place', async () => {
    const root = await freshRoot();
    const target = new SftpTarget(options(root.remote));
    const file = new SpoolFile(join(spool, uniqueName('calls')), { batchBytes: 64 * 1024 });
    const finished = deferred<{ bytes: number }>();
    const finalPath = join(root.local, 'acme/calls.json');
    try {
      const uploading = target.uploadGrowing(growing(file, finished.promise), 'acme/calls.json');
      uploading.catch(() => undefined);
      const written: Buffer[] = [];
      const first = randomBytes(300 * 1024);
      written.push(first);
      await file.write(first.toString('base64'));
      await file.flush();
      // The first bytes are on the server before the file is complete, under the .part name only.
      expect(await appears(`${finalPath}.part`)).toBe(true);
      for (const at = Date.now(); Date.now() - at < 5_000 && (await stat(`${finalPath}.part`)).size === 0;) await pause(20);
      expect((await stat(`${finalPath}.part`)).size).toBeGreaterThan(0);
      expect(await stat(finalPath).catch(() => undefined)).toBeUndefined();
      for (let round = 0; round < 4; round += 1) {
        const more = randomBytes(200 * 1024 + round);
        written.push(more);
        await file.write(more.toString('base64'));
        await pause(30);
      }
      finished.resolve(await file.finish());
      await uploading;
      const local = await readFile(file.localPath);
      expect((await readFile(finalPath)).equals(local)).toBe(true);
      expect(local.toString('utf8')).toBe(written.map((piece) => piece.toString('base64')).join(''));
      expect(await readdir(join(root.local, 'acme'))).toEqual(['calls.json']);
    } finally {
      await target.close();
    }
  });

  it('waits for local bytes longer than the no-progress bound without timing out', async () => {
    const root = await freshRoot();
    const target = new SftpTarget(options(root.remote, { operationTimeoutMs: 300 }));
    const file = new SpoolFile(join(spool, uniqueName('slow')), { batchBytes: 16 });
    const finished = deferred<{ bytes: number }>();
    try {
      const uploading = target.uploadGrowing(growing(file, finished.promise), 'acme/slow.ndjson');
      uploading.catch(() => undefined);
      for (let line = 0; line < 3; line += 1) {
        await file.write(`{"id":"call-${line}","note":"a slow source takes its time"}\n`);
        await file.flush();
        await pause(800);
      }
      finished.resolve(await file.finish());
      await uploading;
      expect(await readFile(join(root.local, 'acme/slow.ndjson'))).toEqual(await readFile(file.localPath));
    } finally {
      await target.close();
    }
  });

  it('a file abandoned while it uploads: fails with ERR_SPOOL_ABANDONED, removes the .part and leaves the delivered file as it was', async () => {
    const root = await freshRoot();
    await mkdir(join(root.local, 'acme'));
    await writeFile(join(root.local, 'acme/calls.json'), 'delivered earlier');
    const target = new SftpTarget(options(root.remote));
    const file = new SpoolFile(join(spool, uniqueName('abandoned')), { batchBytes: 16 });
    const finished = deferred<{ bytes: number }>();
    try {
      const uploading = target.uploadGrowing(growing(file, finished.promise), 'acme/calls.json');
      uploading.catch(() => undefined);
      await file.write('x'.repeat(100 * 1024));
      await file.flush();
      expect(await appears(join(root.local, 'acme/calls.json.part'))).toBe(true);
      await file.abort();
      finished.reject(new Error('the source failed'));
      await expect(uploading).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED' });
      expect(await readdir(join(root.local, 'acme'))).toEqual(['calls.json']);
      expect(await readFile(join(root.local, 'acme/calls.json'), 'utf8')).toBe('delivered earlier');
    } finally {
      await target.close();
    }
  });

  it('a file that is complete but said to be a different size: ERR_TARGET_SIZE_MISMATCH, nothing under the final name', async () => {
    const root = await freshRoot();
    const target = new SftpTarget(options(root.remote));
    const file = new SpoolFile(join(spool, uniqueName('mismatch')));
    try {
      await file.write('["abc"]');
      const finishing = file.finish();
      const error = await target
        .uploadGrowing({ bytes: file.follow(), complete: finishing.then(({ bytes }) => ({ bytes: bytes + 1 })) }, 'acme/x.json')
        .catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ERR_TARGET_SIZE_MISMATCH' });
      expect(await readdir(join(root.local, 'acme'))).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('refuses an unsafe remote path before it connects or reads the file', async () => {
    const target = new SftpTarget(options('/'));
    let pulled = false;
    async function* bytes(): AsyncGenerator<Buffer> {
      pulled = true;
      yield Buffer.from('x');
    }
    try {
      const error = await target.uploadGrowing({ bytes: bytes(), complete: Promise.resolve({ bytes: 1 }) }, '../escape.json').catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ERR_PATH_INVALID' });
      expect(pulled).toBe(false);
    } finally {
      await target.close();
    }
  });
});

describe('SftpTarget.uploadGrowing against a server that stalls', () => {
  let server: SftpServer;
  let spool: string;
  beforeAll(async () => {
    server = await startSftpServer();
    spool = await mkdtemp(join(tmpdir(), 'retention-growing-stall-'));
  });
  afterAll(async () => {
    await server?.destroy();
    await rm(spool, { recursive: true, force: true });
  });

  it('fails with ERR_TARGET_TIMEOUT within its bound while the file keeps being written, and renames nothing', async () => {
    const target = new SftpTarget(options('/', { operationTimeoutMs: 500, closeTimeoutMs: 500 }, server));
    const file = new SpoolFile(join(spool, 'stalled.json'), { batchBytes: 16 * 1024 });
    const finished = deferred<{ bytes: number }>();
    const partPath = join(server.root, 'acme/stalled.json.part');
    try {
      const uploading = target.uploadGrowing(growing(file, finished.promise), 'acme/stalled.json').catch((err: unknown) => err);
      await file.write('a'.repeat(64 * 1024));
      expect(await appears(partPath)).toBe(true);
      server.pause();
      const stalled = Date.now();
      // The encoder never waits for the upload: the spool file takes megabytes while the server is stopped.
      for (let round = 0; round < 32; round += 1) await file.write('b'.repeat(128 * 1024));
      finished.resolve(await file.finish());
      expect(await uploading).toMatchObject({ code: 'ERR_TARGET_TIMEOUT' });
      expect(Date.now() - stalled).toBeLessThan(3_000);
    } finally {
      server.resume();
      await target.close();
    }
    expect(await stat(join(server.root, 'acme/stalled.json')).catch(() => undefined)).toBeUndefined();
    expect((await stat(file.localPath)).size).toBe(64 * 1024 + 32 * 128 * 1024);
  });
});
