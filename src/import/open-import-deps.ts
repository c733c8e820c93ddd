import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.js';
import { createTarget } from '../delivery/create-target.js';
import { ArchiveDatabases } from '../store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../store/archive/archive-imports-store.js';
import { ArchiveStore } from '../store/archive/archive-store.js';
import { LegalHoldsStore } from '../store/archive/legal-holds-store.js';
import { TenantArchiveLease } from '../store/archive/tenant-archive-lease.js';
import type { ControlPlane } from '../store/control-plane.js';
import type { DestinationPolicy } from '../tenants/destination-policy.js';
import type { ImportDeps } from './import-manifest.js';
import { DEFAULT_INFLATE_LIMITS, type InflateLimits } from './record-file-reader.js';

/** What {@link buildImportDeps} needs: an open client, the control-plane database and the process's settings. */
export interface ImportDepsInput {
  client: MongoClient;
  db: Db;
  controlPlane: ControlPlane;
  /** Archive database of a tenant without its own URI: this prefix and the tenant id. */
  archiveDbPrefix: string;
  keyring: Keyring;
  /** Where tenants' targets may be read from and their own archive MongoDB URIs lead: the operator's network policy and local-target base. */
  destinations: DestinationPolicy;
  logger: Logger;
  spoolDir: string;
  /** What inflating one gzipped drop file may cost (`config.importInflateLimits`); default {@link DEFAULT_INFLATE_LIMITS}. */
  inflateLimits?: InflateLimits;
}

/**
 * Builds the importer's dependencies on an open MongoDB client and creates their control-plane indexes: one wiring
 * for the worker, the CLI and the import benchmark.
 *
 * @example
 * const deps = await buildImportDeps({ client, db, controlPlane, archiveDbPrefix: 'retention_', keyring, destinations, logger, spoolDir });
 */
export async function buildImportDeps(input: ImportDepsInput): Promise<ImportDeps & { archives: ArchiveDatabases }> {
  const { client, db, controlPlane, keyring } = input;
  const archives = new ArchiveDatabases({
    client,
    prefix: input.archiveDbPrefix,
    keyring,
    settings: async (tenantId) => (await controlPlane.settings.getRetention(tenantId))?.value,
    network: input.destinations.network,
  });
  const deps = {
    controlPlane,
    imports: new ArchiveImportsStore(db),
    leases: new TenantArchiveLease(db),
    archives,
    archiveStore: new ArchiveStore(archives),
    legalHolds: new LegalHoldsStore(db),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings, input.destinations),
    logger: input.logger,
    options: { spoolDir: input.spoolDir, inflateLimits: input.inflateLimits ?? DEFAULT_INFLATE_LIMITS },
    now: () => new Date(),
  } satisfies ImportDeps;
  await deps.imports.ensureIndexes();
  await deps.legalHolds.ensureIndexes();
  return deps;
}
