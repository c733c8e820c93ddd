import { RetentionError } from '../errors.js';
import type { IpAddress } from './ip-address.js';
import { ipRangeContains, parseIpRange, type IpRange } from './ip-range.js';

/** The operator variable that lists the non-public destinations tenant settings may reach. */
export const PRIVATE_DESTINATIONS_VARIABLE = 'ALLOWED_PRIVATE_DESTINATIONS';

/**
 * Non-public destinations the operator allows tenant settings to reach: address blocks, and host names trusted
 * whatever they resolve to (`sftp`, `*.corp.example` for any name below `corp.example`). Empty: none.
 */
export interface DestinationAllowlist {
  ranges: readonly IpRange[];
  /** Lower case, without a trailing dot; `*.example.net` matches names below `example.net`, not itself. */
  hostNames: readonly string[];
}

/** An allowlist that allows nothing: only public addresses are reached. */
export const EMPTY_DESTINATION_ALLOWLIST: DestinationAllowlist = Object.freeze({ ranges: Object.freeze([]), hostNames: Object.freeze([]) });

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** Words an operator may write meaning "on" or "off"; refused rather than taken for host names. */
const SWITCH_WORDS = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'all', 'any', 'none']);
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

/** A host name as matched: lower case, without a trailing dot. */
export function normalizeHostName(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Parses the comma-separated `ALLOWED_PRIVATE_DESTINATIONS`: CIDR blocks or single addresses (`10.20.0.0/16`,
 * `fd12:3456::/48`, `127.0.0.1`) and host names (`sftp`, `*.corp.example`). Throws `ERR_DESTINATION_ALLOWLIST_INVALID`
 * naming the first bad entry.
 *
 * @example
 * parseDestinationAllowlist('127.0.0.0/8, ::1, sftp').hostNames; // ['sftp']
 */
export function parseDestinationAllowlist(text: string): DestinationAllowlist {
  const ranges: IpRange[] = [];
  const hostNames: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (/^[0-9.]+(?:\/\d+)?$/.test(item) || item.includes(':')) {
      try {
        ranges.push(parseIpRange(item));
      } catch (err) {
        const why = err instanceof RetentionError ? err.message : `"${item}" is not an address or CIDR block`;
        throw new RetentionError('ERR_DESTINATION_ALLOWLIST_INVALID', why, { cause: err });
      }
      continue;
    }
    const name = normalizeHostName(item);
    if (SWITCH_WORDS.has(name)) {
      throw new RetentionError(
        'ERR_DESTINATION_ALLOWLIST_INVALID',
        `"${item}" is not a switch: list address blocks (10.0.0.0/8; 0.0.0.0/0 and ::/0 allow every address) or host names`,
      );
    }
    if (!HOST_NAME.test(name) || name.length > 253) {
      throw new RetentionError(
        'ERR_DESTINATION_ALLOWLIST_INVALID',
        `"${item.slice(0, 80)}" is neither an address, a CIDR block (10.0.0.0/8, fd00::/8) nor a host name (sftp, *.corp.example)`,
      );
    }
    hostNames.push(name);
  }
  return Object.freeze({ ranges: Object.freeze(ranges), hostNames: Object.freeze(hostNames) });
}

/**
 * Whether the allowlist names `host` (`*.corp.example` names every host below `corp.example`).
 *
 * @example
 * allowlistNamesHost(parseDestinationAllowlist('*.corp.example'), 'SFTP.corp.example.'); // true
 */
export function allowlistNamesHost(allowlist: DestinationAllowlist, host: string): boolean {
  const name = normalizeHostName(host);
  return allowlist.hostNames.some((entry) => (entry.startsWith('*.') ? name.endsWith(entry.slice(1)) : name === entry));
}

/** Whether one of the allowlist's blocks holds `address`. */
export function allowlistHoldsAddress(allowlist: DestinationAllowlist, address: IpAddress): boolean {
  return allowlist.ranges.some((range) => ipRangeContains(range, address));
}
