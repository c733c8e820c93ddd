import { Client, type ConnectConfig } from 'ssh2';
import { RetentionError } from '../errors.js';
import { NetworkPolicy } from '../network/network-policy.js';
import { hostKeyFingerprint } from './host-key-fingerprint.js';
import { hostKeyFamilyOf, hostKeyHandshakes, hostKeyTypeOf } from './host-key-pin.js';
import { toSftpConnectError } from './sftp-connect-error.js';

export interface ProbeSftpHostKeyOptions {
  host: string;
  /** Default: 22. */
  port?: number;
  /** Bound on the whole probe (TCP connect and key exchange). Default: 10000 ms. */
  timeoutMs?: number;
  /**
   * Which addresses may be probed: the host is resolved and checked first, and the probe connects to the checked
   * address, so a tenant cannot port-scan the operator's network. Default: public addresses only.
   */
  network?: NetworkPolicy;
}

/**
 * Connects to an SSH server only far enough to see its host key and returns the key's fingerprint
 * (`SHA256:<base64>`), without authenticating: the connection is dropped as soon as the key arrives, so no
 * credentials are sent. For the portal's "test connection": an administrator compares the fingerprint with the one
 * their server shows (`ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub`) before pinning it.
 *
 * Fails with `ERR_DESTINATION_NOT_ALLOWED` (before anything is sent) when the network policy refuses the host,
 * `ERR_TARGET_UNREACHABLE` or `ERR_TARGET_TIMEOUT`.
 *
 * @example
 * const fingerprint = await probeSftpHostKey({ host: 'sftp.example.com', port: 22 });
 */
export async function probeSftpHostKey(options: ProbeSftpHostKeyOptions): Promise<string> {
  return (await probeOneHostKey(options, undefined)).fingerprint;
}

/** A host key a server presented: its type and fingerprint. */
export interface ProbedHostKey {
  type: string | undefined;
  fingerprint: string;
}

/**
 * Every host key an SSH server has, one handshake per key family (ed25519, ECDSA, RSA), without authenticating: for
 * the portal's *Test connection*, so an administrator can pin the key their server shows whatever its type. Errors as
 * {@link probeSftpHostKey}; a family the server has no key of is skipped.
 *
 * @example
 * const keys = await probeSftpHostKeys({ host: 'sftp.example.com' }); // [{ type: 'ssh-ed25519', fingerprint: 'SHA256:…' }, …]
 */
export async function probeSftpHostKeys(options: ProbeSftpHostKeyOptions): Promise<ProbedHostKey[]> {
  const first = await probeOneHostKey(options, undefined);
  const keys: ProbedHostKey[] = [first];
  const seen = new Set([hostKeyFamilyOf(first.type)]);
  for (const algorithms of hostKeyHandshakes([])) {
    if (algorithms === undefined || seen.has(hostKeyFamilyOf(algorithms[0]))) continue;
    seen.add(hostKeyFamilyOf(algorithms[0]));
    try {
      const key = await probeOneHostKey(options, algorithms);
      if (!keys.some((k) => k.fingerprint === key.fingerprint)) keys.push(key);
    } catch (err) {
      if (err instanceof RetentionError && err.code === 'ERR_DESTINATION_NOT_ALLOWED') throw err;
    }
  }
  return keys;
}

async function probeOneHostKey(options: ProbeSftpHostKeyOptions, algorithms: string[] | undefined): Promise<ProbedHostKey> {
  const port = options.port ?? 22;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoint = { host: options.host, port };
  let address: string;
  try {
    address = (await (options.network ?? new NetworkPolicy()).resolve('SFTP server', options.host))[0]?.address ?? options.host;
  } catch (err) {
    throw toSftpConnectError(err, endpoint);
  }
  return new Promise<ProbedHostKey>((resolve, reject) => {
    const client = new Client();
    let fingerprint: ProbedHostKey | undefined;
    let settled = false;
    const finish = (outcome: ProbedHostKey | RetentionError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      if (outcome instanceof RetentionError) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(
        new RetentionError(
          'ERR_TARGET_TIMEOUT',
          `SFTP server ${options.host}:${port} did not show its host key within ${timeoutMs} ms; check the host and port, then try again`,
        ),
      );
    }, timeoutMs);
    client.on('error', (err) => finish(fingerprint ?? toSftpConnectError(err, endpoint)));
    client.on('close', () => {
      finish(
        fingerprint ??
          new RetentionError(
            'ERR_TARGET_UNREACHABLE',
            `SFTP server ${options.host}:${port} closed the connection before showing a host key; check that the port is an SSH server`,
          ),
      );
    });
    try {
      client.connect({
        host: address,
        port,
        username: 'retention-host-key-probe',
        readyTimeout: timeoutMs,
        ...(algorithms !== undefined
          ? { algorithms: { serverHostKey: algorithms as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } }
          : {}),
        hostVerifier: (key: Buffer): boolean => {
          const presented = { type: hostKeyTypeOf(key), fingerprint: hostKeyFingerprint(key) };
          fingerprint = presented;
          setImmediate(() => finish(presented));
          return false;
        },
      });
    } catch (err) {
      finish(toSftpConnectError(err, endpoint));
    }
  });
}
