import { existsSync } from 'node:fs';
import { SSHD_PATH, startSftpServer } from '../sftp-server.js';
import { asPeer } from './openssh-variants.js';
import { missingPeerBinary, type SftpPeer, type SftpPeerDefinition } from './sftp-peer.js';

/** Where Debian's `gesftpserver` package installs Green End SFTP Server (an sftp subsystem binary, not a daemon). */
export const GESFTPSERVER_PATH = '/usr/libexec/gesftpserver';

const GESFTP_PACKAGES = ['gesftpserver', 'openssh-server'] as const;

/**
 * Starts a private sshd whose sftp subsystem is gesftpserver (`Subsystem sftp /usr/libexec/gesftpserver`), key login
 * as root. An external subsystem runs outside any chroot, so the client names its root by the absolute local path
 * ({@link SftpPeer.clientRoot}).
 *
 * @example
 * const peer = await startGesftpPeer();
 * await peer.destroy();
 */
export async function startGesftpPeer(): Promise<SftpPeer> {
  if (!existsSync(GESFTPSERVER_PATH)) throw missingPeerBinary('Green End SFTP Server', GESFTPSERVER_PATH, GESFTP_PACKAGES);
  if (!existsSync(SSHD_PATH)) throw missingPeerBinary('OpenSSH server (which runs gesftpserver)', SSHD_PATH, GESFTP_PACKAGES);
  return asPeer(await startSftpServer({ sftpServerPath: GESFTPSERVER_PATH }), false);
}

/** The gesftpserver peer of the matrix. */
export const GESFTP_PEER: SftpPeerDefinition = {
  id: 'gesftpserver',
  description: 'Green End SFTP Server as the sftp subsystem of OpenSSH, key login',
  debianPackages: GESFTP_PACKAGES,
  traits: { posixRename: true, allowOverwrite: true, refusalZones: false },
  start: startGesftpPeer,
};
