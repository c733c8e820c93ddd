import { describe, expect, it } from 'vitest';
import { clientAddressBucket, isAllowed, parseCidr, parseIpAllowlist, validateIpAllowlist } from '../../../src/auth/ip-allowlist.js';
import { RetentionError } from '../../../src/errors.js';

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (err instanceof RetentionError) return err.message;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 4, 8, '10.0.0.0/8'],
    ['192.0.2.7', 4, 32, '192.0.2.7/32'],
    [' 192.0.2.0/24 ', 4, 24, '192.0.2.0/24'],
    ['0.0.0.0/0', 4, 0, '0.0.0.0/0'],
    ['2001:db8::/32', 6, 32, '2001:db8::/32'],
    ['2001:DB8:0:0:0:0:0:1', 6, 128, '2001:db8::1/128'],
    ['2001:db8:0:1::/64', 6, 64, '2001:db8:0:1::/64'],
    ['::1', 6, 128, '::1/128'],
    ['::/0', 6, 0, '::/0'],
    ['fe80::/10', 6, 10, 'fe80::/10'],
    ['::ffff:192.0.2.7', 4, 32, '192.0.2.7/32'],
    ['::ffff:192.0.2.0/120', 4, 24, '192.0.2.0/24'],
    ['::ffff:c000:0200/120', 4, 24, '192.0.2.0/24'],
    ['::ffff:0:0/96', 4, 0, '0.0.0.0/0'],
    ['2001:db8:0:0:1:0:0:1', 6, 128, '2001:db8::1:0:0:1/128'],
  ])('reads %j', (entry, version, prefix, cidr) => {
    expect(parseCidr(entry)).toMatchObject({ version, prefix, cidr });
  });

  it.each([
    ['', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.1/8', 'did you mean 10.0.0.0/8?'],
    ['2001:db8::1/32', 'did you mean 2001:db8::/32?'],
    ['10.0.0.0/33', 'IPv4 allows 0 to 32'],
    ['2001:db8::/129', 'IPv6 allows 0 to 128'],
    ['10.0.0.0/', 'not a number'],
    ['10.0.0.0/-1', 'not a number'],
    ['10.0.0.0/8/8', 'not a number'],
    ['10.0.0.0/ 8', 'not a number'],
    ['256.0.0.1', 'is not an IPv4 or IPv6 address'],
    ['10.0.0', 'is not an IPv4 or IPv6 address'],
    ['010.0.0.1', 'is not an IPv4 or IPv6 address'],
    ['1.2.3.4.5', 'is not an IPv4 or IPv6 address'],
    ['2001:db8:::1', 'is not an IPv4 or IPv6 address'],
    ['2001:db8::g', 'is not an IPv4 or IPv6 address'],
    ['fe80::1%eth0', 'zone index'],
    ['example.com', 'is not an IPv4 or IPv6 address'],
    ['*', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.*', 'is not an IPv4 or IPv6 address'],
  ])('refuses %j, saying %j', (entry, why) => {
    expect(codeOf(() => parseCidr(entry))).toBe('ERR_IP_ALLOWLIST_INVALID');
    expect(messageOf(() => parseCidr(entry))).toContain(why);
  });
});

describe('validateIpAllowlist / parseIpAllowlist', () => {
  it('reads the settings text: lines, commas, comments, duplicates', () => {
    const { ranges, problems } = validateIpAllowlist('10.0.0.0/8  # office\n\n2001:db8::/32, 192.0.2.7; 10.0.0.0/8\n# only a comment');
    expect(problems).toEqual([]);
    expect(ranges.map((r) => r.cidr)).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32']);
  });

  it('lists every bad entry with its line', () => {
    const { ranges, problems } = validateIpAllowlist('10.0.0.0/8\n192.0.2.300, 10.1.1.1/16\nnonsense');
    expect(ranges.map((r) => r.cidr)).toEqual(['10.0.0.0/8']);
    expect(problems.map((p) => [p.line, p.entry])).toEqual([
      [2, '192.0.2.300'],
      [2, '10.1.1.1/16'],
      [3, 'nonsense'],
    ]);
  });

  it('accepts a stored array and refuses a bad one with ERR_IP_ALLOWLIST_INVALID', () => {
    expect(parseIpAllowlist(['192.0.2.0/24', '2001:db8::/48']).map((r) => r.cidr)).toEqual(['192.0.2.0/24', '2001:db8::/48']);
    expect(codeOf(() => parseIpAllowlist(['192.0.2.0/24', 'bad']))).toBe('ERR_IP_ALLOWLIST_INVALID');
    expect(messageOf(() => parseIpAllowlist(['192.0.2.0/24', 'bad']))).toContain('line 2');
  });

  it('bounds the number of entries', () => {
    const many = Array.from({ length: 501 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    expect(codeOf(() => parseIpAllowlist(many))).toBe('ERR_IP_ALLOWLIST_INVALID');
    expect(parseIpAllowlist(many.slice(0, 500))).toHaveLength(500);
  });

  it('an empty list parses to no ranges', () => {
    expect(parseIpAllowlist('')).toEqual([]);
    expect(parseIpAllowlist([])).toEqual([]);
  });
});

describe('isAllowed', () => {
  const list = parseIpAllowlist(['192.0.2.0/24', '198.51.100.7', '2001:db8:abcd::/48', '::1']);

  it.each([
    ['192.0.2.0', true],
    ['192.0.2.255', true],
    ['192.0.3.0', false],
    ['192.0.1.255', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['::ffff:192.0.2.7', true],
    ['::FFFF:192.0.2.7', true],
    ['::ffff:c000:207', true],
    ['::ffff:198.51.100.8', false],
    ['2001:db8:abcd:1234::1', true],
    ['2001:db8:abcd:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8:abce::1', false],
    ['::1', true],
    ['::2', false],
    ['127.0.0.1', false],
    ['::192.0.2.7', false],
    ['fe80::1%eth0', false],
    ['', false],
    ['not an ip', false],
    [undefined, false],
  ])('%j → %j', (ip, expected) => {
    expect(isAllowed(list, ip)).toBe(expected);
  });

  it.each([['203.0.113.9'], ['2001:db8::1'], [undefined], ['garbage']])('an empty list allows %j', (ip) => {
    expect(isAllowed([], ip)).toBe(true);
  });

  it('an IPv6 block wider than the IPv4-mapped /96 stays IPv6 and does not match plain IPv4 clients', () => {
    const wide = parseIpAllowlist(['::fffe:0:0/95']);
    expect(wide[0]?.version).toBe(6);
    expect(isAllowed(wide, '192.0.2.7')).toBe(false);
    expect(isAllowed(parseIpAllowlist(['::ffff:0:0/96']), '192.0.2.7')).toBe(true);
  });

  it('0.0.0.0/0 allows all IPv4 but no IPv6; ::/0 the reverse', () => {
    expect(isAllowed(parseIpAllowlist(['0.0.0.0/0']), '203.0.113.9')).toBe(true);
    expect(isAllowed(parseIpAllowlist(['0.0.0.0/0']), '2001:db8::1')).toBe(false);
    expect(isAllowed(parseIpAllowlist(['::/0']), '2001:db8::1')).toBe(true);
  });
});

describe('clientAddressBucket', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['::1', '::/64'],
    ['nonsense', 'unparsed'],
    ['fe80::1%eth0', 'unparsed'],
    ['', 'unparsed'],
    ['192.0.2.7, 198.51.100.1', 'unparsed'],
    [undefined, 'unparsed'],
  ])('%j → %j', (ip, bucket) => {
    expect(clientAddressBucket(ip)).toBe(bucket);
  });
});
