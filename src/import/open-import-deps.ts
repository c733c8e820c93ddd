import { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { createTarget } from '../delivery/create-target.js';
import { ArchiveDatabases } from '../store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../store/archive/archive-imports-store.js';
import { ArchiveStore } from '../store/archive/archive-store.js';
import { LegalHoldsStore } from '../store/archive/legal-holds-store.js';
import { TenantArchiveLease } from '../store/archive/tenant-archive-lease.js';
import { createControlPlane } from '../store/control-plane.js';
import type { ImportDeps } from './import-manifest.js';

/**
 * Connects to MongoDB and builds the importer's dependencies, for a process that has no worker composition root
 * (the CLI's `rebuild` and `import`). `close` ends the connections.
 *
 * @example
 * const { deps, close } = await openImportDeps(config, keyring, logger);
 * try { await rebuildArchive(deps, 'acme'); } finally { await close(); }
 */
export async function openImportDeps(config: Config, keyring: Keyring, logger: Logger): Promise<{ deps: ImportDeps; close: () => Promise<void> }> {
  const client = await MongoClient.connect(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  const db = client.db(config.mongodbDatabase);
  const controlPlane = createControlPlane(db);
  const archives = new ArchiveDatabases({
    client,
    prefix: config.mongodbArchiveDbPrefix,
    keyring,
    settings: async (tenantId) => (await controlPlane.settings.getRetention(tenantId))?.value,
  });
  const deps: ImportDeps = {
    controlPlane,
    imports: new ArchiveImportsStore(db),
    leases: new TenantArchiveLease(db),
    archives,
    archiveStore: new ArchiveStore(archives),
    legalHolds: new LegalHoldsStore(db),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings),
    logger,
    options: { spoolDir: config.spoolDir },
    now: () => new Date(),
  };
  await deps.imports.ensureIndexes();
  await deps.legalHolds.ensureIndexes();
  return {
    deps,
    async close() {
      await archives.close();
      await client.close();
    },
  };
}
