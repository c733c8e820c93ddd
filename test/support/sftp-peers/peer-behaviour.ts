import { chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { hostKeyFingerprint } from '../../../src/delivery/host-key-fingerprint.js';
import type { SftpPeer } from './sftp-peer.js';

/** How a server answered one SFTP request: success, or its status code and message. */
export type SftpAnswer = 'ok' | { code: number | string | undefined; message: string };

/** What a peer answers to the requests a safe replace depends on, each sent raw (ssh2, SFTP v3). */
export interface PeerBehaviour {
  /** Names of the extensions the server announces in its VERSION packet, sorted. */
  extensions: string[];
  /** `OPEN` with `SSH_FXF_WRITE|CREAT|TRUNC` of an existing file (what writing over a stale `.part` does). */
  openExistingForWrite: SftpAnswer;
  /** `SSH_FXP_RENAME` onto an existing file (the fallback where `posix-rename@openssh.com` is missing). */
  renameOntoExisting: SftpAnswer;
  /** `posix-rename@openssh.com` onto an existing file; `'not offered'` when the server does not announce it. */
  posixRenameOntoExisting: SftpAnswer | 'not offered';
  /** `SETSTAT` with permissions (chmod 0600). */
  setstatMode: SftpAnswer;
  /** `statvfs@openssh.com` of the directory; `'not offered'` when the server does not announce it. */
  statvfs: SftpAnswer | 'not offered';
  /** `OPEN` for writing a new file below the peer's read-only zone, when it has one. */
  openInReadOnlyZone: SftpAnswer | 'no such zone';
}

/**
 * Logs in to `peer` with a raw ssh2 client (host key pinned) and records its answers in a fresh directory
 * `<localRoot>/<dirName>`: the facts a delivery fallback has to cope with, per server.
 *
 * @example
 * const behaviour = await probePeerBehaviour(peer, 'probe-1');
 * behaviour.renameOntoExisting; // { code: 11, message: 'File already exists' } on ProFTPD
 */
export async function probePeerBehaviour(peer: SftpPeer, dirName: string): Promise<PeerBehaviour> {
  const owner = await stat(peer.localRoot);
  const owned = async (path: string, content?: string): Promise<void> => {
    await (content === undefined ? mkdir(path) : writeFile(path, content));
    await chown(path, owner.uid, owner.gid);
  };
  const localDir = join(peer.localRoot, dirName);
  const dir = posix.join(peer.clientRoot, dirName);
  await owned(localDir);
  for (const name of ['a', 'b', 'c']) await owned(join(localDir, name), name.repeat(3));
  const readOnlyZone = peer.refusalZones ? `${peer.refusalZones.readOnly}${dirName}` : undefined;
  if (readOnlyZone) await owned(join(peer.localRoot, readOnlyZone));

  const client = new Client();
  try {
    const sftp = await connect(client, peer);
    const extensions = Object.keys((sftp as unknown as { _extensions: Record<string, string> })._extensions).sort();
    const offered = (name: string) => extensions.includes(name);
    return {
      extensions,
      openExistingForWrite: await answer<Buffer>((cb) => sftp.open(`${dir}/c`, 'w', cb), sftp),
      renameOntoExisting: await answer((cb) => sftp.rename(`${dir}/a`, `${dir}/b`, cb)),
      posixRenameOntoExisting: offered('posix-rename@openssh.com') ? await answer((cb) => sftp.ext_openssh_rename(`${dir}/a`, `${dir}/b`, cb)) : 'not offered',
      setstatMode: await answer((cb) => sftp.chmod(`${dir}/b`, 0o600, cb)),
      statvfs: offered('statvfs@openssh.com') ? await answer((cb) => sftp.ext_openssh_statvfs(dir, cb)) : 'not offered',
      openInReadOnlyZone: readOnlyZone
        ? await answer<Buffer>((cb) => sftp.open(posix.join(peer.clientRoot, readOnlyZone, 'new'), 'w', cb), sftp)
        : 'no such zone',
    };
  } finally {
    client.end();
    client.destroy();
  }
}

async function connect(client: Client, peer: SftpPeer): Promise<SFTPWrapper> {
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
    client.connect({
      host: peer.host,
      port: peer.port,
      username: peer.username,
      privateKey: peer.privateKey,
      password: peer.password,
      readyTimeout: 5_000,
      hostVerifier: (key: Buffer) => hostKeyFingerprint(key) === peer.hostKeyFingerprint,
    });
  });
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

/** Runs one request; an `OPEN` that succeeds has its handle closed again (`closeWith`). */
async function answer<T = unknown>(send: (cb: (err: Error | null | undefined, value?: T) => void) => void, closeWith?: SFTPWrapper): Promise<SftpAnswer> {
  try {
    const value = await new Promise<T | undefined>((resolve, reject) => send((err, result) => (err ? reject(err) : resolve(result))));
    if (closeWith && Buffer.isBuffer(value)) await new Promise<void>((resolve) => closeWith.close(value, () => resolve()));
    return 'ok';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'number' || typeof code === 'string' ? code : undefined, message: (err as Error).message };
  }
}
