import { formatIpAddress, parseIpAddress, type IpAddress } from '../network/ip-address.js';
import { ipRangeContains, networkOf, parseIpRange, type IpRange } from '../network/ip-range.js';
import { RetentionError } from '../errors.js';

export type { IpRange } from '../network/ip-range.js';

/** A parsed allowlist. Empty means every address is allowed. */
export type IpAllowlist = readonly IpRange[];

/** One entry that could not be read, for the settings form. */
export interface IpAllowlistProblem {
  /** 1-based line of the entry in the text. */
  line: number;
  entry: string;
  message: string;
}

/** At most this many entries per tenant. */
export const MAX_IP_ALLOWLIST_ENTRIES = 500;

/**
 * Parses an IPv4 or IPv6 address as an allowlist or a client address: no zone index and no URL brackets;
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) comes back as IPv4.
 */
function parseAddress(text: string): IpAddress | undefined {
  if (text.includes('%') || text.startsWith('[')) return undefined;
  return parseIpAddress(text);
}

/**
 * Parses one entry: an address (`192.0.2.7`, `2001:db8::7`, meaning just that address) or a CIDR block
 * (`192.0.2.0/24`, `2001:db8::/32`). An IPv4-mapped IPv6 entry (`::ffff:192.0.2.0/120`) becomes the IPv4 block
 * (`192.0.2.0/24`); an IPv6 block wider than `::ffff:0:0/96` stays IPv6 and matches no IPv4 client, just as
 * `::/0` allows all IPv6 but no IPv4 (list `0.0.0.0/0` as well for that).
 * Throws `ERR_IP_ALLOWLIST_INVALID` with a message saying what is wrong, e.g. host bits set (`10.0.0.1/8`: did
 * you mean `10.0.0.0/8`?), a prefix out of range or a zone index.
 *
 * @example
 * parseCidr('10.1.0.0/16') // { version: 4, network: 167837696n, prefix: 16, cidr: '10.1.0.0/16' }
 */
export function parseCidr(entry: string): IpRange {
  return parseIpRange(entry, { errorCode: 'ERR_IP_ALLOWLIST_INVALID', shortMappedBlocks: 'ipv6' });
}

function splitEntries(input: string | readonly string[]): { line: number; entry: string }[] {
  const lines = typeof input === 'string' ? input.split(/\r?\n/) : input;
  return lines.flatMap((text, index) =>
    text
      .replace(/#.*$/, '')
      .split(/[\s,;]+/)
      .filter((entry) => entry !== '')
      .map((entry) => ({ line: index + 1, entry })),
  );
}

/**
 * Reads an allowlist as typed on the settings page (one or more entries per line, separated by spaces, commas or
 * semicolons; `#` starts a comment) or as a stored array of entries. Returns the ranges (deduplicated, in order)
 * and every problem found, so the form can show them all at once.
 *
 * @example
 * validateIpAllowlist('10.0.0.0/8  # office\n2001:db8::/32, 192.0.2.300')
 * // { ranges: [10.0.0.0/8, 2001:db8::/32], problems: [{ line: 2, entry: '192.0.2.300', message: '…' }] }
 */
export function validateIpAllowlist(input: string | readonly string[]): { ranges: IpRange[]; problems: IpAllowlistProblem[] } {
  const ranges = new Map<string, IpRange>();
  const problems: IpAllowlistProblem[] = [];
  for (const { line, entry } of splitEntries(input)) {
    try {
      const range = parseCidr(entry);
      if (!ranges.has(range.cidr)) ranges.set(range.cidr, range);
    } catch (err) {
      if (!(err instanceof RetentionError)) throw err;
      problems.push({ line, entry: entry.slice(0, 80), message: err.message });
    }
  }
  if (ranges.size > MAX_IP_ALLOWLIST_ENTRIES) {
    problems.push({
      line: 0,
      entry: '',
      message: `the list has ${ranges.size} entries; at most ${MAX_IP_ALLOWLIST_ENTRIES} are allowed: merge neighbouring ones into wider blocks`,
    });
  }
  return { ranges: [...ranges.values()], problems };
}

/**
 * Like {@link validateIpAllowlist} but throws `ERR_IP_ALLOWLIST_INVALID` listing the problems (up to five) when
 * there is any. Use it where a list must be valid (loading stored settings).
 *
 * @example
 * const allowlist = parseIpAllowlist(settings.ipAllowlist); // ['10.0.0.0/8', '2001:db8::/32']
 */
export function parseIpAllowlist(input: string | readonly string[]): IpAllowlist {
  const { ranges, problems } = validateIpAllowlist(input);
  if (problems.length > 0) {
    const listed = problems
      .slice(0, 5)
      .map((p) => (p.line > 0 ? `line ${p.line}: ${p.message}` : p.message))
      .join('; ');
    throw new RetentionError('ERR_IP_ALLOWLIST_INVALID', `IP allowlist: ${listed}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  }
  return Object.freeze(ranges);
}

/**
 * True when `ip` is inside one of the ranges, or when the list is empty (no restriction). IPv4-mapped IPv6
 * addresses (`::ffff:192.0.2.7`, as a dual-stack server reports IPv4 clients) are matched as IPv4. An address that
 * cannot be parsed (missing, with a zone index, garbage) is refused whenever the list is not empty: fail securely.
 * Which address is the client's is decided by Express's `trust proxy` (`req.ip`), not here.
 *
 * @example
 * isAllowed(parseIpAllowlist(['192.0.2.0/24']), '::ffff:192.0.2.7') // true
 * isAllowed([], '203.0.113.9')                                        // true
 */
export function isAllowed(list: IpAllowlist, ip: string | undefined): boolean {
  if (list.length === 0) return true;
  const address = typeof ip === 'string' ? parseAddress(ip.trim()) : undefined;
  if (address === undefined) return false;
  return list.some((range) => ipRangeContains(range, address));
}

/** The one rate-limit bucket of every client address that does not parse. */
export const UNPARSED_ADDRESS_BUCKET = 'unparsed';

/**
 * The unit a client is rate-limited by: its IPv4 address, or for IPv6 its /64 network (one subscriber usually
 * holds a whole /64, so counting single IPv6 addresses would be trivial to evade). IPv4-mapped IPv6 counts as IPv4.
 * Anything that is not an address (missing, garbage from a proxy header, an address with a zone id) falls into one
 * shared bucket, {@link UNPARSED_ADDRESS_BUCKET}: limited together, never unlimited.
 *
 * @example
 * clientAddressBucket('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * clientAddressBucket('::ffff:192.0.2.7')     // '192.0.2.7'
 * clientAddressBucket('not-an-ip')            // 'unparsed'
 */
export function clientAddressBucket(ip: string | undefined): string {
  const address = typeof ip === 'string' ? parseAddress(ip.trim()) : undefined;
  if (address === undefined) return UNPARSED_ADDRESS_BUCKET;
  if (address.version === 4) return formatIpAddress(address);
  return `${formatIpAddress(networkOf(address, 64))}/64`;
}
