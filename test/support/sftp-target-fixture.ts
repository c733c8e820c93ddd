import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SftpTargetOptions } from '../../src/delivery/sftp-target.js';
import { testDestinations } from './destinations.js';
import { uniqueName } from './redis.js';
import type { SftpServerFacts } from './sftp-server.js';

/**
 * The options an SftpTarget test starts from: the server's user, key and pinned host key, the test bed's
 * timeouts, and the loopback network the test bed allows (as an operator would with ALLOWED_PRIVATE_DESTINATIONS).
 * `extra` overrides any of them, e.g. the host and port of a relay in front of the server.
 */
export function sftpTargetOptions(server: SftpServerFacts, root: string, extra: Partial<SftpTargetOptions> = {}): SftpTargetOptions {
  return {
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.clientPrivateKey,
    hostKeyFingerprint: server.hostKeyFingerprint,
    root,
    connectTimeoutMs: 5_000,
    operationTimeoutMs: 10_000,
    closeTimeoutMs: 1_000,
    network: testDestinations().network,
    ...extra,
  };
}

/** A fresh directory under the server's root, as the client sees it (`/<name>`) and on disk. */
export async function freshSftpRoot(server: SftpServerFacts, prefix: string): Promise<{ remote: string; local: string }> {
  const name = uniqueName(prefix);
  const local = join(server.root, name);
  await mkdir(local);
  return { remote: `/${name}`, local };
}
