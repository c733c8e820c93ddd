import { randomBytes } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';
import { openSecret } from '../crypto/secret-box.js';
import { errorCodeSpec } from '../error-catalogue.js';
import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { maskEmailAddress } from '../masking/mask-email-address.js';
import type { MailOutboxStore } from './mail-outbox-store.js';
import { mailFromAddress } from './mail-settings.js';
import type { MailTransport } from './mail-transport.js';
import { mailContentContext, type SealedMailContent } from './queued-mail-outbox.js';
import { SMTP_SEND_BUDGET_MS } from './smtp-mail-transport.js';

/** What the send job needs. */
export interface MailSenderDeps {
  store: MailOutboxStore;
  transport: MailTransport;
  /** Opens the sealed bodies. */
  keyring: Keyring;
  /** `MAIL_FROM`. */
  from: string;
  logger: Logger;
  /** How long a worker holds a message it sends; a worker that dies loses it after that. Default: the SMTP budget plus a minute. */
  leaseMs?: number;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
}

/** What one send job did: sent it, or found nothing to do. */
export type MailSendOutcome = 'sent' | 'already-sent' | 'already-failed' | 'missing';

/**
 * The `Message-ID` of outbox message `outboxId`: the same on every attempt, so a receiving system can recognise a
 * second copy (the one left after a worker died between the server's acceptance and the outbox's record of it).
 *
 * @example
 * outboxMessageId('3f9a…', 'Retention <retention@example.com>'); // '<3f9a….retention@example.com>'
 */
export function outboxMessageId(outboxId: string, from: string): string {
  const address = mailFromAddress(from);
  return `<${outboxId}.retention@${address.slice(address.lastIndexOf('@') + 1)}>`;
}

/**
 * Sends outbox message `outboxId` once: takes it under a lease (`MailOutboxStore.claim`), opens its sealed bodies,
 * hands it to the transport and records it sent, only while the lease holds. A message already sent or failed is
 * left alone; one that a live worker is sending answers `ERR_MAIL_BUSY` (retried). On failure the message goes back
 * to `queued` with the error (transient), or is marked failed with the reason: at once for a permanent error
 * (`ERR_MAIL_REJECTED`: 5xx), after the last attempt (`final`) for a transient one. The error is rethrown for the
 * job to retry or fail. Logs carry the outbox id, template, tenant and masked recipient, never a body or a link.
 *
 * @example
 * await sendOutboxMessage(deps, job.data.outboxId, { attempt: job.attemptsMade + 1, final: job.attemptsMade + 1 >= attempts });
 */
export async function sendOutboxMessage(deps: MailSenderDeps, outboxId: string, attempt: { attempt: number; final: boolean }): Promise<MailSendOutcome> {
  const now = deps.now ?? (() => new Date());
  const leaseToken = randomBytes(12).toString('hex');
  const claimed = await deps.store.claim(outboxId, leaseToken, now(), deps.leaseMs ?? SMTP_SEND_BUDGET_MS + 60_000);
  if (claimed === undefined) {
    const current = await deps.store.findForSending(outboxId);
    if (current === undefined) {
      deps.logger.warn({ outboxId }, 'mail send job for a message the outbox does not hold: nothing to send');
      return 'missing';
    }
    const logged = { outboxId, template: current.template, tenantId: current.tenantId, to: maskEmailAddress(current.to) };
    if (current.status === 'sent') {
      deps.logger.info(logged, 'mail already sent: nothing to do');
      return 'already-sent';
    }
    if (current.status === 'failed') {
      deps.logger.info(logged, 'mail already failed: nothing to do');
      return 'already-failed';
    }
    throw new RetentionError('ERR_MAIL_BUSY', `mail ${outboxId} is being sent by another worker; this attempt waits for it`);
  }
  const logged = { outboxId, template: claimed.template, tenantId: claimed.tenantId, to: maskEmailAddress(claimed.to), attempt: attempt.attempt };

  let content: SealedMailContent;
  try {
    if (claimed.content === undefined) throw new RetentionError('ERR_MAIL_INVALID', 'the message has no stored content');
    content = JSON.parse(openSecret(deps.keyring, claimed.content, mailContentContext(claimed.tenantId, claimed.id))) as SealedMailContent;
  } catch (err) {
    const error =
      err instanceof RetentionError ? err : new RetentionError('ERR_MAIL_INVALID', 'the stored content of the message does not open', { cause: err });
    await deps.store.markFailed(outboxId, leaseToken, { code: error.code, message: error.message }, now());
    deps.logger.error({ ...logged, code: error.code }, 'mail failed: its content does not open');
    throw new RetentionError('ERR_MAIL_INVALID', `mail ${outboxId} cannot be sent: ${error.message}`, { cause: error });
  }

  const messageId = outboxMessageId(claimed.id, deps.from);
  let response: string;
  try {
    ({ response } = await deps.transport.send({
      outboxId: claimed.id,
      queuedAt: claimed.createdAt,
      from: deps.from,
      to: claimed.to,
      subject: claimed.subject,
      text: content.text,
      html: content.html,
      messageId,
    }));
  } catch (err) {
    const error =
      err instanceof RetentionError
        ? err
        : new RetentionError('ERR_MAIL_UNAVAILABLE', `sending failed unexpectedly (${String(err).slice(0, 200)})`, { cause: err });
    const permanent = errorCodeSpec(error.code).permanent;
    if (permanent || attempt.final) {
      const message = permanent ? error.message : `${error.message.replace(/: the message is tried again$/, '')} (gave up after ${attempt.attempt} attempts)`;
      await deps.store.markFailed(outboxId, leaseToken, { code: error.code, message }, now());
      deps.logger.error(
        { ...logged, code: error.code, err: { message: error.message } },
        permanent ? 'mail refused for good' : 'mail failed: no attempts left',
      );
    } else {
      await deps.store.release(outboxId, leaseToken, { code: error.code, message: error.message }, now());
      deps.logger.warn({ ...logged, code: error.code, err: { message: error.message } }, 'mail not sent yet: will retry');
    }
    throw error;
  }
  if (!(await deps.store.markSent(outboxId, leaseToken, { messageId, smtpResponse: response }, now()))) {
    deps.logger.warn(logged, 'mail sent, but its lease had lapsed: another worker may have sent it too');
  }
  deps.logger.info({ ...logged, messageId }, 'mail sent');
  return 'sent';
}
