import { MongoClient, MongoServerSelectionError } from 'mongodb';
import { RetentionError } from '../errors.js';
import { parseIpAddress } from './ip-address.js';
import { DESTINATION_NOT_ALLOWED, destinationRefusalOf, type NetworkPolicy } from './network-policy.js';

/** How refusals name a tenant's own archive MongoDB (and the `lookup` its client connects through). */
export const ARCHIVE_MONGODB = 'archive MongoDB';

/** One place a MongoDB connection string makes the driver connect to, or look records up under. */
export interface MongoUriDestination {
  /** A host name or IP address (IPv6 without brackets), as the driver reads it (percent-decoding included). */
  host: string;
  /** What it is, as refusals name it. */
  purpose: string;
}

/** Where a MongoDB connection string leads, as the driver itself parses it. Nothing is contacted. */
export interface MongoUriDestinations {
  /** The seed hosts, the `mongodb+srv://` name (its SRV and TXT records are looked up under it) and the SOCKS5 `proxyHost`. */
  hosts: MongoUriDestination[];
  /** Unix domain sockets (`%2Ftmp%2Fmongodb-27017.sock`): files on the connecting machine. */
  socketPaths: string[];
}

/**
 * The destinations of `uri` as the MongoDB driver parses it (so a percent-encoded `%31%32%37.0.0.1` is the
 * `127.0.0.1` the driver connects to): its seed hosts, its `mongodb+srv://` name and its `proxyHost`. Throws the
 * driver's `MongoParseError` when the driver would not accept the string. Never echoes the URI's credentials.
 *
 * @example
 * mongoUriDestinations('mongodb://u:pw@h1:27017,[::1]:27018/db').hosts.map((d) => d.host); // ['h1', '::1']
 */
export function mongoUriDestinations(uri: string): MongoUriDestinations {
  const { options } = new MongoClient(uri);
  const hosts: MongoUriDestination[] = [];
  const socketPaths: string[] = [];
  if (options.srvHost) hosts.push({ host: options.srvHost, purpose: `${ARCHIVE_MONGODB} SRV name` });
  for (const address of options.hosts) {
    if (address.socketPath !== undefined) socketPaths.push(address.socketPath);
    else if (address.host !== undefined) hosts.push({ host: address.host, purpose: ARCHIVE_MONGODB });
  }
  if (options.proxyHost) hosts.push({ host: options.proxyHost, purpose: `${ARCHIVE_MONGODB} proxy` });
  return { hosts, socketPaths };
}

function socketRefusal(): RetentionError {
  return new RetentionError(
    DESTINATION_NOT_ALLOWED,
    `${ARCHIVE_MONGODB} is a local socket on the worker's own machine: tenant settings may not reach the operator's own machines, so it is not connected to. Use the host name of a MongoDB server reachable over the network`,
  );
}

/**
 * The refusal of a tenant's archive MongoDB URI by `policy`, or `undefined` when it may be connected to: every seed
 * host, the `mongodb+srv://` name and the `proxyHost` are checked (an address as it is, a name resolved and every
 * address checked); a Unix socket is refused. A name that does not resolve is not refused (the connection resolves
 * and checks it again); a URI the driver cannot parse is left to the driver. Checked at save and before connecting.
 * The message names the refused host, never the URI or its credentials.
 *
 * @example
 * const refusal = await archiveUriRefusal(policy, 'mongodb://db.example.com,10.0.0.5/acme');
 * refusal?.code; // 'ERR_DESTINATION_NOT_ALLOWED'
 */
export async function archiveUriRefusal(policy: NetworkPolicy, uri: string): Promise<RetentionError | undefined> {
  let destinations: MongoUriDestinations;
  try {
    destinations = mongoUriDestinations(uri);
  } catch {
    return undefined;
  }
  if (destinations.socketPaths.length > 0) return socketRefusal();
  for (const { host, purpose } of destinations.hosts) {
    try {
      await policy.resolve(purpose, host);
    } catch (err) {
      const refusal = destinationRefusalOf(err);
      if (refusal) return refusal;
      // Not resolvable now (ENOTFOUND, EAI_AGAIN): the driver's connection resolves it through the policy's lookup.
    }
  }
  return undefined;
}

/**
 * The refusal of a server the driver is about to open (an SDAM `serverOpening` address: a seed, an SRV result or a
 * replica-set member another server reported), when it is written as an address the policy refuses or is a Unix
 * socket. Names are left to the policy's `lookup`, which sockets use; addresses skip it, so they are checked here.
 *
 * @example
 * client.on('serverOpening', (event) => { const refusal = serverAddressRefusal(policy, event.address); ... });
 */
export function serverAddressRefusal(policy: NetworkPolicy, address: string): RetentionError | undefined {
  // The driver writes a server as `host:port`, `[IPv6]:port`, or a socket path ending in `.sock`.
  if (address.endsWith('.sock')) return socketRefusal();
  const host = /^\[([^\]]+)\](?::\d+)?$/.exec(address)?.[1] ?? /^(.*):\d+$/.exec(address)?.[1] ?? address;
  if (parseIpAddress(host) === undefined) return undefined;
  return policy.refusalOf(`${ARCHIVE_MONGODB} server`, host, host);
}

/**
 * The destination refusal behind a MongoDB driver error: the error itself or its `cause` chain, or for a
 * `MongoServerSelectionError` (the driver retrying every server until `serverSelectionTimeoutMS`) the error of any
 * server it tried, whose cause is the policy's `lookup` refusing it. `undefined` when none was refused.
 *
 * @example
 * catch (err) { throw mongoDestinationRefusalOf(err) ?? err; }
 */
export function mongoDestinationRefusalOf(err: unknown): RetentionError | undefined {
  const direct = destinationRefusalOf(err);
  if (direct) return direct;
  if (err instanceof MongoServerSelectionError) {
    for (const server of err.reason?.servers.values() ?? []) {
      const refusal = destinationRefusalOf(server.error);
      if (refusal) return refusal;
    }
  }
  return undefined;
}
