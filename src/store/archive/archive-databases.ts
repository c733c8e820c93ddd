import { createHash } from 'node:crypto';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import type { Keyring } from '../../crypto/keyring.js';
import { RetentionError } from '../../errors.js';
import { ARCHIVE_MONGODB, archiveUriRefusal, mongoDestinationRefusalOf, serverAddressRefusal } from '../../network/mongodb-uri-destinations.js';
import { NetworkPolicy } from '../../network/network-policy.js';
import type { RetentionSettings } from '../../tenants/retention-settings.js';
import { openRetentionSecret } from '../../tenants/secret-context.js';
import { assertTenantId } from '../../tenants/tenant-id.js';

/** Longest database name MongoDB accepts. */
const MAX_DATABASE_NAME = 63;

/**
 * The archive database name of a tenant on the shared server: `<prefix><tenant>`; when that is longer than MongoDB
 * allows, the tenant id is shortened and followed by 8 hex digits of its SHA-256, so names stay unique.
 *
 * @example
 * archiveDatabaseName('retention_', 'acme'); // 'retention_acme'
 */
export function archiveDatabaseName(prefix: string, tenantId: string): string {
  const tenant = assertTenantId(tenantId);
  const name = `${prefix}${tenant}`;
  if (name.length <= MAX_DATABASE_NAME) return name;
  const digest = createHash('sha256').update(tenant).digest('hex').slice(0, 8);
  return `${prefix}${tenant.slice(0, MAX_DATABASE_NAME - prefix.length - 9)}-${digest}`;
}

/** Reads a tenant's retention settings (the control plane's settings store in production). */
export type ArchiveSettingsLookup = (tenantId: string) => Promise<Pick<RetentionSettings, 'archiveMongoUri'> | undefined>;

/**
 * A settings lookup that remembers each tenant's answer for `ttlMs` (concurrent lookups of one tenant share one read;
 * a failed read is not remembered). For readers only (the portal): every archive page would otherwise read the
 * settings once per store call just to find the database, and a moved archive is then seen at most `ttlMs` late.
 * Writers (imports, rebuilds, purges) must read the settings every time.
 *
 * @example
 * settings: cachedSettingsLookup(async (t) => (await controlPlane.settings.getRetention(t))?.value, { ttlMs: 5_000 })
 */
export function cachedSettingsLookup(lookup: ArchiveSettingsLookup, options: { ttlMs: number; now?: () => number }): ArchiveSettingsLookup {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { until: number; value: ReturnType<ArchiveSettingsLookup> }>();
  return (tenantId) => {
    const time = now();
    const hit = cache.get(tenantId);
    if (hit !== undefined && hit.until > time) return hit.value;
    for (const [tenant, entry] of cache) if (entry.until <= time) cache.delete(tenant);
    const value = lookup(tenantId);
    cache.set(tenantId, { until: time + options.ttlMs, value });
    value.catch(() => {
      if (cache.get(tenantId)?.value === value) cache.delete(tenantId);
    });
    return value;
  };
}

/** What {@link ArchiveDatabases} needs. */
export interface ArchiveDatabasesOptions {
  /** The control plane's client: holds every archive without its own URI. */
  client: MongoClient;
  /** `MONGODB_ARCHIVE_DB_PREFIX`. */
  prefix: string;
  /** Opens a tenant's sealed `archiveMongoUri`. */
  keyring?: Keyring;
  settings: ArchiveSettingsLookup;
  /** Options of the clients opened for tenants with their own URI (tests shorten the timeouts). */
  clientOptions?: MongoClientOptions;
  /**
   * Where a tenant's own `archiveMongoUri` may lead (the operator's `ALLOWED_PRIVATE_DESTINATIONS`). The shared
   * `client` is the operator's own and is not checked. @default public addresses only
   */
  network?: NetworkPolicy;
}

/** Set once a tenant's own client was found to lead where the policy refuses. */
interface Refusal {
  refusal?: RetentionError;
}

/** A client opened for a tenant's own URI. */
interface OwnClient {
  client: Promise<MongoClient>;
  guard: Refusal;
}

