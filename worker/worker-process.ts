import { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../src/config.js';
import { keyringFromConfig } from '../src/crypto/keyring-from-config.js';
import type { Keyring } from '../src/crypto/keyring.js';
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
import { createMailTransport } from '../src/mail/create-mail-transport.js';
import type { MailOutbox } from '../src/mail/mail-outbox.js';
import { MailOutboxStore } from '../src/mail/mail-outbox-store.js';
import { createMailQueue } from '../src/mail/mail-queue.js';
import { QueuedMailOutbox } from '../src/mail/queued-mail-outbox.js';
import { tenantBaseUrl } from '../src/portal/tenant-host.js';
import { findViewsDirectory } from '../src/portal/view-rendering.js';
import { startMailWorker, type MailWorker } from './mail-workers.js';
import { AlertDispatcher } from '../src/alerts/alert-dispatcher.js';
import type { AlertSink } from '../src/alerts/alert-event.js';
import { sendAlertDigests } from '../src/alerts/alert-digest.js';
import { scheduleAlertDigests } from '../src/alerts/alert-digest-schedule.js';

/** A running worker process's services. */
export interface WorkerProcess {
  controlPlane: ControlPlane;
  queues: ExportQueues;
  importQueues: ImportQueues;
  /** The outbox, for jobs that mail (run alerts); undefined without mail settings (`SMTP_URL`). */
  mail: MailOutbox | undefined;
  /** Where the worker's run alerts go (the outbox; nothing is sent without mail settings). */
  alerts: AlertSink;
  /** Closes workers (running jobs get `timeoutMs` to finish), queues and connections. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The worker's composition root: connects to MongoDB and Redis, builds the stores, the source and target
 * factories (bound to the operator's destination policy) and the host semaphore, reconciles every tenant's job scheduler and starts the export workers, and the
 * online archive's workers (imports, drop poll, archive retention) with their schedulers, and, with mail settings
 * (`config.mail`), the mail queue's worker that sends the outbox's messages and the alert digests. Run alerts (a run
 * failed, the schedule paused, an import refused) go through the outbox to the tenants' recipients; without mail
 * settings nothing is alerted.
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
  const mail = await startMail(config, { controlDb, controlPlane, keyring, redis, logger, workerOptions });
  const alerts = new AlertDispatcher({ controlPlane, mail: mail?.outbox, logger });
  const builtImportDeps = await buildImportDeps({
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
  const importDeps = { ...builtImportDeps, alerts };
  const deps: ExportDeps = {
    enqueueImport: (tenantId, manifestPath) => enqueueImport(importQueues, tenantId, manifestPath),
    controlPlane,
    createSource: (tenantId, settings) => createSource(keyring, tenantId, settings, destinations),
    createTarget: (tenantId, settings) => createTarget(keyring, tenantId, settings, destinations),
    hostSemaphore: new HostSemaphore(redis, { prefix: config.queuePrefix, limit: config.workerSftpHostConcurrency }),
    logger,
    options: { ...DEFAULT_EXPORT_OPTIONS, settleLagMs: config.settleLagMs, spoolDir: config.spoolDir },
    now: () => new Date(),
    alerts,
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
    { controlPlane, queues, importQueues, redis, logger, now: () => new Date(), alerts },
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
  const allWorkers = [...workers.workers, ...importWorkers.workers, resultExportWorker, ...(mail ? [mail.worker.worker] : [])];
  logger.info({ tenants: tenants.length, concurrency: config.workerConcurrency }, 'worker started');

  let stopping: Promise<void> | undefined;
  return {
    controlPlane,
    queues,
    importQueues,
    mail: mail?.outbox,
    alerts,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        logger.info({ timeoutMs }, 'worker stopping: finishing running jobs');
        await reconciler.stop();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([
          Promise.all([workers.close(), importWorkers.close(), resultExportWorker.close(), mail?.worker.close()]).then(() => 'closed' as const),
          timedOut,
        ]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          logger.warn('shutdown timeout: unfinished jobs will be retried by another worker');
          await Promise.all(allWorkers.map((w) => w.close(true)));
        }
        await mail?.close();
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

/** The mail side of a worker process: the outbox (for producers in the worker) and the running mail worker. */
interface WorkerMail {
  outbox: MailOutbox;
  worker: MailWorker;
  /** Closes the queue and the transport (after the worker). */
  close(): Promise<void>;
}

/**
 * Starts the mail worker when `config.mail` is set: the transport it names, the outbox queue, the requeue of stranded
 * mail, and the hourly job of the daily alert digests (its job scheduler upserted here).
 */
async function startMail(
  config: Config,
  deps: {
    controlDb: Db;
    controlPlane: ControlPlane;
    keyring: Keyring;
    redis: Redis;
    logger: Logger;
    workerOptions: ExportWorkerOptions;
  },
): Promise<WorkerMail | undefined> {
  if (config.mail === undefined) return undefined;
  const { controlDb, controlPlane, keyring, redis, logger, workerOptions } = deps;
  const store = new MailOutboxStore(controlDb);
  await store.ensureIndexes();
  const queue = createMailQueue(redis, config.queuePrefix);
  const transport = createMailTransport(config.mail);
  const portalUrlOf = (tenantId: string): string => tenantBaseUrl(tenantId, config);
  const outbox = new QueuedMailOutbox({
    store,
    queue,
    keyring,
    tenants: controlPlane.tenants,
    portalUrlOf,
    viewsDirectory: findViewsDirectory(),
    logger,
  });
  const alertDigests = () => sendAlertDigests({ controlPlane, mail: outbox, portalUrlOf, logger });
  const worker = startMailWorker({ store, transport, keyring, from: config.mail.from, logger, queue, alertDigests }, redis, config.queuePrefix, {
    requeueIntervalMs: config.workerReconcileMs,
    ...(workerOptions.stalledIntervalMs !== undefined ? { stalledIntervalMs: workerOptions.stalledIntervalMs } : {}),
    ...(workerOptions.lockDurationMs !== undefined ? { lockDurationMs: workerOptions.lockDurationMs } : {}),
  });
  await scheduleAlertDigests(redis, config.queuePrefix);
  const plain = config.mail.transport.kind === 'smtp' && config.mail.transport.tls === 'off';
  logger[plain ? 'warn' : 'info']({ transport: transport.description }, plain ? 'mail: sending in plain text (SMTP_URL has tls=off)' : 'mail: sending');
  return {
    outbox,
    worker,
    async close() {
      await worker.close();
      await queue.close();
      await transport.close();
    },
  };
}
