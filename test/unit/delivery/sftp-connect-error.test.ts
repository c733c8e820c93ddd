import { describe, expect, it } from 'vitest';
import { toSftpConnectError } from '../../../src/delivery/sftp-connect-error.js';
import { isPermanentError } from '../../../src/errors.js';
import { RetentionError } from '../../../src/errors.js';

const endpoint = { host: 'sftp.example.com', port: 2222 };
const error = (message: string, fields: Record<string, string> = {}) => Object.assign(new Error(message), fields);

describe('toSftpConnectError', () => {
  it.each<[string, Error, string, boolean]>([
    ['rejected credentials', error('All configured authentication methods failed', { level: 'client-authentication' }), 'ERR_TARGET_AUTH', true],
    ['unparsable key', error('Cannot parse privateKey: Unsupported key format'), 'ERR_TARGET_AUTH', true],
    ['encrypted key without passphrase', error('Encrypted private OpenSSH key detected, but no passphrase given'), 'ERR_TARGET_AUTH', true],
    ['handshake timeout', error('Timed out while waiting for handshake', { level: 'client-timeout' }), 'ERR_TARGET_TIMEOUT', false],
    ['refused', error('connect ECONNREFUSED 127.0.0.1:2222', { code: 'ECONNREFUSED', level: 'client-socket' }), 'ERR_TARGET_UNREACHABLE', false],
    ['unknown host', error('getaddrinfo ENOTFOUND sftp.example.com', { code: 'ENOTFOUND' }), 'ERR_TARGET_UNREACHABLE', false],
    ['reset', error('read ECONNRESET', { code: 'ECONNRESET' }), 'ERR_TARGET_UNREACHABLE', false],
    ['anything else', error('Unexpected packet'), 'ERR_TARGET_UNREACHABLE', false],
  ])('maps %s', (_label, raw, code, permanent) => {
    const mapped = toSftpConnectError(raw, endpoint);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toContain('sftp.example.com:2222');
    expect(mapped.cause).toBe(raw);
    expect(isPermanentError(mapped)).toBe(permanent);
  });

  it('passes a RetentionError through unchanged', () => {
    const original = new RetentionError('ERR_HOST_KEY_MISMATCH', 'mismatch');
    expect(toSftpConnectError(original, endpoint)).toBe(original);
  });
});

describe('isPermanentError', () => {
  it.each([
    ['ERR_TARGET_AUTH', true],
    ['ERR_HOST_KEY_MISMATCH', true],
    ['ERR_TARGET_ROOT_MISSING', true],
    ['ERR_TARGET_PERMISSION', true],
    ['ERR_TARGET_UNREACHABLE', false],
    ['ERR_TARGET_TIMEOUT', false],
    ['ERR_TARGET_SIZE_MISMATCH', false],
    ['ERR_TARGET_IO', false],
  ] as const)('%s → %s', (code, permanent) => {
    expect(isPermanentError(new RetentionError(code, 'x'))).toBe(permanent);
  });

  it('is false for errors that are not RetentionErrors', () => {
    expect(isPermanentError(Object.assign(new Error('x'), { code: 'ERR_TARGET_AUTH' }))).toBe(false);
  });
});
