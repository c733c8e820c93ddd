import { existsSync } from 'node:fs';
import { SSHD_PATH, startSftpServer, type SftpServer, type SftpServerOptions } from '../sftp-server.js';
import { missingPeerBinary, type SftpPeer, type SftpPeerDefinition } from './sftp-peer.js';

const OPENSSH_PACKAGES = ['openssh-server'] as const;
const OPENSSH_TRAITS = { posixRename: true, allowOverwrite: true, refusalZones: false } as const;

/**
 * Starts a private sshd ({@link startSftpServer}) and describes it as a peer that logs in by key, or by password when
 * `options.password` is set (the key is then not offered, so the password really is what logs in).
 *
 * @example
 * const peer = await startOpenSshPeer({ hostKeyType: 'rsa' });
 * await peer.destroy();
 */
export async function startOpenSshPeer(options: SftpServerOptions = {}): Promise<SftpPeer> {
  if (!existsSync(SSHD_PATH)) throw missingPeerBinary('OpenSSH server', SSHD_PATH, OPENSSH_PACKAGES);
  return asPeer(await startSftpServer(options), options.password === true);
}

/** The peer view of a running test sshd. */
export function asPeer(server: SftpServer, byPassword: boolean): SftpPeer {
  return {
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: byPassword ? undefined : server.clientPrivateKey,
    password: byPassword ? server.password : undefined,
    hostKeyFingerprint: server.hostKeyFingerprint,
    refusalZones: undefined,
    localRoot: server.root,
    clientRoot: server.clientRoot,
    logTail: () => server.logTail(),
    kill: () => server.kill(),
    restart: () => server.restart(),
    destroy: () => server.destroy(),
  };
}

/**
 * The OpenSSH peers: sshd 9 with `internal-sftp` chrooted to a temporary directory, ed25519 or RSA-only host key,
 * key or password login (a throwaway system user, removed afterwards).
 */
export const OPENSSH_PEERS: readonly SftpPeerDefinition[] = [
  {
    id: 'openssh-ed25519-key',
    description: 'OpenSSH internal-sftp (chroot), ed25519 host key, key login',
    debianPackages: OPENSSH_PACKAGES,
    traits: OPENSSH_TRAITS,
    start: () => startOpenSshPeer(),
  },
  {
    id: 'openssh-rsa-only',
    description: 'OpenSSH internal-sftp (chroot), RSA-only host key, key login',
    debianPackages: OPENSSH_PACKAGES,
    traits: OPENSSH_TRAITS,
    start: () => startOpenSshPeer({ hostKeyType: 'rsa' }),
  },
  {
    id: 'openssh-password',
    description: 'OpenSSH internal-sftp (chroot), password login of a throwaway user',
    debianPackages: OPENSSH_PACKAGES,
    traits: OPENSSH_TRAITS,
    start: () => startOpenSshPeer({ password: true }),
  },
];