/**
 * Finds each tenant's archive database: `<prefix><tenant>` on the control plane's client, or the database of the
 * tenant's own sealed `archiveMongoUri` (its path's database, else `<prefix><tenant>`). Clients for own URIs are
 * opened once and reused; {@link close} ends them.
 *
 * A tenant's own URI is a destination the tenant chose, so it stays within the operator's network policy: before
 * connecting, every host of the URI (seed list, `mongodb+srv://` name, `proxyHost`) is checked, and the client
 * connects through the policy's `lookup`, so every host name the driver connects to (SRV results and replica-set
 * members it discovers included) resolves to checked addresses only; a server it opens at an address the policy
 * refuses (a member another server reported) closes the client. Any of these fails with `ERR_DESTINATION_NOT_ALLOWED`
 * (permanent for jobs), unwrapped from the driver's server-selection error; a client refused after it connected
 * stays refused until the URI changes.
 *
 * @example
 * const archives = new ArchiveDatabases({ client, prefix: config.mongodbArchiveDbPrefix, keyring,
 *   settings: async (t) => (await controlPlane.settings.getRetention(t))?.value });
 * const db = await archives.forTenant('acme');
 */
export class ArchiveDatabases {
  private readonly own = new Map<string, OwnClient>();
  private readonly network: NetworkPolicy;

  constructor(private readonly options: ArchiveDatabasesOptions) {
    this.network = options.network ?? new NetworkPolicy();
  }

  /** The tenant's archive database. */
  async forTenant(tenantId: string): Promise<Db> {
    const tenant = assertTenantId(tenantId);
    const settings = await this.options.settings(tenant);
    const sealed = settings?.archiveMongoUri;
    if (sealed === undefined) return this.options.client.db(archiveDatabaseName(this.options.prefix, tenant));
    if (!this.options.keyring) {
      throw new RetentionError('ERR_MASTER_KEYS_MISSING', `tenant "${tenant}" has its own archive MongoDB URI, which is sealed: set RETENTION_MASTER_KEYS`);
    }
    const uri = openRetentionSecret(this.options.keyring, tenant, 'archiveMongoUri', sealed);
    const key = `${tenant}\n${createHash('sha256').update(uri).digest('hex')}`;
    let own = this.own.get(key);
    if (!own) {
      const guard: Refusal = {};
      const opening: OwnClient = { client: this.connectOwn(uri, guard), guard };
      opening.client.catch(() => {
        if (this.own.get(key) === opening) this.own.delete(key);
      });
      this.own.set(key, opening);
      own = opening;
    }
    const connected = await own.client;
    if (own.guard.refusal) throw own.guard.refusal;
    const pathDb = databaseOfUri(uri);
    return connected.db(pathDb ?? archiveDatabaseName(this.options.prefix, tenant));
  }

  /** Closes the clients opened for tenants' own URIs (not the shared one). */
  async close(): Promise<void> {
    const clients = [...this.own.values()];
    this.own.clear();
    await Promise.all(clients.map(async (own) => (await own.client.catch(() => undefined))?.close()));
  }

  /** Connects to a tenant's own URI within the network policy (see the class). */
  private async connectOwn(uri: string, own: Refusal): Promise<MongoClient> {
    const refused = await archiveUriRefusal(this.network, uri);
    if (refused) throw refused;
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: 10_000,
      ...this.options.clientOptions,
      lookup: this.network.socketLookup(ARCHIVE_MONGODB),
    });
    // Sockets skip `lookup` for a host written as an address: a server the driver opens at one is checked here. The
    // driver has started its connection when the event arrives, so this closes the client rather than preventing it.
    client.on('serverOpening', (event) => {
      const refusal = own.refusal === undefined ? serverAddressRefusal(this.network, event.address) : undefined;
      if (refusal === undefined) return;
      own.refusal = refusal;
      client.close().catch(() => undefined);
    });
    try {
      await client.connect();
    } catch (err) {
      await client.close().catch(() => undefined);
      throw own.refusal ?? mongoDestinationRefusalOf(err) ?? err;
    }
    return client;
  }
}

function databaseOfUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(uri);
  const name = match?.[1] ? decodeURIComponent(match[1]) : undefined;
  return name && /^[A-Za-z0-9_-]{1,63}$/.test(name) ? name : undefined;
}
