import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as systemLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { RetentionError } from '../errors.js';
import {
  allowlistHoldsAddress,
  allowlistNamesHost,
  EMPTY_DESTINATION_ALLOWLIST,
  normalizeHostName,
  parseDestinationAllowlist,
  PRIVATE_DESTINATIONS_VARIABLE,
  type DestinationAllowlist,
} from './destination-allowlist.js';
import { parseIpAddress } from './ip-address.js';
import { specialPurposeOf } from './special-purpose-addresses.js';

/** The stable code of a destination refused because it is not a public address. */
export const DESTINATION_NOT_ALLOWED = 'ERR_DESTINATION_NOT_ALLOWED';

/** One address a host name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (the system resolver by default). */
export type HostResolver = (hostName: string) => Promise<readonly ResolvedAddress[]>;

/** Options of {@link NetworkPolicy}. */
export interface NetworkPolicyOptions {
  /** Non-public destinations the operator allows (`ALLOWED_PRIVATE_DESTINATIONS`). @default none */
  allowlist?: DestinationAllowlist;
  /** How host names are resolved. @default the system resolver (`dns.lookup`, every address), as sockets use it */
  resolve?: HostResolver;
  /** Longest wait for one resolution, in ms; a slower one fails like an unanswered DNS query (`EAI_AGAIN`). @default 5000 */
  resolveTimeoutMs?: number;
}

