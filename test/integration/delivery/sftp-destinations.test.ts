import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { probeSftpHostKey } from '../../../src/delivery/probe-sftp-host-key.js';
import { SftpTarget, type SftpTargetOptions } from '../../../src/delivery/sftp-target.js';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { toJobError } from '../../../src/queue/permanent-failure.js';
import { findDestinationProblems } from '../../../src/tenants/destination-policy.js';
import { uniqueName } from '../../support/redis.js';
import { staticResolver } from '../../support/destinations.js';
import { rejectionCode } from './target-contract.js';

const sftp = inject('sftp');
/** A TCP listener on loopback that counts who connects: a refused destination must never be dialled. */
let counter: Server;
let counterPort: number;
let dialled = 0;
let root: string;

beforeAll(async () => {
  counter = createServer((socket) => {
    dialled += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => counter.listen(0, '127.0.0.1', ready));
  counterPort = (counter.address() as { port: number }).port;
  root = `/${uniqueName('dest')}`;
  await mkdir(join(sftp.root, root));
});
afterAll(async () => {
  await new Promise((done) => counter.close(done));
});

const options = (host: string, port: number, network: NetworkPolicy): SftpTargetOptions => ({
  host,
  port,
  username: sftp.username,
  privateKey: sftp.clientPrivateKey,
  hostKeyFingerprint: sftp.hostKeyFingerprint,
  root,
  connectTimeoutMs: 5_000,
  network,
});

describe('SFTP target and host-key probe: only destinations the operator allows (issue #10.6)', () => {
  it.each(['localhost', '127.0.0.1', '::1', '::ffff:127.0.0.1', '[::1]'])(
    'refuses %s by default before dialling: permanent ERR_DESTINATION_NOT_ALLOWED',
    async (host) => {
      const before = dialled;
      const target = new SftpTarget(options(host, counterPort, new NetworkPolicy()));
      const err = await target.list('').catch((e: unknown) => e);
      await target.close();
      expect(err).toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
      expect(toJobError(err).name).toBe('UnrecoverableError');
      expect(await rejectionCode(probeSftpHostKey({ host, port: counterPort, timeoutMs: 2_000 }))).toBe('ERR_DESTINATION_NOT_ALLOWED');
      expect(dialled).toBe(before);
    },
  );

  it('refuses at connect time a name that passed the save check and then resolved to loopback (DNS rebinding)', async () => {
    let answer = ['93.184.216.34'];
    const network = new NetworkPolicy({ resolve: staticResolver({ 'sftp.rebind.test': () => answer }) });
    const destinations = { network, localTargetBaseDir: undefined };
    const settings = {
      source: { kind: 'demo' as const, seed: 1, invalidShare: 0 },
      target: {
        kind: 'sftp' as const,
        host: 'sftp.rebind.test',
        port: counterPort,
        username: 'u',
        password: 'v1.k.a.b.c',
        hostKeyFingerprint: sftp.hostKeyFingerprint,
        root: '/',
      },
    };
    expect(await findDestinationProblems(destinations, settings)).toEqual([]);
    answer = ['127.0.0.1'];
    const before = dialled;
    const target = new SftpTarget(options('sftp.rebind.test', counterPort, network));
    expect(await rejectionCode(target.list(''))).toBe('ERR_DESTINATION_NOT_ALLOWED');
    await target.close();
    expect(dialled).toBe(before);
  });

  it('connects to the checked address: a name allowlisted by the operator and unknown to DNS reaches the real sshd', async () => {
    const network = new NetworkPolicy({
      allowlist: parseDestinationAllowlist('sftp.customer.test'),
      resolve: staticResolver({ 'sftp.customer.test': [sftp.host] }),
    });
    const target = new SftpTarget(options('sftp.customer.test', sftp.port, network));
    try {
      expect(await target.list('')).toEqual([]);
    } finally {
      await target.close();
    }
    expect(await probeSftpHostKey({ host: 'sftp.customer.test', port: sftp.port, timeoutMs: 5_000, network })).toBe(sftp.hostKeyFingerprint);
  });

  it('allowed when the operator allows loopback by address block', async () => {
    const network = new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.0/8') });
    expect(await probeSftpHostKey({ host: sftp.host, port: sftp.port, timeoutMs: 5_000, network })).toBe(sftp.hostKeyFingerprint);
  });

  it('a name that does not resolve stays a transient ERR_TARGET_UNREACHABLE', async () => {
    const target = new SftpTarget(options('nowhere.test', counterPort, new NetworkPolicy({ resolve: staticResolver({}) })));
    const err = await target.list('').catch((e: unknown) => e);
    await target.close();
    expect(err).toMatchObject({ code: 'ERR_TARGET_UNREACHABLE' });
    expect(toJobError(err).name).not.toBe('UnrecoverableError');
  });
});
