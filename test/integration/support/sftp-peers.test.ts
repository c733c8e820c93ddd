import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { reapStaleSftpServers, startSftpServer } from '../../support/sftp-server.js';
import { startGesftpPeer } from '../../support/sftp-peers/gesftp-server.js';
import { startProftpdServer } from '../../support/sftp-peers/proftpd-server.js';
import { missingPeerBinary } from '../../support/sftp-peers/sftp-peer.js';

const execFileAsync = promisify(execFile);

/** True while `pid` runs (a zombie, killed but not yet reaped by this process, counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** A pid that belonged to a process that has exited: what a killed test run leaves in `owner.pid`. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

describe('peer SFTP servers (test harness)', () => {
  it('ProFTPD: runs in the foreground on loopback with its own files, and destroy() stops it and removes them', async () => {
    const server = await startProftpdServer();
    const dir = dirname(server.configPath);
    const pid = Number(await readFile(join(dir, 'proftpd.pid'), 'utf8'));
    expect(server).toMatchObject({ host: '127.0.0.1', username: 'retention', clientRoot: '/', password: undefined });
    expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(server.privateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(await readFile(server.configPath, 'utf8')).toContain('SFTPEngine on');
    expect(alive(pid)).toBe(true);

    await server.destroy();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('ProFTPD left behind by a killed test run is stopped and removed by reapStaleSftpServers()', async () => {
    const server = await startProftpdServer({ posixRename: false });
    const dir = dirname(server.configPath);
    const pid = Number(await readFile(join(dir, 'proftpd.pid'), 'utf8'));
    try {
      await writeFile(join(dir, 'owner.pid'), String(await deadPid()));
      expect(await reapStaleSftpServers()).toBeGreaterThanOrEqual(1);
      expect(alive(pid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await server.destroy();
    }
  });

  it('gesftpserver: sshd runs it as the sftp subsystem for a throwaway user, removed by destroy()', async () => {
    const peer = await startGesftpPeer();
    const user = peer.username;
    expect(user).toMatch(/^rsftp[0-9a-f]{8}$/);
    expect(peer.clientRoot).toBe(peer.localRoot);
    await peer.destroy();
    await expect(execFileAsync('id', [user])).rejects.toThrow();
    expect(existsSync(peer.localRoot)).toBe(false);
  });

  it('OpenSSH with hostKeyType "rsa" presents only an RSA host key', async () => {
    const server = await startSftpServer({ hostKeyType: 'rsa' });
    try {
      expect(server.hostPublicKey).toMatch(/^ssh-rsa /);
      expect(server.clientRoot).toBe('/');
    } finally {
      await server.destroy();
    }
  });

  it('a missing peer binary fails with the packages to install', () => {
    expect(missingPeerBinary('ProFTPD', '/usr/sbin/proftpd', ['proftpd-core', 'proftpd-mod-crypto']).message).toBe(
      'ProFTPD is not installed (/usr/sbin/proftpd is missing): install it with "apt-get install --no-install-recommends proftpd-core proftpd-mod-crypto" (.ci/run does this on CI)',
    );
  });
});
