import { tmpdir } from 'node:os';
import { parseDestinationAllowlist } from '../../src/network/destination-allowlist.js';
import { NetworkPolicy, type HostResolver } from '../../src/network/network-policy.js';
import type { DestinationPolicy } from '../../src/tenants/destination-policy.js';

/**
 * `ALLOWED_PRIVATE_DESTINATIONS` of the test bed: the loopback addresses where its sshd, export API fixture and
 * closed ports live, nothing else private.
 */
export const TEST_ALLOWED_PRIVATE_DESTINATIONS = '127.0.0.0/8, ::1/128';

/** `LOCAL_TARGET_BASE_DIR` of the test bed: the temp directory every test makes its drop directories in. */
export const TEST_LOCAL_TARGET_BASE_DIR = tmpdir();

/** The operator allowances of the test bed as a destination policy (loopback allowed, local targets below the temp dir). */
export function testDestinations(overrides: Partial<DestinationPolicy> = {}): DestinationPolicy {
  return {
    network: new NetworkPolicy({ allowlist: parseDestinationAllowlist(TEST_ALLOWED_PRIVATE_DESTINATIONS) }),
    localTargetBaseDir: TEST_LOCAL_TARGET_BASE_DIR,
    ...overrides,
  };
}

/**
 * A DNS stand-in for names under the reserved `.test` domain (RFC 6761): each name answers the addresses listed (a
 * function may answer differently each time, as a rebinding DNS server would); any other name goes to `fallback`, or
 * fails with `ENOTFOUND` as an unknown name does.
 */
export function staticResolver(answers: Record<string, readonly string[] | (() => readonly string[])>, fallback?: HostResolver): HostResolver {
  return async (name) => {
    const entry = answers[name];
    const addresses = typeof entry === 'function' ? entry() : entry;
    if (addresses === undefined) {
      if (fallback) return fallback(name);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
    }
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}
