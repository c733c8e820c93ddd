import { isIPv4, isIPv6 } from 'node:net';

/** An IPv4 or IPv6 address as an unsigned integer (32 or 128 bits). */
export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

const MAPPED_PREFIX = 0xffffn;

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = ipv4Value(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const leftGroups = groupsOf(left);
  const rightGroups = right === undefined ? [] : groupsOf(right);
  const zeros = right === undefined ? [] : Array.from({ length: 8 - leftGroups.length - rightGroups.length }, () => '0');
  const value = [...leftGroups, ...zeros, ...rightGroups].reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  return tailV4 === undefined ? value : (value & ~0xffffffffn) | tailV4;
}

/**
 * Parses an IP address literal: IPv4 (`192.0.2.7`), IPv6 (`2001:db8::7`, also in URL brackets `[2001:db8::7]`, a
 * zone index `%eth0` ignored). An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is the IPv4 address it maps: a
 * socket connecting to one reaches the other. `undefined` when `text` is not an address (e.g. a host name).
 *
 * @example
 * parseIpAddress('::ffff:10.0.0.1'); // { version: 4, value: 167772161n }
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const bare = unbracketed.split('%')[0] ?? '';
  if (isIPv4(bare)) return { version: 4, value: ipv4Value(bare) };
  if (!isIPv6(bare)) return undefined;
  const value = ipv6Value(bare);
  if (value >> 32n === MAPPED_PREFIX) return { version: 4, value: value & 0xffffffffn };
  return { version: 6, value };
}

/**
 * The canonical text of an address: dotted IPv4, or IPv6 with the longest run of zero groups shortened to `::`.
 *
 * @example
 * formatIpAddress({ version: 6, value: 1n }); // '::1'
 */
export function formatIpAddress(address: IpAddress): string {
  const { version, value } = address;
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (value >> BigInt((7 - i) * 16)) & 0xffffn);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0n) length += 1;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
