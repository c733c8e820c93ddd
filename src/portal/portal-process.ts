import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Config } from '../config.js';
import { keyringFromConfig } from '../crypto/keyring-from-config.js';
import type { Logger } from '../logger.js';
import { createExportQueues } from '../queue/export-queues.js';
import { createImportQueues } from '../queue/import-queues.js';
import { MailOutboxStore } from '../mail/mail-outbox-store.js';
import { createMailQueue } from '../mail/mail-queue.js';
import { QueuedMailOutbox } from '../mail/queued-mail-outbox.js';
import { ResultExportsStore } from '../results-export/result-exports-store.js';
import { createResultsExportQueue } from '../results-export/results-export-queue.js';
import { ResultsExportService } from '../results-export/results-export-service.js';
import { ArchiveDatabases, cachedSettingsLookup } from '../store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../store/archive/archive-imports-store.js';
import { ArchiveStore } from '../store/archive/archive-store.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../store/control-plane.js';
import { destinationPolicyFromConfig } from '../tenants/destination-policy.js';
import { createPortalApp } from './create-portal-app.js';
import { portalOptionsFromConfig } from './portal-deps.js';
import { tenantBaseUrl } from './tenant-host.js';
import { findViewsDirectory } from './view-rendering.js';

/** How long the portal trusts its last look at where a tenant's archive lives (its settings' archive URI). */
const ARCHIVE_LOCATION_CACHE_MS = 5_000;

/** A running portal. */
export interface PortalProcess {
  controlPlane: ControlPlane;
  /** The address it listens on, e.g. `http://127.0.0.1:3000`. */
  listeningOn: string;
  stop(): Promise<void>;
}

/** package.json's version, read from source (`src/portal`) or build (`dist/src/portal`) layout. */
function packageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8'));
      const version = typeof pkg === 'object' && pkg !== null ? (pkg as { name?: unknown; version?: unknown }) : {};
      if (version.name === 'retention' && typeof version.version === 'string') return version.version;
    } catch {
      // not in this layout
    }
  }
  return '0.0.0';
}

/**
 * The portal's composition root: connects to MongoDB and Redis, builds the control plane, the keyring and the
 * online archive's store (the tenants' archive databases, as the worker finds them), the results-export service
 * (its queue on the worker's prefix), the export and archive queues (run now, archive rebuilds), the mail outbox
 * (with `config.mail`: messages are stored and queued here, sent by the worker), creates the app and listens on
 * `HOST:PORT`. Stop closes the server, then the connections.
 *
 * @example
 * const portal = await startPortalProcess(loadConfig(), logger);
 * process.once('SIGTERM', () => void portal.stop());
 */
export async function startPortalProcess(config: Config, logger: Logger): Promise<PortalProcess> {
  const options = { ...portalOptionsFromConfig(config), version: packageVersion() };
  const keyring = keyringFromConfig(config);
  const mongo = await MongoClient.connect(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  const db = mongo.db(config.mongodbDatabase);
  const controlPlane = createControlPlane(db, { passwordMinLengthFloor: config.passwordMinLengthFloor });
  await ensureControlPlaneIndexes(controlPlane);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', (err: unknown) => logger.warn({ err }, 'Redis connection error'));
  const queueRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  queueRedis.on('error', (err: unknown) => logger.warn({ err }, 'Redis (queues) connection error'));
  const exportQueues = createExportQueues(queueRedis, config.queuePrefix);
  const importQueues = createImportQueues(queueRedis, config.queuePrefix);
  const destinations = destinationPolicyFromConfig(config);
  const archives = new ArchiveDatabases({
    client: mongo,
    prefix: config.mongodbArchiveDbPrefix,
    keyring,
    // The portal only reads the archive: where a tenant's archive lives is looked up at most every 5 s.
    settings: cachedSettingsLookup(async (tenantId) => (await controlPlane.settings.getRetention(tenantId))?.value, { ttlMs: ARCHIVE_LOCATION_CACHE_MS }),
    // A tenant's own archive URI stays within the operator's destination policy, as its other settings do.
    network: destinations.network,
  });
  const resultExports = new ResultExportsStore(db);
  await resultExports.ensureIndexes();
  const resultExportQueue = createResultsExportQueue(redis, config.queuePrefix);
  const resultsExport = new ResultsExportService({
    exports: resultExports,
    queue: resultExportQueue,
    audit: controlPlane.audit,
    options: { ...config.resultExport, spoolDir: config.spoolDir },
  });
  const outboxMessages = new MailOutboxStore(db);
  await outboxMessages.ensureIndexes();
  const mailQueue = config.mail === undefined ? undefined : createMailQueue(redis, config.queuePrefix);
  const mail =
    mailQueue === undefined
      ? undefined
      : new QueuedMailOutbox({
          store: outboxMessages,
          queue: mailQueue,
          keyring,
          tenants: controlPlane.tenants,
          portalUrlOf: (tenantId) => tenantBaseUrl(tenantId, options),
          viewsDirectory: findViewsDirectory(),
          logger,
        });
  const { app } = createPortalApp({
    controlPlane,
    redis,
    keyring,
    logger,
    options,
    archive: new ArchiveStore(archives),
    archiveImports: new ArchiveImportsStore(db),
    exportQueues,
    importQueues,
    resultsExport,
    resultsExportQueue: resultExportQueue,
    destinations,
    ...(mail !== undefined && mailQueue !== undefined ? { mail, mailQueue } : {}),
    outboxMessages,
    pingMongo: async () => void (await db.command({ ping: 1 })),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(listening)));
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ host: address.address, port: address.port, publicUrl: config.publicUrl }, 'portal listening');
  return {
    controlPlane,
    listeningOn: `http://${host}:${address.port}`,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await resultExportQueue.close();
      await mailQueue?.close();
      redis.disconnect();
      await exportQueues.close();
      await importQueues.close();
      queueRedis.disconnect();
      await archives.close();
      await mongo.close();
    },
  };
}
