import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db, type Document, type MongoClientOptions } from 'mongodb';
import { pino } from 'pino';
import { parseKeyring, type Keyring } from '../../../src/crypto/keyring.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { createTarget } from '../../../src/delivery/create-target.js';
import type { NetworkPolicy } from '../../../src/network/network-policy.js';
import type { ImportDeps } from '../../../src/import/import-manifest.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ARCHIVE_COLLECTIONS } from '../../../src/store/archive/archive-documents.js';
import { ArchiveImportsStore } from '../../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { LegalHoldsStore } from '../../../src/store/archive/legal-holds-store.js';
import { TenantArchiveLease } from '../../../src/store/archive/tenant-archive-lease.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { dropTestDatabase, uniqueDbName } from '../mongo.js';
import { testDestinations } from '../destinations.js';
import { DropBuilder } from './drop-builder.js';

/** A master-key ring for import tests only. */
export const IMPORT_TEST_MASTER_KEYS = `test-k1:${Buffer.alloc(32, 9).toString('base64')}`;

/** An import test bed: a fresh control-plane database, a unique archive prefix, a drop directory, real stores. */
export interface ImportHarness {
  client: MongoClient;
  controlPlane: ControlPlane;
  deps: ImportDeps;
  store: ArchiveStore;
  archives: ArchiveDatabases;
  keyring: Keyring;
  dropRoot: string;
  /** Creates an online tenant delivering to the drop directory; returns a builder of its drops. */
  setUpTenant(tenantId: string, settings?: Record<string, unknown>): Promise<DropBuilder>;
  /** A tenant's own archive URI, sealed as the settings keep it. */
  sealArchiveUri(tenantId: string, uri: string): string;
  archiveDb(tenantId: string): Promise<Db>;
  /** Every document of the tenant's archive, per collection, sorted by `_id`. */
  snapshot(tenantId: string): Promise<Record<string, Document[]>>;
  close(): Promise<void>;
}

/** Builds an import test bed on the test MongoDB; tenants' own archive URIs within `network` (default: the test bed's, loopback allowed). */
export async function createImportHarness(
  mongoUrl: string,
  overrides: { batchSize?: number; now?: () => Date; clientOptions?: MongoClientOptions; network?: NetworkPolicy } = {},
): Promise<ImportHarness> {
  const client = await MongoClient.connect(mongoUrl);
  const controlName = uniqueDbName('import_cp');
  const controlDb = client.db(controlName);
  const controlPlane = createControlPlane(controlDb);
  await ensureControlPlaneIndexes(controlPlane);
  const prefix = `ia${randomBytes(4).toString('hex')}_`;
  const keyring = parseKeyring(IMPORT_TEST_MASTER_KEYS);
  const archives = new ArchiveDatabases({
    client,
    prefix,
    keyring,
    settings: async (tenantId) => (await controlPlane.settings.getRetention(tenantId))?.value,
    ...(overrides.clientOptions ? { clientOptions: overrides.clientOptions } : {}),
    // Tenants' own archive URIs lead to the test MongoDB on loopback, which the test bed allows.
    network: overrides.network ?? testDestinations().network,
  });
  const dropRoot = await mkdtemp(join(tmpdir(), 'import-drop-'));
  const spoolDir = await mkdtemp(join(tmpdir(), 'import-spool-'));
  const store = new ArchiveStore(archives);
  const deps: ImportDeps = {
    controlPlane,
    imports: new ArchiveImportsStore(controlDb),
    leases: new TenantArchiveLease(controlDb, { ttlMs: 5_000 }),
    archives,
    archiveStore: store,
    legalHolds: new LegalHoldsStore(controlDb),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings, testDestinations()),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    options: { spoolDir, ...(overrides.batchSize !== undefined ? { batchSize: overrides.batchSize } : {}) },
    now: overrides.now ?? (() => new Date()),
  };
  await deps.imports.ensureIndexes();
  await deps.legalHolds.ensureIndexes();
  const tenants = new Set<string>();
  const harness: ImportHarness = {
    client,
    controlPlane,
    deps,
    store,
    archives,
    keyring,
    dropRoot,
    async setUpTenant(tenantId, settings = {}) {
      tenants.add(tenantId);
      await controlPlane.tenants.create({ id: tenantId, displayName: tenantId });
      await controlPlane.settings.putRetention(
        tenantId,
        {
          mode: 'online',
          dataTypes: ['call-logs', 'chats', 'contacts'],
          schedule: { cron: '0 2 * * *', timezone: 'UTC' },
          source: { kind: 'demo', seed: 1 },
          target: { kind: 'local', directory: dropRoot },
          ...settings,
        },
        { actor: 'test' },
      );
      return new DropBuilder(dropRoot, tenantId);
    },
    sealArchiveUri: (tenantId, uri) => sealSecret(keyring, uri, secretContext(tenantId, 'archiveMongoUri')),
    archiveDb: (tenantId) => archives.forTenant(tenantId),
    async snapshot(tenantId) {
      const db = await archives.forTenant(tenantId);
      const out: Record<string, Document[]> = {};
      for (const name of Object.values(ARCHIVE_COLLECTIONS)) out[name] = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
      return out;
    },
    async close() {
      for (const tenantId of tenants) await (await archives.forTenant(tenantId).catch(() => undefined))?.dropDatabase().catch(() => undefined);
      await archives.close();
      await dropTestDatabase(client, controlName);
      await client.close();
      await rm(dropRoot, { recursive: true, force: true });
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
  return harness;
}
