import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isPermanentError } from '../../../src/errors.js';
import { probeSftpHostKey } from '../../../src/delivery/probe-sftp-host-key.js';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import { uniqueName } from '../../support/redis.js';
import { startSftpServer, type SftpServer, type SftpServerFacts } from '../../support/sftp-server.js';
import { testDestinations } from '../../support/destinations.js';
import { freshSftpRoot, sftpTargetOptions } from '../../support/sftp-target-fixture.js';
import { describeTargetContract, readAll, rejectionCode } from './target-contract.js';

const shared = inject('sftp');
/** The sshd listens on loopback: the test bed allows it, as an operator would with ALLOWED_PRIVATE_DESTINATIONS. */
const network = testDestinations().network;

const freshRoot = (server: SftpServerFacts): Promise<{ remote: string; local: string }> => freshSftpRoot(server, 'target');

describeTargetContract('SftpTarget', {
  async create() {
    const root = await freshRoot(shared);
    return { target: new SftpTarget(sftpTargetOptions(shared, root.remote)), rootDir: root.local };
  },
  async createWithMissingRoot() {
    const name = uniqueName('missing');
    return { target: new SftpTarget(sftpTargetOptions(shared, `/${name}`)), rootDir: join(shared.root, name) };
  },
});

describe('SftpTarget against the shared sshd', () => {
  let spool: string;
  let small: { path: string; bytes: number };

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'retention-sftp-spool-'));
    small = { path: join(spool, 'small.json'), bytes: 7 };
    await writeFile(small.path, '["abc"]');
  });

  afterAll(async () => {
    await rm(spool, { recursive: true, force: true });
  });

  it('is of kind "sftp" and uses a root relative to the login directory', async () => {
    const root = await freshRoot(shared);
    const target = new SftpTarget(sftpTargetOptions(shared, root.remote.slice(1)));
    try {
      expect(target.kind).toBe('sftp');
      await target.uploadAtomically(small.path, 'rel/x.json', small);
      expect(await readFile(join(root.local, 'rel/x.json'), 'utf8')).toBe('["abc"]');
    } finally {
      await target.close();
    }
  });

  it('refuses a server whose host key is not the pinned one before logging in, naming both fingerprints', async () => {
    const root = await freshRoot(shared);
    const pinned = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const target = new SftpTarget(sftpTargetOptions(shared, root.remote, { hostKeyFingerprint: pinned }));
    try {
      const error = await target.uploadAtomically(small.path, 'acme/x.json', small).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ERR_HOST_KEY_MISMATCH' });
      expect((error as Error).message).toContain(shared.hostKeyFingerprint);
      expect((error as Error).message).toContain(pinned);
      expect(isPermanentError(error)).toBe(true);
      expect(await readdir(root.local)).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('fails with ERR_TARGET_AUTH for a client key the server does not know', async () => {
    const keyDir = await mkdtemp(join(tmpdir(), 'retention-other-key-'));
    try {
      await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'key')]);
      const otherKey = await readFile(join(keyDir, 'key'), 'utf8');
      const root = await freshRoot(shared);
      const target = new SftpTarget(sftpTargetOptions(shared, root.remote, { privateKey: otherKey }));
      const error = await target.uploadAtomically(small.path, 'acme/x.json', small).catch((err: unknown) => err);
      await target.close();
      expect(error).toMatchObject({ code: 'ERR_TARGET_AUTH' });
      expect(isPermanentError(error)).toBe(true);
      expect(await readdir(root.local)).toEqual([]);
    } finally {
      await rm(keyDir, { recursive: true, force: true });
    }
  });

  it('fails with ERR_TARGET_AUTH for a key that cannot be parsed', async () => {
    const target = new SftpTarget(
      sftpTargetOptions(shared, '/', { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n' }),
    );
    expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_AUTH');
    await target.close();
  });

  it('fails with ERR_TARGET_ROOT_MISSING when the root is a file', async () => {
    const root = await freshRoot(shared);
    await writeFile(join(root.local, 'plain-file'), 'x');
    const target = new SftpTarget(sftpTargetOptions(shared, `${root.remote}/plain-file`));
    expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_ROOT_MISSING');
    await target.close();
  });

  it('streams a large file through read()', async () => {
    const root = await freshRoot(shared);
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(root.local, 'big.bin'), bytes);
    const target = new SftpTarget(sftpTargetOptions(shared, root.remote));
    try {
      expect((await readAll(await target.read('big.bin'))).equals(bytes)).toBe(true);
      expect(await target.stat('big.bin')).toEqual({ name: 'big.bin', type: 'file', size: bytes.length });
    } finally {
      await target.close();
    }
  });

  it('refuses calls after close() with ERR_TARGET_CLOSED', async () => {
    const target = new SftpTarget(sftpTargetOptions(shared, '/'));
    await target.list('');
    await target.close();
    expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_CLOSED');
  });
});

