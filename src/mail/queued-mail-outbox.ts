import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Keyring } from '../crypto/keyring.js';
import { sealSecret } from '../crypto/secret-box.js';
import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { maskEmailAddress } from '../masking/mask-email-address.js';
import type { TenantsStore } from '../store/tenants-store.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { MailOutbox, OutgoingMail } from './mail-outbox.js';
import type { MailOutboxStore } from './mail-outbox-store.js';
import { DEFAULT_MAIL_RETRY, queueSendMail, type MailRetryOptions, type SendMailJobData } from './mail-queue.js';
import { missingMailVariables, renderMail, type RenderedMail } from './mail-rendering.js';
import { isMailTemplateId } from './mail-templates.js';

/** What {@link QueuedMailOutbox} is built from. */
export interface QueuedMailOutboxDeps {
  store: MailOutboxStore;
  queue: Queue<SendMailJobData>;
  /** Seals each message's bodies (they carry links) until it is sent. */
  keyring: Keyring;
  /** The tenant's display name, which every message names. */
  tenants: Pick<TenantsStore, 'get'>;
  /** The tenant's portal address (`PUBLIC_URL` with the tenant's label), printed in every message's footer. */
  portalUrlOf: (tenantId: string) => string;
  /** The `views/` directory (templates under `views/mail/`). */
  viewsDirectory: string;
  logger: Logger;
  /** Attempts and backoff of each message's send job. Default {@link DEFAULT_MAIL_RETRY}. */
  retry?: MailRetryOptions;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
}

/** The bodies of a message as they are sealed in the outbox. */
export interface SealedMailContent {
  text: string;
  html: string;
}

/** The sealing context of a message's bodies: sealed content copied to another message or tenant does not open. */
export function mailContentContext(tenantId: string, outboxId: string): string {
  return `tenant:${tenantId}/mail:${outboxId}/content`;
}

const RECIPIENT = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}\.[^\s@<>()[\]\\,;:".]{2,63}$/;
const DEDUPE_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * The outbox: {@link MailOutbox.enqueue} checks the message, renders it (subject, text, HTML) with the tenant's
 * name, seals the bodies, stores it as `queued` in `mailOutbox` (once per dedupe key) and adds its send job
 * (`mail.<outbox id>`) to the `mail` queue, which the worker runs. A send job that could not be added (Redis away)
 * is added by the worker's requeue later: the stored message is what counts. Logs name the outbox id, template,
 * tenant and masked recipient, never a body or a link.
 *
 * @example
 * const mail = new QueuedMailOutbox({ store, queue, keyring, tenants: controlPlane.tenants, portalUrlOf, viewsDirectory, logger });
 * await mail.enqueue({ tenantId: 'acme', to: 'jo@acme.example', template: 'invitation', data, dedupeKey: `invitation:${tokenId}` });
 */
export class QueuedMailOutbox implements MailOutbox {
  private readonly retry: Required<MailRetryOptions>;
  private readonly now: () => Date;

  constructor(private readonly deps: QueuedMailOutboxDeps) {
    this.retry = { ...DEFAULT_MAIL_RETRY, ...deps.retry };
    this.now = deps.now ?? (() => new Date());
  }

  async enqueue(mail: OutgoingMail): Promise<{ id: string; duplicate: boolean }> {
    const tenantId = assertTenantId(mail.tenantId);
    const to = typeof mail.to === 'string' ? mail.to.trim() : '';
    if (to.length > 254 || !RECIPIENT.test(to)) throw new RetentionError('ERR_MAIL_INVALID', 'a message needs one recipient address such as jo@example.com');
    if (typeof mail.dedupeKey !== 'string' || !DEDUPE_KEY.test(mail.dedupeKey)) {
      throw new RetentionError(
        'ERR_MAIL_INVALID',
        'a message needs a dedupe key of 1 to 200 printable ASCII characters without spaces, e.g. "invitation:<token id>"',
      );
    }
    if (!isMailTemplateId(mail.template))
      throw new RetentionError('ERR_MAIL_TEMPLATE_INVALID', `there is no mail template "${String(mail.template).slice(0, 60)}"`);
    const missing = missingMailVariables(mail.template, mail.data);
    if (missing.length > 0)
      throw new RetentionError('ERR_MAIL_TEMPLATE_INVALID', `mail template "${mail.template}" needs ${missing.join(', ')} in data (plain values)`);
    const tenant = await this.deps.tenants.get(tenantId);
    if (tenant === undefined) throw new RetentionError('ERR_TENANT_NOT_FOUND', `tenant "${tenantId}" does not exist: no mail can be sent in its name`);

    const rendered: RenderedMail = await renderMail(this.deps.viewsDirectory, mail.template, {
      ...mail.data,
      tenantName: tenant.displayName,
      portalUrl: this.deps.portalUrlOf(tenantId),
      recipient: to,
    });
    const id = randomBytes(16).toString('hex');
    const content: SealedMailContent = { text: rendered.text, html: rendered.html };
    const stored = await this.deps.store.insert(
      {
        id,
        tenantId,
        to,
        template: mail.template,
        subject: rendered.subject,
        dedupeKey: mail.dedupeKey,
        content: sealSecret(this.deps.keyring, JSON.stringify(content), mailContentContext(tenantId, id)),
      },
      this.now(),
    );
    const logged = { outboxId: stored.id, template: mail.template, tenantId, to: maskEmailAddress(to) };
    if (stored.duplicate && stored.status !== 'queued') {
      this.deps.logger.info({ ...logged, status: stored.status }, 'mail already in the outbox: not queued again');
      return { id: stored.id, duplicate: true };
    }
    try {
      await queueSendMail(this.deps.queue, stored.id, this.retry);
    } catch (err) {
      this.deps.logger.warn(
        { ...logged, err: { message: err instanceof Error ? err.message : String(err) } },
        'mail stored, its send job not queued yet: the worker queues it',
      );
      return { id: stored.id, duplicate: stored.duplicate };
    }
    this.deps.logger.info({ ...logged, duplicate: stored.duplicate }, stored.duplicate ? 'mail already queued' : 'mail queued');
    return { id: stored.id, duplicate: stored.duplicate };
  }
}
