import type { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import type { MailOutboxStore } from './mail-outbox-store.js';
import { DEFAULT_MAIL_RETRY, queueSendMail, sendMailJobId, type MailRetryOptions, type SendMailJobData } from './mail-queue.js';

/** What {@link requeueStrandedMail} needs. */
export interface MailRequeueDeps {
  store: MailOutboxStore;
  queue: Queue<SendMailJobData>;
  logger: Logger;
  retry?: MailRetryOptions;
  now?: () => Date;
}

/** How long a queued message may sit unchanged before its send job is looked for. Default 2 minutes. */
export const STRANDED_AFTER_MS = 2 * 60_000;

/**
 * Puts the queue back in step with the outbox, which is what counts: a message `queued` for longer than `staleMs`,
 * or `sending` under a lapsed lease, whose send job is gone (Redis lost it, or the portal could not add it) or
 * finished without reaching it (a worker died twice on it), gets a new send job, unless it has used every attempt:
 * then it is marked failed. Messages whose job waits or runs are left alone. Safe on every worker at once (the job id
 * is the outbox id). Returns how many jobs it added.
 *
 * @example
 * await requeueStrandedMail({ store, queue, logger });
 */
export async function requeueStrandedMail(deps: MailRequeueDeps, staleMs = STRANDED_AFTER_MS): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const retry = { ...DEFAULT_MAIL_RETRY, ...deps.retry };
  let added = 0;
  for (const message of await deps.store.listStranded(new Date(now.getTime() - staleMs), now)) {
    const job = await deps.queue.getJob(sendMailJobId(message.id));
    const state = job === undefined ? 'missing' : await job.getState();
    if (state !== 'missing' && state !== 'failed' && state !== 'completed' && state !== 'unknown') continue;
    const current = await deps.store.findForSending(message.id);
    if (current === undefined || current.status === 'sent' || current.status === 'failed') continue;
    if (current.attempts >= retry.attempts) {
      await deps.store.markFailed(
        message.id,
        undefined,
        { code: 'ERR_MAIL_UNAVAILABLE', message: `gave up after ${current.attempts} attempts (the worker stopped while sending)` },
        now,
      );
      continue;
    }
    if (job !== undefined) await job.remove();
    await queueSendMail(deps.queue, message.id, retry);
    added += 1;
    deps.logger.info({ outboxId: message.id, tenantId: message.tenantId, template: current.template, jobState: state }, 'mail send job queued again');
  }
  return added;
}
