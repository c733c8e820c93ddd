import type { IpAddress } from './ip-address.js';
import { ipRangeContains, parseIpRange, type IpRange } from './ip-range.js';

/** Why an address is not a public internet address. */
export type SpecialPurposeKind = 'unspecified' | 'loopback' | 'private' | 'link-local' | 'shared' | 'multicast' | 'reserved';

/** A block of the IANA special-purpose registries (or multicast) that is not reachable on the public internet. */
export interface SpecialPurposeRange {
  kind: SpecialPurposeKind;
  range: IpRange;
  /** What the block is, for messages: "a private network (RFC 1918)". */
  description: string;
}

const entry = (cidr: string, kind: SpecialPurposeKind, description: string): SpecialPurposeRange => ({ kind, range: parseIpRange(cidr), description });

/**
 * The refused blocks, most specific first. IPv4-mapped IPv6 addresses are their IPv4 address (see `parseIpAddress`);
 * NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4 address they embed.
 */
export const SPECIAL_PURPOSE_RANGES: readonly SpecialPurposeRange[] = Object.freeze([
  entry('0.0.0.0/8', 'unspecified', 'the unspecified address or "this network" (0.0.0.0/8), which reaches the worker\'s own machine'),
  entry('10.0.0.0/8', 'private', 'a private network (RFC 1918, 10.0.0.0/8)'),
  entry('100.64.0.0/10', 'shared', 'carrier-grade NAT shared address space (RFC 6598, 100.64.0.0/10)'),
  entry('127.0.0.0/8', 'loopback', "the loopback network (127.0.0.0/8), the worker's own machine"),
  entry('169.254.0.0/16', 'link-local', 'a link-local address (169.254.0.0/16, where cloud metadata services answer)'),
  entry('172.16.0.0/12', 'private', 'a private network (RFC 1918, 172.16.0.0/12)'),
  entry('192.0.0.0/24', 'reserved', 'a reserved block (IETF protocol assignments, 192.0.0.0/24)'),
  entry('192.0.2.0/24', 'reserved', 'a reserved block (documentation, 192.0.2.0/24)'),
  entry('192.88.99.0/24', 'reserved', 'a reserved block (6to4 relay anycast, 192.88.99.0/24)'),
  entry('192.168.0.0/16', 'private', 'a private network (RFC 1918, 192.168.0.0/16)'),
  entry('198.18.0.0/15', 'reserved', 'a reserved block (benchmarking, 198.18.0.0/15)'),
  entry('198.51.100.0/24', 'reserved', 'a reserved block (documentation, 198.51.100.0/24)'),
  entry('203.0.113.0/24', 'reserved', 'a reserved block (documentation, 203.0.113.0/24)'),
  entry('224.0.0.0/4', 'multicast', 'a multicast address (224.0.0.0/4)'),
  entry('240.0.0.0/4', 'reserved', 'a reserved block (future use and broadcast, 240.0.0.0/4)'),
  entry('::/128', 'unspecified', "the unspecified address (::), which reaches the worker's own machine"),
  entry('::1/128', 'loopback', "the loopback address (::1), the worker's own machine"),
  entry('64:ff9b:1::/48', 'reserved', 'a reserved block (local-use NAT64, 64:ff9b:1::/48)'),
  entry('::/8', 'reserved', 'a reserved block (::/8, including IPv4-compatible addresses)'),
  entry('100::/64', 'reserved', 'a reserved block (discard-only, 100::/64)'),
  entry('2001:db8::/32', 'reserved', 'a reserved block (documentation, 2001:db8::/32)'),
  entry('2001::/23', 'reserved', 'a reserved block (IETF protocol assignments such as Teredo, 2001::/23)'),
  entry('3fff::/20', 'reserved', 'a reserved block (documentation, 3fff::/20)'),
  entry('5f00::/16', 'reserved', 'a reserved block (SRv6 SIDs, 5f00::/16)'),
  entry('fc00::/7', 'private', 'a private network (unique local addresses, ULA, fc00::/7)'),
  entry('fec0::/10', 'private', 'a private network (deprecated site-local addresses, fec0::/10)'),
  entry('fe80::/10', 'link-local', 'a link-local address (fe80::/10)'),
  entry('ff00::/8', 'multicast', 'a multicast address (ff00::/8)'),
]);

const NAT64 = parseIpRange('64:ff9b::/96');
const SIX_TO_FOUR = parseIpRange('2002::/16');

function embeddedIpv4(address: IpAddress): { address: IpAddress; via: string } | undefined {
  if (ipRangeContains(NAT64, address)) return { address: { version: 4, value: address.value & 0xffffffffn }, via: 'NAT64 (64:ff9b::/96)' };
  if (ipRangeContains(SIX_TO_FOUR, address)) return { address: { version: 4, value: (address.value >> 80n) & 0xffffffffn }, via: '6to4 (2002::/16)' };
  return undefined;
}

/**
 * The special-purpose block `address` lies in, or `undefined` for a public (globally reachable) address. A NAT64
 * or 6to4 address is judged by the IPv4 address it embeds.
 *
 * @example
 * specialPurposeOf(parseIpAddress('169.254.169.254')!)?.kind; // 'link-local'
 * specialPurposeOf(parseIpAddress('8.8.8.8')!);               // undefined
 */
export function specialPurposeOf(address: IpAddress): SpecialPurposeRange | undefined {
  const embedded = embeddedIpv4(address);
  if (embedded !== undefined) {
    const inner = specialPurposeOf(embedded.address);
    return inner === undefined ? undefined : { ...inner, description: `${inner.description}, embedded in a ${embedded.via} address` };
  }
  return SPECIAL_PURPOSE_RANGES.find((candidate) => ipRangeContains(candidate.range, address));
}
