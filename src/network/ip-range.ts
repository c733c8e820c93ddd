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

/**
 * Parses an address (`192.0.2.7`, meaning just that address) or a CIDR block (`10.0.0.0/8`, `fd00::/8`). An
 * IPv4-mapped IPv6 block of `/96` or longer (`::ffff:10.0.0.0/104`) is the IPv4 block it maps (`10.0.0.0/8`).
 * Throws `ERR_IP_RANGE_INVALID` saying what is wrong, e.g. host bits set (`10.0.0.1/8`: did you mean `10.0.0.0/8`?).
 *
 * @example
 * parseIpRange('172.16.0.0/12').cidr; // '172.16.0.0/12'
 */
export function parseIpRange(entry: string): IpRange {
  const fail = (why: string): RetentionError => new RetentionError('ERR_IP_RANGE_INVALID', `"${entry.slice(0, 80)}" ${why}`, 400);
  const text = entry.trim();
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (addressText.includes('%') || addressText.includes('[')) throw fail('is not an address or CIDR block (examples: 10.0.0.0/8, fd00::/8; no zone index, no brackets)');
  const parsed = parseIpAddress(addressText);
  if (parsed === undefined) throw fail('is not an IPv4 or IPv6 address or CIDR block (examples: 10.0.0.0/8, fd00::/8)');
  const writtenBits = isIPv6(addressText) ? 128 : 32;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw fail(`has a prefix length that is not a number from 0 to ${writtenBits}`);
  let prefix = prefixText === undefined ? writtenBits : Number(prefixText);
  if (prefix > writtenBits) throw fail(`has prefix length /${prefix}; ${writtenBits === 128 ? 'IPv6' : 'IPv4'} allows 0 to ${writtenBits}`);
  if (writtenBits === 128 && parsed.version === 4) {
    if (prefix < 96) throw fail('is an IPv4-mapped block shorter than /96; write the IPv4 block instead (e.g. 10.0.0.0/8)');
    prefix -= 96;
  }
  const network = parsed.value & maskOf(parsed.version, prefix);
  if (network !== parsed.value) {
    throw fail(`has host bits set after /${prefix}; did you mean ${formatIpAddress({ version: parsed.version, value: network })}/${prefix}?`);
  }
  return { version: parsed.version, network, prefix, cidr: `${formatIpAddress({ version: parsed.version, value: network })}/${prefix}` };
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
