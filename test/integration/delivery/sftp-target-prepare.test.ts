import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import { freshSftpRoot, sftpTargetOptions } from '../../support/sftp-target-fixture.js';
import { uniqueName } from '../../support/redis.js';
import type { SftpServerFacts } from '../../support/sftp-server.js';
import { rejectionCode } from './target-contract.js';

const shared = inject('sftp');
type WriteCallback = (err: Error | undefined) => void;
type SftpWrite = (handle: Buffer, buffer: Buffer, offset: number, length: number, position: number, callback: WriteCallback) => void;
/** ssh2's SFTP session class (the one ssh2-sftp-client uses), whose write requests the upload test watches. */
const { SFTP } = createRequire(import.meta.url)('ssh2/lib/protocol/SFTP.js') as { SFTP: { prototype: { write: SftpWrite } } };

/** A TCP relay in front of a server that counts the connections through it and how many are still open. */
interface Relay {
  port: number;
  accepted: number;
  open(): number;
  /** Resolves once no connection through the relay is open. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

async function startRelay(to: { host: string; port: number } | undefined): Promise<Relay> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (to === undefined) {
      socket.resume();
      return;
    }
    const upstream = connect(to.port, to.host);
    upstream.on('error', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    open: () => sockets.size,
    drained: () => vi.waitFor(() => expect(sockets.size).toBe(0), { timeout: 3_000 }).then(() => undefined),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function optionsThrough(relay: Relay, server: SftpServerFacts, root: string, extra: Partial<SftpTargetOptions> = {}): SftpTargetOptions {
  return sftpTargetOptions(server, root, { host: '127.0.0.1', port: relay.port, ...extra });
}

const freshRoot = (server: SftpServerFacts): Promise<{ remote: string; local: string }> => freshSftpRoot(server, 'prepare');

describe('SftpTarget.prepare', () => {
  let relay: Relay;
  let spool: string;
  let small: { path: string; bytes: number };
  const targets: SftpTarget[] = [];
  const track = (target: SftpTarget): SftpTarget => {
    targets.push(target);
    return target;
  };

  beforeAll(async () => {
    relay = await startRelay({ host: shared.host, port: shared.port });
    spool = await mkdtemp(join(tmpdir(), 'retention-sftp-prepare-'));
    small = { path: join(spool, 'small.json'), bytes: 7 };
    await writeFile(small.path, '["abc"]');
  });

  afterEach(async () => {
    await Promise.all(targets.splice(0).map((target) => target.close()));
    await relay.drained();
  });

  afterAll(async () => {
    await relay.close();
    await rm(spool, { recursive: true, force: true });
  });

  it('opens the connection before the first operation, which then uses it', async () => {
    const root = await freshRoot(shared);
    const target = track(new SftpTarget(optionsThrough(relay, shared, root.remote)));
    const before = relay.accepted;
    await target.prepare();
    expect(relay.accepted - before).toBe(1);
    expect(relay.open()).toBe(1);
    await target.uploadAtomically(small.path, 'acme/x.json', small);
    await target.prepare();
    expect(relay.accepted - before).toBe(1);
    expect(await readFile(join(root.local, 'acme/x.json'), 'utf8')).toBe('["abc"]');
  });

  it.each<[string, () => Promise<Partial<SftpTargetOptions> & { root?: string }>, string]>([
    [
      'a host key that is not the pinned one',
      async () => ({ hostKeyFingerprint: `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}` }),
      'ERR_HOST_KEY_MISMATCH',
    ],
    [
      'a client key the server does not know',
      async () => {
        const keyDir = await mkdtemp(join(tmpdir(), 'retention-prepare-key-'));
        await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'key')]);
        const privateKey = await readFile(join(keyDir, 'key'), 'utf8');
        await rm(keyDir, { recursive: true, force: true });
        return { privateKey };
      },
      'ERR_TARGET_AUTH',
    ],
    ['a missing root directory', async () => ({ root: `/${uniqueName('missing')}` }), 'ERR_TARGET_ROOT_MISSING'],
  ])('with %s: never rejects, leaves no connection open, and the first operation fails with its code', async (_label, change, code) => {
    const root = await freshRoot(shared);
    const extra = await change();
    const target = track(new SftpTarget(optionsThrough(relay, shared, root.remote, extra)));
    const before = relay.accepted;
    await expect(target.prepare()).resolves.toBeUndefined();
    expect(relay.accepted - before).toBeGreaterThanOrEqual(1);
    await relay.drained();
    const accepted = relay.accepted;
    expect(await rejectionCode(target.uploadAtomically(small.path, 'acme/x.json', small))).toBe(code);
    expect(relay.accepted).toBe(accepted);
    expect(await readdir(root.local)).toEqual([]);
    expect(await rejectionCode(target.list(''))).toBe(code);
    expect(relay.accepted).toBeGreaterThan(accepted);
  });

  it('a close() during the warm-up stops the handshake at once and leaves nothing open', async () => {
    const silent = await startRelay(undefined);
    try {
      const target = new SftpTarget(optionsThrough(silent, shared, '/', { connectTimeoutMs: 10_000 }));
      const started = Date.now();
      const prepared = target.prepare();
      await vi.waitFor(() => expect(silent.accepted).toBe(1));
      await target.close();
      await prepared;
      expect(Date.now() - started).toBeLessThan(3_000);
      await silent.drained();
      expect(await rejectionCode(target.list(''))).toBe('ERR_TARGET_CLOSED');
    } finally {
      await silent.close();
    }
  });
});

describe('SftpTarget uploads', () => {
  let spool: string;

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'retention-sftp-writes-'));
  });

  afterAll(async () => {
    await rm(spool, { recursive: true, force: true });
  });

  it('sends write requests of at most the server’s write length, several in flight', async () => {
    const root = await freshRoot(shared);
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const local = join(spool, 'big.bin');
    await writeFile(local, bytes);
    const relay = await startRelay({ host: shared.host, port: shared.port });
    const target = new SftpTarget(optionsThrough(relay, shared, root.remote));
    const requests: { length: number; limit: number }[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const write = SFTP.prototype.write;
    vi.spyOn(SFTP.prototype, 'write').mockImplementation(function (this: { _maxWriteLen: number }, handle, buffer, offset, length, position, callback) {
      requests.push({ length, limit: this._maxWriteLen });
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      write.call(this, handle, buffer, offset, length, position, (err) => {
        inFlight -= 1;
        callback(err);
      });
    });
    try {
      await target.uploadAtomically(local, 'big/big.bin', { bytes: bytes.length });
    } finally {
      await target.close();
      await relay.close();
    }
    expect((await readFile(join(root.local, 'big/big.bin'))).equals(bytes)).toBe(true);
    expect(requests.length).toBeGreaterThan(10);
    for (const request of requests) expect(request.length).toBeLessThanOrEqual(request.limit);
    expect(requests.reduce((sum, request) => sum + request.length, 0)).toBe(bytes.length);
    expect(mostInFlight).toBeGreaterThanOrEqual(3);
  });
});
