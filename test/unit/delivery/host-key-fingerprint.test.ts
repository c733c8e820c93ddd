import { describe, expect, it } from 'vitest';
import { hostKeyFingerprint, isHostKeyFingerprint } from '../../../src/delivery/host-key-fingerprint.js';

/** Public keys and the fingerprints `ssh-keygen -l -E sha256` printed for them. */
const KEYS: ReadonlyArray<[string, string, string]> = [
  ['ed25519', 'AAAAC3NzaC1lZDI1NTE5AAAAIExhm0aO4Nb+zPMpnHw++Hc4+bu04vmwm3+Y+JfbE2YG', 'SHA256:ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eikg'],
  [
    'rsa',
    'AAAAB3NzaC1yc2EAAAADAQABAAABAQDr6jO9Sv8z2wO6CavUuEGf8YFxnXLIfsB/F7DQrtx5WpztT9+rXQhX7YoeyeUkESud50x4Ja99vFSRsPnYALq+ECE4LpFAhBj+M96ciCu9fG2JL87FUHOufIUE7FZkhPHhUTqtbvo3KQLZDw2EFz4P4axYQLIo0NfPs/6jhti3xt9fmyI2ZXf1J1/agA2XjmbuqxK09ymhp+M37QxXr9ey44Xq5gz1uE+wiChc1/2GBN3uT6A1RwbkaDPLYMoxx1yYRuJFaGI3Qc5aom610znmRPArHBrvbEuIZUaHo9aNJ3GuakacBpvHszUuJrD4q1TObajjb9VZUy+Sf1p5SYD/',
    'SHA256:yC+fr+W6gpeGO+EV8c012aNKUQ54xtgzLJWjxHl2ZEY',
  ],
];

describe('hostKeyFingerprint', () => {
  it.each(KEYS)('matches ssh-keygen for an %s key', (_type, blob, fingerprint) => {
    expect(hostKeyFingerprint(Buffer.from(blob, 'base64'))).toBe(fingerprint);
    expect(isHostKeyFingerprint(fingerprint)).toBe(true);
  });
});

describe('isHostKeyFingerprint', () => {
  it.each([
    ['empty', ''],
    ['no prefix', 'ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eikg'],
    ['lower-case prefix', 'sha256:ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eikg'],
    ['padded', 'SHA256:ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eikg='],
    ['too short', 'SHA256:ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eik'],
    ['MD5', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48'],
    ['hex', `SHA256:${'ab'.repeat(32)}`],
    ['trailing space', 'SHA256:ONagtSzRPTLYn5x4qOjNnSgMalE1QNV432sanp7Eikg '],
  ])('refuses %s', (_label, value) => {
    expect(isHostKeyFingerprint(value)).toBe(false);
  });
});
