import { RetentionError } from '../errors.js';

/** What an ssh2 connection failure is mapped with. */
export interface SftpEndpoint {
  host: string;
  port: number;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

function fieldOf(err: unknown, field: 'code' | 'level'): string | undefined {
  if (typeof err !== 'object' || err === null || !(field in err)) return undefined;
  const value = (err as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Maps an error raised while opening an SSH connection (by ssh2) to a target error: rejected credentials or an
 * unusable private key are `ERR_TARGET_AUTH` (permanent); a handshake that does not finish in time is
 * `ERR_TARGET_TIMEOUT`; everything else (refused, reset, unknown host) is `ERR_TARGET_UNREACHABLE` (transient).
 * Host-key mismatches are detected by the caller, which knows both fingerprints.
 *
 * @example
 * catch (err) { throw toSftpConnectError(err, { host, port }); }
 */
export function toSftpConnectError(err: unknown, endpoint: SftpEndpoint): RetentionError {
  if (err instanceof RetentionError) return err;
  const where = `${endpoint.host}:${endpoint.port}`;
  const message = err instanceof Error ? err.message : String(err);
  const level = fieldOf(err, 'level');
  const code = fieldOf(err, 'code');
  if (level === 'client-authentication') {
    return new RetentionError(
      'ERR_TARGET_AUTH',
      `SFTP server ${where} rejected the credentials (${message}); check the username and the password or private key in the SFTP settings`,
      { cause: err },
    );
  }
  if (/private ?key|passphrase/i.test(message)) {
    return new RetentionError(
      'ERR_TARGET_AUTH',
      `the SFTP private key for ${where} cannot be used (${message}); paste an OpenSSH or PEM private key and its passphrase if it has one`,
      { cause: err },
    );
  }
  if (level === 'client-timeout' || /timed out/i.test(message)) {
    return new RetentionError(
      'ERR_TARGET_TIMEOUT',
      `SFTP server ${where} did not complete the SSH handshake in time (${message}); check that the host and port point to an SSH server; a later attempt may succeed`,
      { cause: err },
    );
  }
  const reason = code && UNREACHABLE_CODES.has(code) ? `${code}: ${message}` : message;
  return new RetentionError(
    'ERR_TARGET_UNREACHABLE',
    `cannot connect to SFTP server ${where} (${reason}); check the host, the port and the firewall; a later attempt may succeed`,
    { cause: err },
  );
}
