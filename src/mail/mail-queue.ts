import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** The queue of send jobs (shares the configured `QUEUE_PREFIX`). */
export const MAIL_QUEUE_NAME = 'mail';

/** The one job name of the mail queue. */
export const SEND_MAIL_JOB_NAME = 'send';

/** Payload of a send job: the outbox id; everything else is read from the outbox. */
export interface SendMailJobData {
  outboxId: string;
}

/** How often, and how patiently, a message is tried. */
export interface MailRetryOptions {
  /** Attempts before the message is marked failed. Default 10. */
  attempts?: number;
  /** Delay before the second attempt, doubled for each further one (exponential backoff). Default 30 000 ms: 10 attempts span about 4 hours. */
  backoffMs?: number;
}

/** Default {@link MailRetryOptions}. */
export const DEFAULT_MAIL_RETRY: Required<MailRetryOptions> = { attempts: 10, backoffMs: 30_000 };

/** The job id of a message (`mail.<outbox id>`): queueing a message twice adds one job. */
export const sendMailJobId = (outboxId: string): string => `mail.${outboxId}`;

/**
 * The producers' side of the mail queue, on a shared ioredis connection (`maxRetriesPerRequest: null`).
 *
 * @example
 * const queue = createMailQueue(redis, config.queuePrefix);
 */
export function createMailQueue(connection: Redis, prefix: string): Queue<SendMailJobData> {
  return new Queue<SendMailJobData>(MAIL_QUEUE_NAME, { connection, prefix });
}

/**
 * Queues the send job of outbox message `outboxId`, once (the job id is derived from it; a job that exists already
 * is left as it is).
 *
 * @example
 * await queueSendMail(queue, id, DEFAULT_MAIL_RETRY);
 */
export async function queueSendMail(queue: Queue<SendMailJobData>, outboxId: string, retry: Required<MailRetryOptions>): Promise<void> {
  await queue.add(
    SEND_MAIL_JOB_NAME,
    { outboxId },
    {
      jobId: sendMailJobId(outboxId),
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}
