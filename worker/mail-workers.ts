import { Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertDigestOutcome } from '../src/alerts/alert-digest.js';
import { ALERT_DIGEST_JOB_NAME, type AlertDigestJobData } from '../src/alerts/alert-digest-schedule.js';
import { RetentionError } from '../src/errors.js';
import { MAIL_QUEUE_NAME, type MailRetryOptions, type SendMailJobData } from '../src/mail/mail-queue.js';
import { requeueStrandedMail } from '../src/mail/mail-requeue.js';
import { sendOutboxMessage, type MailSendOutcome, type MailSenderDeps } from '../src/mail/mail-sender.js';
import { errorCodeOf, toJobError } from '../src/queue/permanent-failure.js';

/** What the mail worker needs: the sender's dependencies and the queue it requeues stranded messages on. */
export interface MailWorkerDeps extends MailSenderDeps {
  queue: Queue<SendMailJobData>;
  /** Attempts and backoff of jobs it queues again (the producer's). */
  retry?: MailRetryOptions;
  /**
   * One pass of the daily alert digests (`sendAlertDigests`), run by the queue's `alert-digest` job. Absent: such a
   * job fails, saying this worker sends no digests.
   */
  alertDigests?: () => Promise<AlertDigestOutcome>;
}

/** The jobs of the `mail` queue: a message's send job, or the hourly alert-digest job. */
export type MailQueueJobData = SendMailJobData | AlertDigestJobData;

/** What a job of the `mail` queue returns. */
export type MailQueueJobResult = MailSendOutcome | AlertDigestOutcome;

/** Tunables of the mail worker. */
export interface MailWorkerOptions {
  /** Messages this process sends at once. Default 4. */
  concurrency?: number;
  /** How often the outbox is checked for messages whose send job was lost. Default 60 000 ms. */
  requeueIntervalMs?: number;
  /** How long a message may sit `queued` before its job is looked for. Default 2 minutes. */
  strandedAfterMs?: number;
  /** How often stalled jobs are looked for. BullMQ's default is 30 000 ms. */
  stalledIntervalMs?: number;
  /** Lock duration of an active job. BullMQ's default is 30 000 ms. */
  lockDurationMs?: number;
}

/** The running mail worker of one process. */
export interface MailWorker {
  worker: Worker<MailQueueJobData, MailQueueJobResult>;
  /** One pass of the requeue now (also run at start and every `requeueIntervalMs`). */
  requeueOnce(): Promise<number>;
  close(force?: boolean): Promise<void>;
}

/**
 * Starts the worker of the `mail` queue: each job sends one outbox message ({@link sendOutboxMessage}); a permanent
 * failure (a 5xx reply) fails the job at once (`UnrecoverableError`), a transient one is retried with the job's
 * exponential backoff. Every `requeueIntervalMs` it queues again the messages whose job was lost
 * ({@link requeueStrandedMail}), so a Redis that lost its data loses no mail. The queue's `alert-digest` job (its
 * job scheduler: `scheduleAlertDigests`) runs `deps.alertDigests`.
 *
 * @example
 * const mail = startMailWorker({ store, transport, keyring, from: config.mail.from, logger, queue }, redis, config.queuePrefix);
 */
export function startMailWorker(deps: MailWorkerDeps, connection: Redis, prefix: string, options: MailWorkerOptions = {}): MailWorker {
  const worker = new Worker<MailQueueJobData, MailQueueJobResult>(
    MAIL_QUEUE_NAME,
    async (job: Job<MailQueueJobData>) => {
      const attempt = job.attemptsMade + 1;
      try {
        if (job.name === ALERT_DIGEST_JOB_NAME) {
          if (deps.alertDigests === undefined) throw new RetentionError('ERR_INTERNAL', 'this mail worker was started without alert digests');
          return await deps.alertDigests();
        }
        if (!('outboxId' in job.data)) throw new RetentionError('ERR_INTERNAL', `job ${job.name} of the mail queue names no outbox message`);
        return await sendOutboxMessage(deps, job.data.outboxId, { attempt, final: attempt >= (job.opts.attempts ?? 1) });
      } catch (err) {
        throw toJobError(err);
      }
    },
    {
      connection,
      prefix,
      concurrency: options.concurrency ?? 4,
      ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
      ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
    },
  );
  worker.on('failed', (job, err) => {
    if (job?.name === ALERT_DIGEST_JOB_NAME) {
      deps.logger.warn(
        { queue: MAIL_QUEUE_NAME, jobId: job.id, code: errorCodeOf(err), err: { message: err.message } },
        'alert digest job failed; the next one tries again',
      );
      return;
    }
    deps.logger.debug({ queue: MAIL_QUEUE_NAME, jobId: job?.id, attempt: job?.attemptsMade, code: errorCodeOf(err) }, 'mail job failed');
  });
  worker.on('error', (err) => deps.logger.error({ queue: MAIL_QUEUE_NAME, err }, 'worker error'));

  let running: Promise<number> | undefined;
  const requeueOnce = (): Promise<number> => {
    running ??= requeueStrandedMail(deps, options.strandedAfterMs)
      .catch((err: unknown) => {
        deps.logger.warn(
          { err: { message: err instanceof Error ? err.message : String(err) } },
          'could not check the outbox for stranded mail; next pass retries',
        );
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void requeueOnce();
  const timer = setInterval(() => void requeueOnce(), options.requeueIntervalMs ?? 60_000);
  timer.unref();
  return {
    worker,
    requeueOnce,
    async close(force = false) {
      clearInterval(timer);
      await worker.close(force);
      await running;
    },
  };
}