describe('SftpTarget settings', () => {
  const base = { host: '127.0.0.1', username: 'u', password: 'p', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` };

  it.each<[string, Partial<SftpTargetOptions>]>([
    ['no fingerprint', { hostKeyFingerprint: '' }],
    ['MD5 fingerprint', { hostKeyFingerprint: 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }],
    ['truncated fingerprint', { hostKeyFingerprint: 'SHA256:abc' }],
    ['hex fingerprint', { hostKeyFingerprint: `SHA256:${'ab'.repeat(32)}` }],
    ['no credentials', { password: undefined }],
    ['empty host', { host: '' }],
    ['empty username', { username: '' }],
    ['port 0', { port: 0 }],
    ['port 70000', { port: 70_000 }],
    ['root with ..', { root: '/upload/../etc' }],
    ['empty root', { root: '' }],
  ])('refuses %s with ERR_TARGET_CONFIG_INVALID', (_label, change) => {
    expect(() => new SftpTarget({ ...base, ...change })).toThrow(expect.objectContaining({ code: 'ERR_TARGET_CONFIG_INVALID' }));
  });
});

describe('SftpTarget against an unreachable or silent server', () => {
  let silent: Server;
  let silentPort: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('fails with the transient ERR_TARGET_UNREACHABLE when nothing listens', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const target = new SftpTarget(sftpTargetOptions({ ...shared, port: closedPort }, '/'));
    const error = await target.list('').catch((err: unknown) => err);
    await target.close();
    expect(error).toMatchObject({ code: 'ERR_TARGET_UNREACHABLE' });
    expect(isPermanentError(error)).toBe(false);
  });

  it('fails with ERR_TARGET_TIMEOUT when the server never completes the handshake', async () => {
    const target = new SftpTarget(sftpTargetOptions({ ...shared, port: silentPort }, '/', { connectTimeoutMs: 300 }));
    const started = Date.now();
    expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3_000);
    await target.close();
  });

  it('probeSftpHostKey returns the fingerprint without logging in, and maps unreachable and silent servers', async () => {
    expect(await probeSftpHostKey({ host: shared.host, port: shared.port, timeoutMs: 5_000, network })).toBe(shared.hostKeyFingerprint);
    expect(await rejectionCode(probeSftpHostKey({ host: '127.0.0.1', port: silentPort, timeoutMs: 300, network }))).toBe('ERR_TARGET_TIMEOUT');
    const refusedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    expect(await rejectionCode(probeSftpHostKey({ host: '127.0.0.1', port: refusedPort, timeoutMs: 2_000, network }))).toBe('ERR_TARGET_UNREACHABLE');
  });
});

describe('SftpTarget when sshd fails (private server)', () => {
  let server: SftpServer;
  let spool: string;

  beforeAll(async () => {
    server = await startSftpServer();
    spool = await mkdtemp(join(tmpdir(), 'retention-sftp-fault-'));
  });

  afterAll(async () => {
    await server?.destroy();
    await rm(spool, { recursive: true, force: true });
  });

  it('sshd killed in the middle of a large upload: transient error, no final file; after restart a retry succeeds and overwrites the stale .part', async () => {
    const bytes = randomBytes(64 * 1024 * 1024);
    const local = join(spool, 'large.bin');
    await writeFile(local, bytes);
    const partOnDisk = join(server.root, 'acme/large.bin.part');
    const finalOnDisk = join(server.root, 'acme/large.bin');

    const target = new SftpTarget(sftpTargetOptions(server, '/'));
    const upload = target.uploadAtomically(local, 'acme/large.bin', { bytes: bytes.length }).catch((err: unknown) => err);
    const deadline = Date.now() + 20_000;
    while (((await stat(partOnDisk).catch(() => undefined))?.size ?? 0) < 1024 * 1024 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await server.kill();
    const error = await upload;
    expect(error).toMatchObject({ code: expect.stringMatching(/^ERR_TARGET_(UNREACHABLE|TIMEOUT)$/) });
    expect(isPermanentError(error)).toBe(false);
    expect(existsSync(finalOnDisk)).toBe(false);
    const stale = await stat(partOnDisk);
    expect(stale.size).toBeGreaterThan(0);
    expect(stale.size).toBeLessThan(bytes.length);

    const closing = Date.now();
    await target.close();
    expect(Date.now() - closing).toBeLessThan(1_500);

    await server.restart();
    const retry = new SftpTarget(sftpTargetOptions(server, '/'));
    try {
      await retry.uploadAtomically(local, 'acme/large.bin', { bytes: bytes.length });
      expect(await retry.list('acme')).toEqual([{ name: 'large.bin', type: 'file', size: bytes.length }]);
    } finally {
      await retry.close();
    }
    expect((await readFile(finalOnDisk)).equals(bytes)).toBe(true);
  }, 60_000);

  it('reconnects on the next call after the connection was lost', async () => {
    const target = new SftpTarget(sftpTargetOptions(server, '/'));
    try {
      await target.list('');
      await server.kill();
      expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_UNREACHABLE');
      await server.restart();
      await expect(target.list('')).resolves.toEqual(expect.any(Array));
    } finally {
      await target.close();
    }
  });

  it('close() returns within its bound when the server was killed', async () => {
    const target = new SftpTarget(sftpTargetOptions(server, '/', { closeTimeoutMs: 500 }));
    await target.list('');
    await server.kill();
    const started = Date.now();
    await target.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await server.restart();
  });

  it('a hung server: the operation fails with ERR_TARGET_TIMEOUT after the no-progress bound, and close() returns within its bound', async () => {
    const target = new SftpTarget(sftpTargetOptions(server, '/', { operationTimeoutMs: 500, closeTimeoutMs: 500 }));
    await target.list('');
    server.pause();
    try {
      const started = Date.now();
      expect(await rejectionCode(target.stat('anything.json'))).toBe('ERR_TARGET_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2_000);
      const closing = Date.now();
      await target.close();
      expect(Date.now() - closing).toBeLessThan(1_000);
    } finally {
      server.resume();
    }
  });

  it('a hung server during close(): close() still returns within its bound', async () => {
    const target = new SftpTarget(sftpTargetOptions(server, '/', { closeTimeoutMs: 400 }));
    await target.list('');
    server.pause();
    try {
      const started = Date.now();
      await target.close();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      server.resume();
    }
  });
});

describe('SftpTarget with password login (throwaway user)', () => {
  let server: SftpServer;
  let spool: string;

  beforeAll(async () => {
    server = await startSftpServer({ password: true });
    spool = await mkdtemp(join(tmpdir(), 'retention-sftp-password-'));
  });

  afterAll(async () => {
    await server?.destroy();
    await rm(spool, { recursive: true, force: true });
  });

  const passwordOptions = (extra: Partial<SftpTargetOptions> = {}): SftpTargetOptions => ({
    host: server.host,
    port: server.port,
    username: server.username,
    password: server.password,
    hostKeyFingerprint: server.hostKeyFingerprint,
    root: '.',
    connectTimeoutMs: 5_000,
    network,
    ...extra,
  });

  it('uploads with a password', async () => {
    const local = join(spool, 'p.json');
    await writeFile(local, '[true]');
    const target = new SftpTarget(passwordOptions());
    try {
      await target.uploadAtomically(local, 'acme/p.json', { bytes: 6 });
    } finally {
      await target.close();
    }
    expect(await readFile(join(server.root, 'acme/p.json'), 'utf8')).toBe('[true]');
  });

  it('fails with ERR_TARGET_AUTH for a wrong password', async () => {
    const target = new SftpTarget(passwordOptions({ password: 'wrong-password' }));
    expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_AUTH');
    await target.close();
  });

  it('fails with ERR_TARGET_PERMISSION where the user may not write (the root-owned chroot top)', async () => {
    const local = join(spool, 'denied.json');
    await writeFile(local, '[]');
    const target = new SftpTarget(passwordOptions({ root: '/' }));
    try {
      const error = await target.uploadAtomically(local, 'denied/x.json', { bytes: 2 }).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ERR_TARGET_PERMISSION' });
      expect(isPermanentError(error)).toBe(true);
      const direct = await target.uploadAtomically(local, 'x.json', { bytes: 2 }).catch((err: unknown) => err);
      expect(direct).toMatchObject({ code: 'ERR_TARGET_PERMISSION' });
    } finally {
      await target.close();
    }
  });
});
