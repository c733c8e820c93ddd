import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSftpServer, type SftpServer, type SftpServerFacts } from '../../support/sftp-server.js';
import { uniqueName } from '../../support/redis.js';

const quiet = { error: () => undefined, end: () => undefined, close: () => undefined };

function clientOptions(server: SftpServerFacts) {
  return { host: server.host, port: server.port, username: server.username, privateKey: server.clientPrivateKey, readyTimeout: 5_000 };
}

describe('shared test SFTP server (global setup)', () => {
  const server = inject('sftp');

  it('accepts an upload to a .part name and a rename; the bytes on disk match', async () => {
    const client = new SftpClient('selftest', quiet);
    const name = `${uniqueName('selftest')}.json`;
    const bytes = Buffer.from(JSON.stringify({ hello: 'world', at: Date.now() }));
    await client.connect({ ...clientOptions(server), hostVerifier: (key: Buffer) => key.length > 0 });
    try {
      await client.put(bytes, `${name}.part`);
      await client.posixRename(`${name}.part`, name);
      expect((await client.list('.')).map((entry) => entry.name)).toContain(name);
    } finally {
      await client.end();
    }
    expect(await readFile(join(server.root, name))).toEqual(bytes);
    expect(existsSync(join(server.root, `${name}.part`))).toBe(false);
  });

  it('shows the client its root as "/" (chrooted)', async () => {
    const client = new SftpClient('selftest', quiet);
    await client.connect(clientOptions(server));
    try {
      expect(await client.cwd()).toBe('/');
      const name = uniqueName('chroot');
      await client.put(Buffer.from('x'), `/${name}`);
      expect(existsSync(join(server.root, name))).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('fingerprint matches the key ssh2 sees (hostHash sha256)', async () => {
    const client = new SftpClient('selftest', quiet);
    let seen = '';
    await client.connect({
      ...clientOptions(server),
      hostHash: 'sha256',
      hostVerifier: (hashHex: string) => {
        seen = `SHA256:${Buffer.from(hashHex, 'hex').toString('base64').replace(/=+$/, '')}`;
        return true;
      },
    });
    await client.end();
    expect(seen).toBe(server.hostKeyFingerprint);
  });

  it('refuses a client that pins another host key before any data is sent', async () => {
    const client = new SftpClient('selftest', quiet);
    const name = uniqueName('mitm');
    let authenticated = false;
    client.on('ready', () => {
      authenticated = true;
    });
    const connecting = client.connect({
      ...clientOptions(server),
      hostVerifier: (key: Buffer) => {
        void key;
        return false;
      },
    });
    await expect(connecting).rejects.toThrow(/Host denied/);
    expect(authenticated).toBe(false);
    await expect(client.put(Buffer.from('secret'), name)).rejects.toThrow();
    expect(existsSync(join(server.root, name))).toBe(false);
    await client.end().catch(() => undefined);
  });
});

describe('private test SFTP server', () => {
  let server: SftpServer;

  beforeAll(async () => {
    server = await startSftpServer();
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('facts are well formed', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.username).toBe('root');
    expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(server.hostPublicKey).toMatch(/^ssh-ed25519 /);
    expect(server.clientPrivateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(server.running).toBe(true);
  });

  it('stop() refuses new connections and ends open sessions; restart() serves the same host key on the same port', async () => {
    const client = new SftpClient('selftest', quiet);
    await client.connect(clientOptions(server));
    await server.stop();
    expect(server.running).toBe(false);
    await expect(client.list('.')).rejects.toThrow();
    const refused = new SftpClient('selftest', quiet);
    await expect(refused.connect(clientOptions(server))).rejects.toThrow(/refused|ECONNREFUSED/i);

    await server.restart();
    expect(server.running).toBe(true);
    const again = new SftpClient('selftest', quiet);
    let seen = '';
    await again.connect({
      ...clientOptions(server),
      hostHash: 'sha256',
      hostVerifier: (hashHex: string) => {
        seen = `SHA256:${Buffer.from(hashHex, 'hex').toString('base64').replace(/=+$/, '')}`;
        return true;
      },
    });
    expect(seen).toBe(server.hostKeyFingerprint);
    await again.end();
  });

  it('kill() drops open sessions at once like a crash, and restart() recovers', async () => {
    const client = new SftpClient('selftest', quiet);
    await client.connect(clientOptions(server));
    const started = Date.now();
    await server.kill();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.running).toBe(false);
    await expect(client.list('.')).rejects.toThrow();
    await server.restart();
    const again = new SftpClient('selftest', quiet);
    await again.connect(clientOptions(server));
    expect(Array.isArray(await again.list('.'))).toBe(true);
    await again.end();
  });
});

describe('password-mode test SFTP server', () => {
  let server: SftpServer;

  beforeAll(async () => {
    server = await startSftpServer({ password: true });
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('logs a throwaway user in with its password into root, and removes the user on destroy()', async () => {
    expect(server.username).toMatch(/^rsftp[0-9a-f]{8}$/);
    const client = new SftpClient('selftest', quiet);
    await client.connect({ host: server.host, port: server.port, username: server.username, password: server.password });
    try {
      await client.put(Buffer.from('by password'), 'p.txt');
    } finally {
      await client.end();
    }
    expect(await readdir(server.root)).toEqual(['p.txt']);
    const wrong = new SftpClient('selftest', quiet);
    await expect(wrong.connect({ host: server.host, port: server.port, username: server.username, password: 'not-it' })).rejects.toThrow(/authentication/i);

    await server.destroy();
    expect(server.running).toBe(false);
    await expect(promisify(execFile)('id', [server.username])).rejects.toThrow();
    expect(existsSync(server.root)).toBe(false);
  });
});
