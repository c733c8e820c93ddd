import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanentError } from '../../../src/errors.js';
import type { SftpTarget } from '../../../src/delivery/sftp-target.js';
import { peerTarget } from '../../support/sftp-peers/peer-target.js';
import { uniqueName } from '../../support/redis.js';
import { SFTP_PEERS } from '../../support/sftp-peers/peer-matrix.js';
import type { SftpPeer } from '../../support/sftp-peers/sftp-peer.js';

/**
 * Issue 11 point 5 on real servers: a full disk and a read-only file system, each a tiny tmpfs mounted below the
 * peer's root (the tests run as root; `mount -t tmpfs` works in the test bed). Every server answers the failing
 * request with the reasonless status 4; the target explains it with `statvfs@openssh.com`.
 */

const execFileAsync = promisify(execFile);
const PEERS = SFTP_PEERS.filter((definition) => ['openssh-ed25519-key', 'proftpd', 'gesftpserver'].includes(definition.id));

describe.each(PEERS.map((definition) => [definition.id, definition] as const))('%s: writes the server refuses', (_id, definition) => {
  let peer: SftpPeer;
  let spool: string;
  let large: { path: string; bytes: number };

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'retention-refusal-spool-'));
    large = { path: join(spool, 'large.json'), bytes: 512 * 1024 };
    await writeFile(large.path, randomBytes(large.bytes));
    peer = await definition.start();
  });

  afterAll(async () => {
    await peer?.destroy();
    if (spool) await rm(spool, { recursive: true, force: true });
  });

  /** Mounts a 64 KiB tmpfs at a fresh directory below the peer's root (owned like the root), runs `body`, unmounts. */
  const withTmpfs = async (options: string, body: (target: SftpTarget, localDir: string) => Promise<void>): Promise<void> => {
    const name = uniqueName('tmpfs');
    const localDir = join(peer.localRoot, name);
    await mkdir(localDir);
    const owner = await stat(peer.localRoot);
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=64k,mode=0755,uid=${owner.uid},gid=${owner.gid}${options}`, 'tmpfs', localDir]);
    const target = peerTarget(peer, name);
    try {
      await body(target, localDir);
    } finally {
      await target.close();
      await execFileAsync('umount', [localDir]).catch(() => execFileAsync('umount', ['-l', localDir]));
      await rmdir(localDir);
    }
  };

  it('a full disk: ERR_TARGET_DISK_FULL (transient) saying the disk or quota is full and how much is free, the partial file removed', async () => {
    await withTmpfs('', async (target, localDir) => {
      const error = await target.uploadAtomically(large.path, 'acme/large.json', large).then(
        () => undefined,
        (err: unknown) => err as Error & { code: string },
      );
      expect(error).toMatchObject({ code: 'ERR_TARGET_DISK_FULL' });
      expect(error?.message).toMatch(/disk is full \(statvfs@openssh\.com: .* free for this user/);
      expect(error?.message).toMatch(/after storing [1-9]\d* of 524288 bytes/);
      expect(error?.message).toContain("raise the SFTP user's quota");
      expect(error?.message).not.toMatch(/will be retried/);
      expect(isPermanentError(error)).toBe(false);
      expect(await readdir(join(localDir, 'acme'))).toEqual([]);

      const small = join(spool, `${uniqueName('small')}.json`);
      await writeFile(small, '["fits"]');
      await target.uploadAtomically(small, 'acme/small.json', { bytes: 8 });
      expect(await readdir(join(localDir, 'acme'))).toEqual(['small.json']);
    });
  });

  it('a read-only file system (answered with "Failure" only): the permanent ERR_TARGET_READ_ONLY, saying so', async () => {
    await withTmpfs(',ro', async (target) => {
      const small = join(spool, `${uniqueName('small')}.json`);
      await writeFile(small, '[]');
      const error = await target.uploadAtomically(small, 'acme/x.json', { bytes: 2 }).then(
        () => undefined,
        (err: unknown) => err as Error & { code: string },
      );
      expect(error).toMatchObject({ code: 'ERR_TARGET_READ_ONLY' });
      expect(error?.message).toMatch(/is read-only \(statvfs@openssh\.com says so\)/);
      expect(isPermanentError(error)).toBe(true);
    });
  });
});
