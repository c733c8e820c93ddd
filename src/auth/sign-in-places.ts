import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** How many places of a user are remembered; the oldest is forgotten first. */
export const KNOWN_SIGN_IN_PLACES = 20;

/** A browser and system as a notice names them: "Firefox on Windows". */
export function describeUserAgent(userAgent: string): string {
  const ua = userAgent.slice(0, 500);
  const browser = /\bEdg(?:e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /\b(?:OPR|Opera)\//.test(ua)
      ? 'Opera'
      : /\bFirefox\/|\bFxiOS\//.test(ua)
        ? 'Firefox'
        : /\bChrom(?:e|ium)\/|\bCriOS\//.test(ua)
          ? 'Chrome'
          : /\bVersion\/[\d.]+.*\bSafari\//.test(ua)
            ? 'Safari'
            : 'an unrecognised browser';
  const system = /\bWindows\b/.test(ua)
    ? 'Windows'
    : /\b(?:iPhone|iPad|iPod)\b/.test(ua)
      ? 'iOS'
      : /\bMac OS X\b|\bMacintosh\b/.test(ua)
        ? 'macOS'
        : /\bAndroid\b/.test(ua)
          ? 'Android'
          : /\bCrOS\b/.test(ua)
            ? 'ChromeOS'
            : /\bLinux\b/.test(ua)
              ? 'Linux'
              : undefined;
  return system === undefined ? browser : `${browser} on ${system}`;
}

/** The network a client address belongs to, as a place: an IPv4 /24 or an IPv6 /48. */
export function networkOf(ip: string): string {
  const address = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(address)) {
    const [head = '', tail = ''] = address.split('::');
    const left = head === '' ? [] : head.split(':');
    const right = tail === '' ? [] : tail.split(':');
    const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
    return `${groups
      .slice(0, 3)
      .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
      .join(':')}::/48`;
  }
  return 'unknown';
}

/**
 * The place of a sign-in (ASVS 2.2.3 "sign-in from unknown places"): the client's network and its browser and system,
 * kept only as a SHA-256 (the user's record holds no address or user agent). A sign-in from a place not among the
 * user's remembered ones is a new place.
 *
 * @example
 * signInPlace('203.0.113.45', 'Mozilla/5.0 (Windows NT 10.0) … Firefox/133.0');
 * // { key: '…64 hex…', network: '203.0.113.0/24', device: 'Firefox on Windows' }
 */
export function signInPlace(ip: string, userAgent: string): { key: string; network: string; device: string } {
  const network = networkOf(ip);
  const device = describeUserAgent(userAgent);
  return { key: createHash('sha256').update(`${network}\n${device}`).digest('hex'), network, device };
}
