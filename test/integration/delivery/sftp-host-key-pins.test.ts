import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostKeyPin } from '../../../src/delivery/host-key-pin.js';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import type { RetentionError } from '../../../src/errors.js';
import { testDestinations } from '../../support/destinations.js';
import { startSftpServer, type SftpServer } from '../../support/sftp-server.js';

/**
 * Issue 11.4: host keys pinned by type. A server with several host keys presents the one the client prefers; a pin of
 * another of its keys must not look like an interception, and during a rotation two pins are accepted.
 */

const { network } = testDestinations();
let multi: SftpServer;
let edOnly: SftpServer;
let spool: string;
let file: { path: string; bytes: number };

const keyOf = (server: SftpServer, type: string): string => server.hostKeys.find((k) => k.type === type)?.fingerprint ?? '';
const OTHER = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function target(server: SftpServer, pin: Partial<SftpTargetOptions>): SftpTarget {
  return new SftpTarget({
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.clientPrivateKey,
    hostKeyFingerprint: server.hostKeyFingerprint,
    root: '/',
    connectTimeoutMs: 5_000,
    operationTimeoutMs: 10_000,
    closeTimeoutMs: 1_000,
    network,
    ...pin,
  });
}

async function delivers(t: SftpTarget, server: SftpServer, name: string): Promise<void> {
  try {
    await t.uploadAtomically(file.path, `${name}.json`, file);
  } finally {
    await t.close();
  }
  expect(await readFile(join(server.root, `${name}.json`), 'utf8')).toBe('[{"a":1}]');
}

async function refusal(t: SftpTarget): Promise<RetentionError> {
  try {
    await t.uploadAtomically(file.path, 'never.json', file);
  } catch (err) {
    return err as RetentionError;
  } finally {
    await t.close();
  }
  throw new Error('the upload was not refused');
}

beforeAll(async () => {
  multi = await startSftpServer({ hostKeyType: 'ed25519', extraHostKeyTypes: ['ecdsa', 'rsa'] });
  edOnly = await startSftpServer();
  spool = await mkdtemp(join(tmpdir(), 'retention-pin-spool-'));
  file = { path: join(spool, 'f.json'), bytes: 9 };
  await writeFile(file.path, '[{"a":1}]');
}, 60_000);

afterAll(async () => {
  await multi?.destroy();
  await edOnly?.destroy();
  await rm(spool, { recursive: true, force: true });
});

describe('SFTP host-key pins', () => {
  it('has a test server with ed25519, ECDSA and RSA host keys', () => {
    expect(multi.hostKeys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa']);
  });

  it.each(['ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519'] as const)('delivers with the genuine %s key pinned with its type', async (type) => {
    await delivers(target(multi, { hostKeyFingerprint: keyOf(multi, type), hostKeyType: type }), multi, `typed-${type}`);
  });

  it.each(['ssh-rsa', 'ecdsa-sha2-nistp256'] as const)(
    'delivers with the genuine %s key pinned without a type (as settings saved before types existed)',
    async (type) => {
      await delivers(target(multi, { hostKeyFingerprint: keyOf(multi, type) }), multi, `untyped-${type}`);
    },
  );

  it('refuses a pin of the right type but another key, naming what the server presented; nothing is written', async () => {
    const err = await refusal(target(multi, { hostKeyFingerprint: OTHER, hostKeyType: 'ssh-rsa' }));
    expect(err.code).toBe('ERR_HOST_KEY_MISMATCH');
    expect(err.message).toContain(`ssh-rsa ${keyOf(multi, 'ssh-rsa')}`);
    expect(err.message).not.toContain(keyOf(multi, 'ssh-ed25519'));
  });

  it('refuses an untyped pin that none of the server’s keys has, listing every key it presented', async () => {
    const err = await refusal(target(multi, { hostKeyFingerprint: OTHER }));
    expect(err.code).toBe('ERR_HOST_KEY_MISMATCH');
    for (const key of multi.hostKeys) expect(err.message).toContain(key.fingerprint);
  });

  it('refuses a typed pin whose fingerprint is of another of the server’s keys (type and key must both match)', async () => {
    const err = await refusal(target(multi, { hostKeyFingerprint: keyOf(multi, 'ssh-ed25519'), hostKeyType: 'ssh-rsa' }));
    expect(err.code).toBe('ERR_HOST_KEY_MISMATCH');
  });

  it('says so when the server has no key of the pinned type', async () => {
    const err = await refusal(target(edOnly, { hostKeyFingerprint: OTHER, hostKeyType: 'ssh-rsa' }));
    expect(err.code).toBe('ERR_HOST_KEY_MISMATCH');
    expect(err.message).toContain('no host key of the pinned type (ssh-rsa)');
  });

  it('accepts the second pin during a rotation, and still refuses keys neither pin names', async () => {
    const second: HostKeyPin = { fingerprint: keyOf(multi, 'ssh-rsa'), type: 'ssh-rsa' };
    await delivers(target(multi, { hostKeyFingerprint: OTHER, hostKeyType: 'ssh-ed25519', secondHostKey: second }), multi, 'rotation');
    const err = await refusal(target(multi, { hostKeyFingerprint: OTHER, hostKeyType: 'ssh-ed25519', secondHostKey: { fingerprint: OTHER, type: 'ssh-rsa' } }));
    expect(err.code).toBe('ERR_HOST_KEY_MISMATCH');
  });

  it('refuses malformed pin settings at construction', () => {
    expect(() => target(multi, { hostKeyType: 'ssh-dss' as never })).toThrow(/hostKeyType/);
    expect(() => target(multi, { secondHostKey: { fingerprint: 'MD5:aa' } })).toThrow(/secondHostKey/);
  });
});