/** The system resolver (`dns.lookup`, every address): what sockets use, `/etc/hosts` included. */
export const systemResolver: HostResolver = async (hostName) =>
  (await systemLookup(hostName, { all: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function wantedFamily(options: LookupOptions): 4 | 6 | undefined {
  const family: unknown = options.family;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

/**
 * Decides which network destinations tenant settings may steer the shared worker (and the portal's connection test)
 * at: public internet addresses only, unless the operator allows a non-public one in `ALLOWED_PRIVATE_DESTINATIONS`.
 * Refused are loopback, private (RFC 1918, ULA), link-local, unspecified, CGNAT shared space, multicast and reserved
 * blocks, also when written as IPv4-mapped IPv6 or embedded in NAT64/6to4 addresses (`SPECIAL_PURPOSE_RANGES`).
 *
 * A host name is resolved and **every** address checked; the connection then goes to a checked address
 * ({@link resolve} for clients that take an address, {@link socketLookup} / {@link httpDispatcher} for sockets), so a
 * name whose DNS answer changes after a check (DNS rebinding) cannot reach an address nobody checked. A host name the
 * operator allowlists is trusted whatever it resolves to.
 *
 * Refusals throw `ERR_DESTINATION_NOT_ALLOWED` (status 400; a permanent job failure), naming the destination, what it
 * is, and the variable that allows it. A host name given as an address is echoed; the addresses a name resolves to
 * are not (they may describe the operator's internal network to a tenant).
 *
 * @example
 * const policy = new NetworkPolicy({ allowlist: parseDestinationAllowlist('sftp, 10.20.0.0/16') });
 * const [address] = await policy.resolve('SFTP server', settings.host); // throws ERR_DESTINATION_NOT_ALLOWED
 * client.connect({ host: address.address, port });
 */
export class NetworkPolicy {
  readonly allowlist: DestinationAllowlist;
  readonly #resolver: HostResolver;
  readonly #resolveTimeoutMs: number;
  readonly #dispatchers = new Map<string, Dispatcher>();

  constructor(options: NetworkPolicyOptions = {}) {
    this.allowlist = options.allowlist ?? EMPTY_DESTINATION_ALLOWLIST;
    this.#resolver = options.resolve ?? systemResolver;
    this.#resolveTimeoutMs = options.resolveTimeoutMs ?? 5_000;
  }

  /**
   * A policy that allows every address: for destinations the operator typed (the CLI's `verify sftp://…`), never for
   * tenant settings.
   */
  static allowingEverything(options: Omit<NetworkPolicyOptions, 'allowlist'> = {}): NetworkPolicy {
    return new NetworkPolicy({ ...options, allowlist: parseDestinationAllowlist('0.0.0.0/0, ::/0') });
  }

  /**
   * The refusal of connecting to `address` on behalf of `host` (the name as configured), or `undefined` when allowed.
   * `purpose` names the destination in the message ("SFTP server", "export API").
   *
   * @example
   * policy.refusalOf('SFTP server', 'localhost', '127.0.0.1')?.code; // 'ERR_DESTINATION_NOT_ALLOWED'
   */
  refusalOf(purpose: string, host: string, address: string): RetentionError | undefined {
    const name = unbracketed(host);
    const literal = parseIpAddress(name) !== undefined;
    if (!literal && allowlistNamesHost(this.allowlist, name)) return undefined;
    const parsed = parseIpAddress(address);
    if (parsed === undefined) {
      return new RetentionError(DESTINATION_NOT_ALLOWED, `${purpose} "${name}" resolved to something that is not an IP address; it is not connected to`);
    }
    const special = specialPurposeOf(parsed);
    if (special === undefined || allowlistHoldsAddress(this.allowlist, parsed)) return undefined;
    const what = literal ? `is ${special.description}` : `resolves to ${special.description}`;
    return new RetentionError(
      DESTINATION_NOT_ALLOWED,
      `${purpose} "${name}" ${what}: tenant settings may not reach the operator's own machines or networks, so it is not connected to. ` +
        `Use a public address, or ask the Retention operator to allow this destination in ${PRIVATE_DESTINATIONS_VARIABLE} (its address block${literal ? '' : ' or host name'})`,
    );
  }

  /**
   * Resolves `host` (a name, or an address taken as it is) and checks every address it has; returns them, in the
   * resolver's order, for the caller to connect to. Throws `ERR_DESTINATION_NOT_ALLOWED` when any is refused, and the
   * resolver's error (`ENOTFOUND`, `EAI_AGAIN`, …) when the name does not resolve.
   *
   * @example
   * const [first] = await policy.resolve('export API', 'api.example.com');
   */
  async resolve(purpose: string, host: string): Promise<ResolvedAddress[]> {
    const name = unbracketed(host);
    const literal = parseIpAddress(name);
    if (literal !== undefined) {
      const refusal = this.refusalOf(purpose, name, name);
      if (refusal) throw refusal;
      return [{ address: name.split('%')[0] ?? name, family: name.includes(':') ? 6 : 4 }];
    }
    const addresses = await this.#resolveName(normalizeHostName(name));
    if (addresses.length === 0) throw Object.assign(new Error(`${name} has no address`), { code: 'ENOTFOUND', hostname: name });
    for (const { address } of addresses) {
      const refusal = this.refusalOf(purpose, name, address);
      if (refusal) throw refusal;
    }
    return [...addresses];
  }

  /**
   * A `lookup` for `net.connect` / `tls.connect` that resolves through {@link resolve}: the socket connects only to
   * addresses this policy checked. Sockets skip `lookup` for a host given as an address, so check those with
   * {@link refusalOf} before connecting (as {@link httpDispatcher} does).
   */
  socketLookup(purpose: string): LookupFunction {
    return (hostName, options, callback) => {
      this.resolve(purpose, hostName).then(
        (resolved) => {
          const family = wantedFamily(options);
          const usable = family === undefined ? resolved : resolved.filter((entry) => entry.family === family);
          const first = usable[0];
          if (first === undefined) {
            callback(Object.assign(new Error(`${hostName} has no IPv${family ?? ''} address`), { code: 'ENOTFOUND', hostname: hostName }), '', 0);
          } else if (options.all === true) {
            callback(
              null,
              usable.map((entry): LookupAddress => ({ address: entry.address, family: entry.family })),
            );
          } else {
            callback(null, first.address, first.family);
          }
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), '', 0),
      );
    };
  }

  /**
   * An HTTP dispatcher (undici `Agent`) for `fetch` whose every connection, redirects included, goes only to addresses
   * this policy allows: names through {@link socketLookup}, addresses checked before connecting. A refusal fails the
   * request with the `ERR_DESTINATION_NOT_ALLOWED` error as its `cause`. One per policy and `purpose` (which names the
   * destination in refusals), shared by its callers.
   */
  httpDispatcher(purpose = 'export API'): Dispatcher {
    let dispatcher = this.#dispatchers.get(purpose);
    if (dispatcher === undefined) {
      const connectChecked = buildConnector({ lookup: this.socketLookup(purpose) });
      dispatcher = new Agent({
        connect: (options, callback) => {
          const host = unbracketed(options.hostname);
          const refusal = parseIpAddress(host) === undefined ? undefined : this.refusalOf(purpose, host, host);
          if (refusal) callback(refusal, null);
          else connectChecked(options, callback);
        },
      });
      this.#dispatchers.set(purpose, dispatcher);
    }
    return dispatcher;
  }

  /** Closes the HTTP dispatchers' idle connections, if any were made. */
  async close(): Promise<void> {
    const dispatchers = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(dispatchers.map((dispatcher) => dispatcher.close()));
  }

  async #resolveName(name: string): Promise<readonly ResolvedAddress[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`resolving ${name} took longer than ${this.#resolveTimeoutMs} ms`), { code: 'EAI_AGAIN', hostname: name })),
        this.#resolveTimeoutMs,
      );
    });
    try {
      return await Promise.race([this.#resolver(name), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Whether `err` is a refusal by a {@link NetworkPolicy}, directly or as the `cause` of a failed request.
 *
 * @example
 * catch (err) { if (destinationRefusalOf(err)) throw destinationRefusalOf(err); }
 */
export function destinationRefusalOf(err: unknown): RetentionError | undefined {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof RetentionError && current.code === DESTINATION_NOT_ALLOWED) return current;
  }
  return undefined;
}
