import { posix } from 'node:path';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import { testDestinations } from '../destinations.js';
import type { SftpPeer } from './sftp-peer.js';

/**
 * An {@link SftpTarget} logged in to `peer` with its credentials and pinned host key, rooted at `base` below the
 * peer's client root, with short timeouts for tests; `options` override any of them (an upload-step hook, a timeout).
 *
 * @example
 * const target = peerTarget(peer, uniqueName('replace'), { onUploadStep });
 */
export function peerTarget(peer: SftpPeer, base: string, options: Partial<SftpTargetOptions> = {}): SftpTarget {
  return new SftpTarget({
    host: peer.host,
    port: peer.port,
    username: peer.username,
    privateKey: peer.privateKey,
    password: peer.password,
    hostKeyFingerprint: peer.hostKeyFingerprint,
    root: posix.join(peer.clientRoot, base),
    connectTimeoutMs: 5_000,
    operationTimeoutMs: 10_000,
    closeTimeoutMs: 1_000,
    network: testDestinations().network,
    ...options,
  });
}
