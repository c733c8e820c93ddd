import { isIPv6 } from 'node:net';
import { RetentionError } from '../errors.js';
import { formatIpAddress, parseIpAddress, type IpAddress } from './ip-address.js';

/** A block of addresses: a network address (host bits zero) and a prefix length. */
export interface IpRange {
  version: 4 | 6;
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `fc00::/7`; a single address as `/32` or `/128`. */
  cidr: string;
}

const BITS = { 4: 32, 6: 128 } as const;

function maskOf(version: 4 | 6, prefix: number): bigint {
  const bits = BigInt(BITS[version]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** How {@link parseIpRange} reads an entry. */
export interface IpRangeParsing {
  /** The code of the error for an unreadable entry. Default `ERR_IP_RANGE_INVALID`. */
  errorCode?: 'ERR_IP_RANGE_INVALID' | 'ERR_IP_ALLOWLIST_INVALID';
  /**
   * An IPv4-mapped IPv6 block shorter than `/96` (`::ffff:0:0/64`) covers more than IPv4 addresses: `'refuse'` it
   * (default; write the IPv4 block instead), or keep it as the `'ipv6'` block it is, which matches no IPv4 address.
   */
  shortMappedBlocks?: 'refuse' | 'ipv6';
}

/**
 * Parses an address (`192.0.2.7`, meaning just that address) or a CIDR block (`10.0.0.0/8`, `fd00::/8`). An
 * IPv4-mapped IPv6 block of `/96` or longer (`::ffff:10.0.0.0/104`) is the IPv4 block it maps (`10.0.0.0/8`).
 * Throws `ERR_IP_RANGE_INVALID` (or `parsing.errorCode`) saying what is wrong, e.g. host bits set (`10.0.0.1/8`: did
 * you mean `10.0.0.0/8`?), a prefix out of range or a zone index.
 *
 * @example
 * parseIpRange('172.16.0.0/12').cidr; // '172.16.0.0/12'
 */
export function parseIpRange(entry: string, parsing: IpRangeParsing = {}): IpRange {
  const fail = (why: string): RetentionError => new RetentionError(parsing.errorCode ?? 'ERR_IP_RANGE_INVALID', `"${entry.slice(0, 80)}" ${why}`);
  const text = entry.trim();
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (addressText.includes('%')) throw fail('has a zone index (%…); list the address without it');
  const parsed = addressText.includes('[') ? undefined : parseIpAddress(addressText);
  if (parsed === undefined) throw fail('is not an IPv4 or IPv6 address or CIDR block (examples: 10.0.0.0/8, fd00::/8; no brackets)');
  const writtenBits = isIPv6(addressText) ? 128 : 32;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw fail(`has a prefix length that is not a number from 0 to ${writtenBits}`);
  let prefix = prefixText === undefined ? writtenBits : Number(prefixText);
  if (prefix > writtenBits) throw fail(`has prefix length /${prefix}; ${writtenBits === 128 ? 'IPv6' : 'IPv4'} allows 0 to ${writtenBits}`);
  let address: IpAddress = parsed;
  if (writtenBits === 128 && parsed.version === 4) {
    if (prefix >= 96) prefix -= 96;
    else if (parsing.shortMappedBlocks === 'ipv6') address = { version: 6, value: (0xffffn << 32n) | parsed.value };
    else throw fail('is an IPv4-mapped block shorter than /96; write the IPv4 block instead (e.g. 10.0.0.0/8)');
  }
  const network = address.value & maskOf(address.version, prefix);
  if (network !== address.value) {
    throw fail(`has host bits set after /${prefix}; did you mean ${formatIpAddress({ version: address.version, value: network })}/${prefix}?`);
  }
  return { version: address.version, network, prefix, cidr: `${formatIpAddress({ version: address.version, value: network })}/${prefix}` };
}

/**
 * Whether `address` lies in `range` (an IPv4 address never lies in an IPv6 range, and the other way round).
 *
 * @example
 * ipRangeContains(parseIpRange('10.0.0.0/8'), parseIpAddress('10.1.2.3')!); // true
 */
export function ipRangeContains(range: IpRange, address: IpAddress): boolean {
  return range.version === address.version && (address.value & maskOf(range.version, range.prefix)) === range.network;
}

/**
 * The network of `prefix` bits that `address` lies in, as an address (host bits zero).
 *
 * @example
 * formatIpAddress(networkOf(parseIpAddress('2001:db8:1:2:aaaa::1')!, 64)); // '2001:db8:1:2::'
 */
export function networkOf(address: IpAddress, prefix: number): IpAddress {
  return { version: address.version, value: address.value & maskOf(address.version, prefix) };
}
