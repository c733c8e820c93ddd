import { describe, expect, it } from 'vitest';
import { hostKeyHandshakes, hostKeyTypeOf, matchingPin, parseHostKeyPin } from '../../../src/delivery/host-key-pin.js';
import { RetentionError } from '../../../src/errors.js';

const FP = 'SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs';

describe('parseHostKeyPin (issue 11.4)', () => {
  it.each([
    [FP, { fingerprint: FP }],
    [`  ${FP}  `, { fingerprint: FP }],
    [`${FP}=`, { fingerprint: FP }],
    [`ssh-rsa ${FP}`, { fingerprint: FP, type: 'ssh-rsa' }],
    [`ssh-ed25519 ${FP}`, { fingerprint: FP, type: 'ssh-ed25519' }],
    [`256 ${FP} root@sftp (ED25519)`, { fingerprint: FP, type: 'ssh-ed25519' }],
    [`3072 ${FP} sftp.example.com (RSA)`, { fingerprint: FP, type: 'ssh-rsa' }],
    [`384 ${FP} no comment (ECDSA)`, { fingerprint: FP, type: 'ecdsa-sha2-nistp384' }],
    [`256 ${FP} host (ECDSA)`, { fingerprint: FP, type: 'ecdsa-sha2-nistp256' }],
  ])('%j → %j', (text, pin) => {
    expect(parseHostKeyPin(text)).toEqual(pin);
  });

  it.each(['', 'MD5:9f:aa', 'SHA256:short', `ssh-dss${FP}`, `xSHA256:${FP.slice(7)}`])('refuses %j with ERR_HOST_KEY_PIN_INVALID', (text) => {
    expect(() => parseHostKeyPin(text)).toThrow(RetentionError);
    try {
      parseHostKeyPin(text);
    } catch (err) {
      expect((err as RetentionError).code).toBe('ERR_HOST_KEY_PIN_INVALID');
    }
  });
});

describe('host-key handshakes', () => {
  it('asks for exactly the pinned types, one handshake per type, in pin order', () => {
    expect(hostKeyHandshakes([{ fingerprint: FP, type: 'ssh-rsa' }])).toEqual([['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']]);
    expect(
      hostKeyHandshakes([
        { fingerprint: FP, type: 'ssh-ed25519' },
        { fingerprint: FP, type: 'ssh-rsa' },
      ]),
    ).toEqual([['ssh-ed25519'], ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']]);
  });

  it('looks for an untyped pin among every key family after the default handshake', () => {
    const plans = hostKeyHandshakes([{ fingerprint: FP }]);
    expect(plans[0]).toBeUndefined();
    expect(plans.slice(1).map((p) => p?.[0])).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512']);
  });

  it('matches a typed pin only with a key of its type', () => {
    expect(matchingPin([{ fingerprint: FP, type: 'ssh-rsa' }], FP, 'ssh-ed25519')).toBeUndefined();
    expect(matchingPin([{ fingerprint: FP, type: 'ssh-rsa' }], FP, 'ssh-rsa')).toBeDefined();
    expect(matchingPin([{ fingerprint: FP }], FP, 'ssh-ed25519')).toBeDefined();
  });

  it('reads the key type out of a key blob', () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36)]);
    expect(hostKeyTypeOf(blob)).toBe('ssh-ed25519');
    expect(hostKeyTypeOf(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(hostKeyTypeOf(Buffer.from([0, 0, 1, 0, 65]))).toBeUndefined();
  });
});
