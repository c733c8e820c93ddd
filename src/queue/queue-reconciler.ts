import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ControlPlane } from '../store/control-plane.js';
import type { ExportQueues } from './export-queues.js';
import { ARCHIVE_PURGE_SCHEDULER_ID, IMPORT_POLL_SCHEDULER_ID, scheduleArchiveJobs, type ImportQueues } from './import-queues.js';
import type { AlertSink } from '../alerts/alert-event.js';
import { findLostRuns } from './lost-runs.js';
import { syncAllSchedules, type ScheduleReconciliation, type TenantSettingsEntry } from './tenant-schedules.js';

/** What the reconciler works with: the control plane (the truth) and the queues in Redis (derived from it). */
export interface QueueReconcilerDeps {
  controlPlane: ControlPlane;
  queues: ExportQueues;
  importQueues: ImportQueues;
  /** For the reconciler's lock and its marker key. */
  redis: Redis;
  logger: Logger;
  now: () => Date;
  /** Where the `run-failed` alert of a run ended as lost goes; none: no alert. */
  alerts?: AlertSink;
}

/** Tunables of {@link QueueReconciler}. */
export interface QueueReconcilerOptions {
  /** How often every worker reconciles (one at a time across workers). Default 60 000 ms. */
  intervalMs?: number;
  /** A run younger than this is never judged lost. Default 120 000 ms. */
  lostRunGraceMs?: number;
}

/** What one reconciliation found and changed. */
export interface ReconcileReport {
  /** True when the marker key was missing: Redis is new, or it lost its data (restart without persistence). */
  redisWasEmpty: boolean;
  schedules: ScheduleReconciliation;
  /** The archive's own schedulers (import poll, purge) that were missing and were created again. */
  archiveSchedulers: string[];
  /** Runs ended because their jobs were gone; backfills among them queued again. */
  lostRuns: Array<{ tenantId: string; runId: string; replannedJobId?: string }>;
}

/**
 * The stored settings of every tenant that has retention settings (unreadable ones as undefined: not scheduled), read
 * in one query.
 */
export async function loadTenantSettings(controlPlane: ControlPlane, logger: Logger): Promise<TenantSettingsEntry[]> {
  return (await controlPlane.settings.listRetention()).map((entry) => {
    if ('settings' in entry) return { tenantId: entry.tenantId, settings: entry.settings.value };
    logger.error({ tenantId: entry.tenantId, err: entry.error }, 'stored retention settings are invalid; the tenant is not scheduled');
    return { tenantId: entry.tenantId, settings: undefined };
  });
}

/**
 * Keeps what lives in Redis in step with the control plane, continuously and not only at worker start: Redis holds
 * only derived state (job schedulers, queued jobs), so when it loses its data (a restart without AOF) the workers put
 * it back within one interval, without a person:
 *
 * - every tenant's job scheduler is reconciled with its stored settings ({@link syncAllSchedules});
 * - the archive's import-poll and purge schedulers are created again when missing;
 * - an active run whose jobs vanished is ended ({@link findLostRuns}); a lost backfill's windows are queued again.
 *
 * Every worker runs one; a short Redis lock lets one of them at a time do the work, and every step is idempotent,
 * so two doing it at once (a lock lost with Redis) change nothing twice. A marker key tells an empty Redis apart; the
 * report says so and the worker logs it.
 *
 * @example
 * const reconciler = new QueueReconciler({ controlPlane, queues, importQueues, redis, logger, now: () => new Date() });
 * await reconciler.reconcileOnce(); // at start
 * reconciler.start();               // then every minute
 */
export class QueueReconciler {
  private readonly intervalMs: number;
  private readonly lostRunGraceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: QueueReconcilerDeps,
    options: QueueReconcilerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.lostRunGraceMs = options.lostRunGraceMs ?? 120_000;
  }

  private get lockKey(): string {
    return `${this.deps.queues.prefix}:retention:reconciler:lock`;
  }

  private get markerKey(): string {
    return `${this.deps.queues.prefix}:retention:reconciler:marker`;
  }

  /**
   * One reconciliation, unless another worker holds the lock (`'busy'`). Errors propagate (the periodic loop logs
   * them and tries again at the next interval).
   */
  async reconcileOnce(): Promise<ReconcileReport | 'busy'> {
    const { redis, controlPlane, queues, importQueues, logger } = this.deps;
    const token = randomBytes(12).toString('hex');
    const locked = await redis.set(this.lockKey, token, 'PX', Math.max(5_000, this.intervalMs), 'NX');
    if (locked !== 'OK') return 'busy';
    try {
      const redisWasEmpty = (await redis.set(this.markerKey, this.deps.now().toISOString(), 'NX')) === 'OK';
      let tenants: TenantSettingsEntry[] = [];
      const schedules = await syncAllSchedules(queues.runs, async () => (tenants = await loadTenantSettings(controlPlane, logger)));
      if (schedules.failed.length > 0)
        logger.error({ failed: schedules.failed }, 'some tenant schedulers could not be reconciled; they are tried again at the next interval');
      const archiveSchedulers: string[] = [];
      if ((await importQueues.imports.getJobScheduler(IMPORT_POLL_SCHEDULER_ID)) === undefined) archiveSchedulers.push(IMPORT_POLL_SCHEDULER_ID);
      if ((await importQueues.maintenance.getJobScheduler(ARCHIVE_PURGE_SCHEDULER_ID)) === undefined) archiveSchedulers.push(ARCHIVE_PURGE_SCHEDULER_ID);
      if (archiveSchedulers.length > 0) await scheduleArchiveJobs(importQueues);
      const lostRuns = await findLostRuns(
        { controlPlane, queues, logger, now: this.deps.now, ...(this.deps.alerts !== undefined ? { alerts: this.deps.alerts } : {}) },
        tenants.map((t) => t.tenantId),
        { graceMs: this.lostRunGraceMs },
      );
      const report: ReconcileReport = {
        redisWasEmpty,
        schedules,
        archiveSchedulers,
        lostRuns: lostRuns.map(({ tenantId, runId, replannedJobId }) => ({ tenantId, runId, ...(replannedJobId !== undefined ? { replannedJobId } : {}) })),
      };
      const changed =
        schedules.created.length + schedules.updated.length + schedules.rearmed.length + schedules.removed.length + archiveSchedulers.length + lostRuns.length >
        0;
      if (redisWasEmpty || changed)
        logger[redisWasEmpty ? 'warn' : 'info'](
          report,
          redisWasEmpty
            ? 'Redis held no queue state (new, or it lost its data): schedulers and lost runs reconciled from the control plane'
            : 'queue state reconciled with the control plane',
        );
      return report;
    } finally {
      await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.lockKey, token);
    }
  }

  /** Reconciles every `intervalMs` until {@link stop}; a failed round is logged and tried again next time. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.reconcileOnce()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'queue reconciliation failed; it is tried again at the next interval'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
