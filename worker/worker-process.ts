import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Config } from '../src/config.js';
import { keyringFromConfig } from '../src/crypto/keyring-from-config.js';
import { createTarget } from '../src/delivery/create-target.js';
import type { Logger } from '../src/logger.js';
import { createExportQueues, type ExportQueues } from '../src/queue/export-queues.js';
import { HostSemaphore } from '../src/queue/host-semaphore.js';
import { syncAllSchedules } from '../src/queue/tenant-schedules.js';
import { createSource } from '../src/sources/create-source.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../src/store/control-plane.js';
import { DEFAULT_EXPORT_OPTIONS, type ExportDeps } from './export-deps.js';
import { startExportWorkers, type ExportWorkerOptions } from './export-workers.js';

/** A running worker process's services. */
export interface WorkerProcess {
  controlPlane: ControlPlane;
  queues: ExportQueues;
  /** Closes workers (running jobs get `timeoutMs` to finish), queues and connections. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The worker's composition root: connects to MongoDB and Redis, builds the stores, the source and target
 * factories and the host semaphore, reconciles every tenant's job scheduler and starts the export workers.
 *
 * @example
 * const worker = await startWorkerProcess(loadConfig(), logger);
 * process.once('SIGTERM', () => void worker.stop(config.shutdownTimeoutMs));
 */
export async function startWorkerProcess(config: Config, logger: Logger, workerOptions: ExportWorkerOptions = {}): Promise<WorkerProcess> {
  const keyring = keyringFromConfig(config);
  const mongo = await MongoClient.connect(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  const controlPlane = createControlPlane(mongo.db(config.mongodbDatabase));
  await ensureControlPlaneIndexes(controlPlane);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queues = createExportQueues(redis, config.queuePrefix);
  const deps: ExportDeps = {
    controlPlane,
    createSource: (tenantId, settings) => createSource(keyring, tenantId, settings),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings),
    hostSemaphore: new HostSemaphore(redis, { prefix: config.queuePrefix, limit: config.workerSftpHostConcurrency }),
    logger,
    options: { ...DEFAULT_EXPORT_OPTIONS, settleLagMs: config.settleLagMs, spoolDir: config.spoolDir },
    now: () => new Date(),
  };

  const tenants = await Promise.all(
    (await controlPlane.settings.listRetentionTenants()).map(async (tenantId) => ({
      tenantId,
      settings: await controlPlane.settings.getRetention(tenantId).then(
        (s) => s?.value,
        (err: unknown) => {
          logger.error({ tenantId, err }, 'stored retention settings are invalid; the tenant is not scheduled');
          return undefined;
        },
      ),
    })),
  );
  await syncAllSchedules(queues.runs, tenants);
  const workers = startExportWorkers(deps, queues, redis, { concurrency: config.workerConcurrency, ...workerOptions });
  logger.info({ tenants: tenants.length, concurrency: config.workerConcurrency }, 'worker started');

  let stopping: Promise<void> | undefined;
  return {
    controlPlane,
    queues,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        logger.info({ timeoutMs }, 'worker stopping: finishing running jobs');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([workers.close().then(() => 'closed' as const), timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          logger.warn('shutdown timeout: unfinished jobs will be retried by another worker');
          await Promise.all(workers.workers.map((w) => w.close(true)));
        }
        await queues.close();
        redis.disconnect();
        await mongo.close();
      })();
      return stopping;
    },
  };
}
