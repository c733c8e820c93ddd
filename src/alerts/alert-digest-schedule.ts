import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MAIL_QUEUE_NAME } from '../mail/mail-queue.js';

/** The job of the mail queue that sends the alert digests that are due. */
export const ALERT_DIGEST_JOB_NAME = 'alert-digest';

/** The id of its job scheduler: one for the whole deployment, however many workers upsert it. */
export const ALERT_DIGEST_SCHEDULER_ID = 'alert-digest';

/** When the digest job runs: every hour at minute 7 (UTC), so each tenant's digest goes out within the hour after its day ends. */
export const DEFAULT_ALERT_DIGEST_CRON = '7 * * * *';

/** Payload of the digest job: none (it looks for every due tenant day itself). */
export type AlertDigestJobData = Record<string, never>;

/**
 * Creates or updates the job scheduler of the alert digests on the `mail` queue (the mail worker runs it):
 * `pattern` in UTC, default {@link DEFAULT_ALERT_DIGEST_CRON}. Idempotent; safe from any process.
 *
 * @example
 * await scheduleAlertDigests(redis, config.queuePrefix);
 */
export async function scheduleAlertDigests(connection: Redis, prefix: string, options: { pattern?: string } = {}): Promise<void> {
  const queue = new Queue<AlertDigestJobData>(MAIL_QUEUE_NAME, { connection, prefix });
  try {
    await queue.upsertJobScheduler(
      ALERT_DIGEST_SCHEDULER_ID,
      { pattern: options.pattern ?? DEFAULT_ALERT_DIGEST_CRON, tz: 'UTC' },
      { name: ALERT_DIGEST_JOB_NAME, data: {}, opts: { removeOnComplete: { count: 48 }, removeOnFail: { age: 7 * 24 * 3600 } } },
    );
  } finally {
    await queue.close();
  }
}
