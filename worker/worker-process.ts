import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Config } from '../src/config.js';
import { keyringFromConfig } from '../src/crypto/keyring-from-config.js';
import { createTarget } from '../src/delivery/create-target.js';
import type { Logger } from '../src/logger.js';
import { createExportQueues, type ExportQueues } from '../src/queue/export-queues.js';
import { HostSemaphore } from '../src/queue/host-semaphore.js';
import { loadTenantSettings, QueueReconciler } from '../src/queue/queue-reconciler.js';
import { createSource } from '../src/sources/create-source.js';
import { destinationPolicyFromConfig } from '../src/tenants/destination-policy.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../src/store/control-plane.js';
import { buildImportDeps } from '../src/import/open-import-deps.js';
import { createImportQueues, enqueueImport, scheduleArchiveJobs, type ImportQueues } from '../src/queue/import-queues.js';
import { DEFAULT_EXPORT_OPTIONS, type ExportDeps } from './export-deps.js';
import { startExportWorkers, type ExportWorkerOptions } from './export-workers.js';
import { startImportWorkers } from './import-workers.js';
import { createResultsExportWorker } from '../src/results-export/results-export-queue.js';
import { ResultExportsStore } from '../src/results-export/result-exports-store.js';

/** A running worker process's services. */
export interface WorkerProcess {
  controlPlane: ControlPlane;
  queues: ExportQueues;
  importQueues: ImportQueues;
  /** Closes workers (running jobs get `timeoutMs` to finish), queues and connections. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The worker's composition root: connects to MongoDB and Redis, builds the stores, the source and target
 * factories (bound to the operator's destination policy) and the host semaphore, reconciles every tenant's job scheduler and starts the export workers, and the
 * online archive's workers (imports, drop poll, archive retention) with their schedulers.
 *
 * @example
 * const worker = await startWorkerProcess(loadConfig(), logger);
 * process.once('SIGTERM', () => void worker.stop(config.shutdownTimeoutMs));
 */
export async function startWorkerProcess(config: Config, logger: Logger, workerOptions: ExportWorkerOptions = {}): Promise<WorkerProcess> {
  const keyring = keyringFromConfig(config);
  const destinations = destinationPolicyFromConfig(config);
  const mongo = await MongoClient.connect(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  const controlPlane = createControlPlane(mongo.db(config.mongodbDatabase));
  await ensureControlPlaneIndexes(controlPlane);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queues = createExportQueues(redis, config.queuePrefix);
  const importQueues = createImportQueues(redis, config.queuePrefix);
  const controlDb = mongo.db(config.mongodbDatabase);
  const importDeps = await buildImportDeps({
    client: mongo,
    db: controlDb,
    controlPlane,
    archiveDbPrefix: config.mongodbArchiveDbPrefix,
    keyring,
    destinations,
    logger,
    spoolDir: config.spoolDir,
    inflateLimits: config.importInflateLimits,
  });
  const deps: ExportDeps = {
    enqueueImport: (tenantId, manifestPath) => enqueueImport(importQueues, tenantId, manifestPath),
    controlPlane,
    createSource: (tenantId, settings) => createSource(keyring, tenantId, settings, destinations),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings, destinations),
    hostSemaphore: new HostSemaphore(redis, { prefix: config.queuePrefix, limit: config.workerSftpHostConcurrency }),
    logger,
    options: { ...DEFAULT_EXPORT_OPTIONS, settleLagMs: config.settleLagMs, spoolDir: config.spoolDir },
    now: () => new Date(),
  };

  const tenants = await loadTenantSettings(controlPlane, logger);
  for (const { tenantId, settings } of tenants) {
    if (settings?.mode !== 'online') continue;
    await importDeps.archiveStore
      .ensureIndexes(tenantId)
      .catch((err: unknown) => logger.error({ tenantId, err }, 'could not create the archive indexes; imports will retry'));
  }
  await scheduleArchiveJobs(importQueues);
  const reconciler = new QueueReconciler(
    { controlPlane, queues, importQueues, redis, logger, now: () => new Date() },
    { intervalMs: config.workerReconcileMs },
  );
  await reconciler.reconcileOnce();
  reconciler.start();
  const workers = startExportWorkers(deps, queues, redis, { concurrency: config.workerConcurrency, ...workerOptions });
  const importWorkers = startImportWorkers(importDeps, importQueues, redis, {
    ...(workerOptions.stalledIntervalMs !== undefined ? { stalledIntervalMs: workerOptions.stalledIntervalMs } : {}),
    ...(workerOptions.lockDurationMs !== undefined ? { lockDurationMs: workerOptions.lockDurationMs } : {}),
  });
  const resultExports = new ResultExportsStore(controlDb);
  await resultExports.ensureIndexes();
  const resultExportWorker = createResultsExportWorker(redis, config.queuePrefix, {
    archive: importDeps.archiveStore,
    exports: resultExports,
    options: { ...config.resultExport, spoolDir: config.spoolDir },
  });
  const allWorkers = [...workers.workers, ...importWorkers.workers, resultExportWorker];
  logger.info({ tenants: tenants.length, concurrency: config.workerConcurrency }, 'worker started');

  let stopping: Promise<void> | undefined;
  return {
    controlPlane,
    queues,
    importQueues,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        logger.info({ timeoutMs }, 'worker stopping: finishing running jobs');
        await reconciler.stop();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([
          Promise.all([workers.close(), importWorkers.close(), resultExportWorker.close()]).then(() => 'closed' as const),
          timedOut,
        ]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          logger.warn('shutdown timeout: unfinished jobs will be retried by another worker');
          await Promise.all(allWorkers.map((w) => w.close(true)));
        }
        await queues.close();
        await importQueues.close();
        await importDeps.archives.close();
        await destinations.network.close();
        redis.disconnect();
        await mongo.close();
      })();
      return stopping;
    },
  };
}
