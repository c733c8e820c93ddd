import { describe, expect, it } from 'vitest';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { archiveUriRefusal, mongoUriDestinations, serverAddressRefusal } from '../../../src/network/mongodb-uri-destinations.js';
import { NetworkPolicy, systemResolver } from '../../../src/network/network-policy.js';
import { isPermanentFailure } from '../../../src/queue/permanent-failure.js';
import { staticResolver } from '../../support/destinations.js';

/** The DNS of these tests: `.test` names answered here (unknown ones do not resolve), anything else (localhost) by the system. */
const resolve = staticResolver(
  { 'public.test': ['93.184.216.34'], 'public2.test': ['2606:2800:220:1::1'], 'internal.test': ['10.20.30.40'], 'archive.lan': ['192.168.7.7'] },
  async (name) => (name.endsWith('.test') || name.endsWith('.lan') ? staticResolver({})(name) : systemResolver(name)),
);
const strict = new NetworkPolicy({ resolve });
const CREDENTIALS = ['arch1ve-user', 'S3cret-pw'];
const withCredentials = (hosts: string, rest = '/acme_archive?authSource=admin') => `mongodb://${CREDENTIALS[0]}:${CREDENTIALS[1]}@${hosts}${rest}`;

describe('mongoUriDestinations: where a MongoDB connection string leads, as the driver reads it', () => {
  it('lists every seed host, IPv6 without brackets, and never the credentials', () => {
    const { hosts, socketPaths } = mongoUriDestinations(withCredentials('h1.example.com:27017,h2.example.com:27018,[::1]:27019'));
    expect(hosts).toEqual([
      { host: 'h1.example.com', purpose: 'archive MongoDB' },
      { host: 'h2.example.com', purpose: 'archive MongoDB' },
      { host: '::1', purpose: 'archive MongoDB' },
    ]);
    expect(socketPaths).toEqual([]);
    expect(JSON.stringify(hosts)).not.toContain(CREDENTIALS[1]);
  });

  it('names the SRV name of mongodb+srv://, the proxy host and Unix sockets', () => {
    expect(mongoUriDestinations('mongodb+srv://cluster0.example.com/acme').hosts).toEqual([
      { host: 'cluster0.example.com', purpose: 'archive MongoDB SRV name' },
    ]);
    expect(mongoUriDestinations('mongodb://db.example.com/?proxyHost=10.0.0.9&proxyPort=1080').hosts.map((d) => d.host)).toEqual([
      'db.example.com',
      '10.0.0.9',
    ]);
    expect(mongoUriDestinations('mongodb://%2Ftmp%2Fmongodb-27017.sock/acme').socketPaths).toEqual(['/tmp/mongodb-27017.sock']);
  });

  it('decodes percent-encoded hosts as the driver does, so an encoded loopback address is seen as one', () => {
    expect(mongoUriDestinations('mongodb://%31%32%37.0.0.1:27017/acme').hosts.map((d) => d.host)).toEqual(['127.0.0.1']);
  });
});

describe('archiveUriRefusal: a tenant archive URI within the destination policy (issue #10.6)', () => {
  it.each([
    ['a loopback address', withCredentials('127.0.0.1:27017'), '"127.0.0.1" is the loopback'],
    ['localhost (resolved by the system)', withCredentials('localhost:27017'), '"localhost" resolves to the loopback'],
    ['the IPv6 loopback address in brackets', withCredentials('[::1]:27017'), '"::1" is the loopback'],
    ['a private 10.x address', withCredentials('10.1.2.3'), '"10.1.2.3" is a private network'],
    ['a host list where only the second host is private', withCredentials('public.test:27017,10.9.8.7:27018,public2.test'), '"10.9.8.7" is a private network'],
    ['a host name resolving to a private address', withCredentials('public.test,internal.test:27018'), '"internal.test" resolves to a private network'],
    ['a mongodb+srv:// name resolving to a private address', 'mongodb+srv://internal.test/acme', 'SRV name "internal.test" resolves to a private network'],
    ['a private proxyHost', `${withCredentials('public.test')}&proxyHost=192.168.0.2`, 'proxy "192.168.0.2" is a private network'],
    ['an encoded loopback address', withCredentials('%31%32%37.0.0.1'), '"127.0.0.1" is the loopback'],
  ])('refuses %s with ERR_DESTINATION_NOT_ALLOWED, naming the host and never the credentials', async (_label, uri, what) => {
    const refusal = await archiveUriRefusal(strict, uri);
    expect(refusal?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(refusal?.message).toContain(what);
    expect(refusal?.message).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    for (const secret of [...CREDENTIALS, uri]) expect(refusal?.message).not.toContain(secret);
    expect(isPermanentFailure(refusal)).toBe(true);
  });

  it('refuses a Unix socket on the worker machine', async () => {
    const refusal = await archiveUriRefusal(strict, 'mongodb://%2Ftmp%2Fmongodb-27017.sock/acme');
    expect(refusal?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(refusal?.message).toContain('local socket');
  });

  it.each([
    ['public hosts', withCredentials('public.test:27017,public2.test:27018')],
    ['a name that does not resolve yet (checked again when the worker connects)', withCredentials('not-yet-in-dns.test')],
    ['a mongodb+srv:// name without an address of its own', 'mongodb+srv://cluster0.not-in-dns.test/acme'],
  ])('accepts %s', async (_label, uri) => {
    expect(await archiveUriRefusal(strict, uri)).toBeUndefined();
  });

  it('accepts private hosts the operator allowed, by address block or by host name', async () => {
    const allowing = new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.0/8, ::1/128, 10.0.0.0/8, archive.lan'), resolve });
    expect(await archiveUriRefusal(allowing, withCredentials('127.0.0.1:27017,[::1]:27018,10.1.2.3,archive.lan'))).toBeUndefined();
    expect((await archiveUriRefusal(allowing, withCredentials('archive.lan,192.168.7.7')))?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
  });

  it('leaves a string the driver cannot parse to the format check', async () => {
    expect(await archiveUriRefusal(strict, 'https://example.com')).toBeUndefined();
  });
});

describe('serverAddressRefusal: servers the driver opens at an address (SDAM serverOpening)', () => {
  it.each(['127.0.0.1:27017', '[::1]:27017', '[fe80::1%eth0]:27017', '10.0.0.5:27017', '169.254.169.254:80', '/tmp/mongodb-27017.sock'])(
    'refuses %s',
    (address) => {
      expect(serverAddressRefusal(strict, address)?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    },
  );

  it('leaves host names to the socket lookup and allows public or allowlisted addresses', () => {
    expect(serverAddressRefusal(strict, 'internal.test:27017')).toBeUndefined();
    expect(serverAddressRefusal(strict, '93.184.216.34:27017')).toBeUndefined();
    expect(serverAddressRefusal(new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.0/8') }), '127.0.0.1:27017')).toBeUndefined();
  });
});
