import { Client } from 'ssh2';
import { RetentionError } from '../errors.js';
import { NetworkPolicy } from '../network/network-policy.js';
import { hostKeyFingerprint } from './host-key-fingerprint.js';
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
  const port = options.port ?? 22;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoint = { host: options.host, port };
  let address: string;
  try {
    address = (await (options.network ?? new NetworkPolicy()).resolve('SFTP server', options.host))[0]?.address ?? options.host;
  } catch (err) {
    throw toSftpConnectError(err, endpoint);
  }
  return new Promise<string>((resolve, reject) => {
    const client = new Client();
    let fingerprint: string | undefined;
    let settled = false;
    const finish = (outcome: string | RetentionError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      if (typeof outcome === 'string') resolve(outcome);
      else reject(outcome);
    };
    const timer = setTimeout(() => {
      finish(new RetentionError('ERR_TARGET_TIMEOUT', `SFTP server ${options.host}:${port} did not show its host key within ${timeoutMs} ms; check the host and port, then try again`, 504));
    }, timeoutMs);
    client.on('error', (err) => finish(fingerprint ?? toSftpConnectError(err, endpoint)));
    client.on('close', () => {
      finish(fingerprint ?? new RetentionError('ERR_TARGET_UNREACHABLE', `SFTP server ${options.host}:${port} closed the connection before showing a host key; check that the port is an SSH server`, 503));
    });
    try {
      client.connect({
        host: address,
        port,
        username: 'retention-host-key-probe',
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer): boolean => {
          fingerprint = hostKeyFingerprint(key);
          setImmediate(() => finish(fingerprint as string));
          return false;
        },
      });
    } catch (err) {
      finish(toSftpConnectError(err, endpoint));
    }
  });
}
