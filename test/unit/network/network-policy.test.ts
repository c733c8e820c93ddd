import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { parseIpAddress } from '../../../src/network/ip-address.js';
import { NetworkPolicy, type HostResolver } from '../../../src/network/network-policy.js';
import { specialPurposeOf, type SpecialPurposeKind } from '../../../src/network/special-purpose-addresses.js';
import { isPermanentFailure } from '../../../src/queue/permanent-failure.js';
import { staticResolver } from '../../support/destinations.js';

async function refusal(promise: Promise<unknown>): Promise<RetentionError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('special-purpose addresses (issue #10.6: tenants may not reach the operator network)', () => {
  it.each<[string, SpecialPurposeKind]>([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
  ])('%s is %s and refused by default', (address, kind) => {
    const parsed = parseIpAddress(address);
    expect(parsed).toBeDefined();
    expect(specialPurposeOf(parsed!)?.kind).toBe(kind);
    const err = new NetworkPolicy().refusalOf('SFTP server', address, address);
    expect(err?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(err?.message).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(isPermanentFailure(err)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.169.0.1',
    '11.0.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:81a::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public and allowed', (address) => {
    expect(specialPurposeOf(parseIpAddress(address)!)).toBeUndefined();
    expect(new NetworkPolicy().refusalOf('SFTP server', address, address)).toBeUndefined();
  });

  it('parses only addresses; host names are not addresses', () => {
    for (const text of ['localhost', 'sftp.example.com', '1.2.3', '::ffff:1.2.3.4.5', '']) expect(parseIpAddress(text)).toBeUndefined();
  });
});

describe('NetworkPolicy.resolve', () => {
  it('refuses localhost through the real system resolver, saying what and which variable allows it', async () => {
    const err = await refusal(new NetworkPolicy().resolve('SFTP server', 'localhost'));
    expect(err.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^SFTP server "localhost" resolves to the loopback/);
    expect(err.message).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(err.message).not.toContain('127.0.0.1');
  });

  it('echoes an address the tenant typed, never the addresses a name resolved to', async () => {
    const literal = await refusal(new NetworkPolicy().resolve('export API', '10.9.8.7'));
    expect(literal.message).toContain('"10.9.8.7" is a private network (RFC 1918, 10.0.0.0/8)');
    const named = await refusal(new NetworkPolicy({ resolve: staticResolver({ 'intranet.test': ['10.9.8.7'] }) }).resolve('export API', 'intranet.test'));
    expect(named.message).toContain('"intranet.test" resolves to a private network');
    expect(named.message).not.toContain('10.9.8.7');
  });

  it('checks every address of a name: one private answer among public ones refuses it', async () => {
    const policy = new NetworkPolicy({ resolve: staticResolver({ 'mixed.test': ['93.184.216.34', '2606:2800:220:1::1', '192.168.0.10'] }) });
    expect((await refusal(policy.resolve('SFTP server', 'mixed.test'))).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
  });

  it('returns the checked addresses of a public name, in the resolver order', async () => {
    const policy = new NetworkPolicy({ resolve: staticResolver({ 'sftp.customer.test': ['93.184.216.34', '2606:2800:220:1::1'] }) });
    expect(await policy.resolve('SFTP server', 'SFTP.customer.test.')).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
  });

  it('passes on the resolver error for a name that does not resolve, and bounds a resolver that never answers', async () => {
    await expect(new NetworkPolicy({ resolve: staticResolver({}) }).resolve('SFTP server', 'nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const hanging: HostResolver = () => new Promise(() => undefined);
    const started = Date.now();
    await expect(new NetworkPolicy({ resolve: hanging, resolveTimeoutMs: 50 }).resolve('SFTP server', 'slow.test')).rejects.toMatchObject({
      code: 'EAI_AGAIN',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it.each<[string, string, string, boolean]>([
    ['a CIDR block allows the addresses inside it', '10.20.0.0/16', '10.20.3.4', true],
    ['a CIDR block allows nothing outside it', '10.20.0.0/16', '10.21.0.1', false],
    ['an IPv4 block allows its IPv4-mapped IPv6 form', '10.20.0.0/16', '::ffff:10.20.0.5', true],
    ['a single address allows only itself', '127.0.0.1', '127.0.0.2', false],
    ['an IPv6 block', 'fd12:3456::/48', 'fd12:3456:0:1::9', true],
    ['loopback v4 does not allow loopback v6', '127.0.0.0/8', '::1', false],
  ])('allowlist: %s', async (_label, allowlist, address, allowed) => {
    const policy = new NetworkPolicy({ allowlist: parseDestinationAllowlist(allowlist) });
    if (allowed) expect(await policy.resolve('SFTP server', address)).toHaveLength(1);
    else expect((await refusal(policy.resolve('SFTP server', address))).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
  });

  it('an allowlisted host name is trusted whatever it resolves to; a wildcard covers names below it, not itself', async () => {
    const resolve = staticResolver({ sftp: ['172.18.0.5'], 'files.corp.test': ['10.1.1.1'], 'corp.test': ['10.1.1.2'], 'other.test': ['172.18.0.5'] });
    const policy = new NetworkPolicy({ allowlist: parseDestinationAllowlist('sftp, *.corp.test'), resolve });
    expect(await policy.resolve('SFTP server', 'sftp')).toEqual([{ address: '172.18.0.5', family: 4 }]);
    expect(await policy.resolve('SFTP server', 'FILES.corp.test')).toEqual([{ address: '10.1.1.1', family: 4 }]);
    expect((await refusal(policy.resolve('SFTP server', 'corp.test'))).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect((await refusal(policy.resolve('SFTP server', 'other.test'))).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect((await refusal(policy.resolve('SFTP server', '172.18.0.5'))).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
  });

  it('allowingEverything allows loopback and private addresses (for destinations the operator typed)', async () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '::ffff:192.168.0.1']) {
      expect(await NetworkPolicy.allowingEverything().resolve('SFTP server', address)).toHaveLength(1);
    }
  });
});

describe('parseDestinationAllowlist', () => {
  it('reads blocks, addresses and host names, comma-separated', () => {
    const list = parseDestinationAllowlist(' 10.20.0.0/16, ::1 ,127.0.0.1, Sftp., *.corp.example,, ::ffff:10.0.0.0/104 ');
    expect(list.ranges.map((r) => r.cidr)).toEqual(['10.20.0.0/16', '::1/128', '127.0.0.1/32', '10.0.0.0/8']);
    expect(list.hostNames).toEqual(['sftp', '*.corp.example']);
  });

  it.each([
    ['10.0.0.1/8', 'did you mean 10.0.0.0/8?'],
    ['10.0.0.0/33', 'allows 0 to 32'],
    ['fd00::/129', 'allows 0 to 128'],
    ['::ffff:10.0.0.0/64', 'shorter than /96'],
    ['fe80::1%eth0', 'zone index'],
    ['bad host!', 'neither an address'],
    ['*', 'neither an address'],
    ['a.*.example', 'neither an address'],
  ])('refuses %j with ERR_DESTINATION_ALLOWLIST_INVALID (%s)', (entry, message) => {
    expect(() => parseDestinationAllowlist(`127.0.0.1, ${entry}`)).toThrow(
      expect.objectContaining({ code: 'ERR_DESTINATION_ALLOWLIST_INVALID', message: expect.stringContaining(message) }),
    );
  });
});

describe('NetworkPolicy.socketLookup on a real socket', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.end('hello');
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  const dial = (host: string, policy: NetworkPolicy, autoSelectFamily: boolean) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host, port, lookup: policy.socketLookup('test service'), autoSelectFamily });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it.each([true, false])('connects to the checked address of a name unknown to DNS (autoSelectFamily %s)', async (autoSelectFamily) => {
    const policy = new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.1'), resolve: staticResolver({ 'service.test': ['127.0.0.1'] }) });
    expect(await dial('service.test', policy, autoSelectFamily)).toBe('hello');
  });

  it.each([true, false])('refuses before connecting when the name resolves to a refused address (autoSelectFamily %s)', async (autoSelectFamily) => {
    const before = connections;
    const policy = new NetworkPolicy({ resolve: staticResolver({ 'rebound.test': ['127.0.0.1'] }) });
    await expect(dial('rebound.test', policy, autoSelectFamily)).rejects.toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
    expect(connections).toBe(before);
  });
});
