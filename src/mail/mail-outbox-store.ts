import type { Collection, Db, Filter } from 'mongodb';
import type { SealedSecret } from '../crypto/secret-box.js';
import type { ErrorCode } from '../error-catalogue.js';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { MailTemplateId } from './mail-outbox.js';

/**
 * Where a message is:
 * - `queued`: stored, waiting for its send job (also between attempts);
 * - `sending`: a worker holds its lease and is talking to the SMTP server;
 * - `sent`: the SMTP server accepted it (recorded once, by the lease holder);
 * - `failed`: refused for good (5xx) or out of attempts; `lastError` says why.
 */
export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** The statuses, in the order a message goes through them. */
export const OUTBOX_STATUSES: readonly OutboxStatus[] = ['queued', 'sending', 'sent', 'failed'];

/** A stored message, without its body. */
export interface OutboxMessage {
  /** The outbox id: the send id, the job id's suffix and the local part of the `Message-ID`. */
  id: string;
  tenantId: string;
  to: string;
  template: MailTemplateId;
  subject: string;
  status: OutboxStatus;
  /** Times a worker took the message to send it. */
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  lastAttemptAt: Date | undefined;
  sentAt: Date | undefined;
  failedAt: Date | undefined;
  /** The `Message-ID` it was sent with. */
  messageId: string | undefined;
  /** The SMTP server's last reply (`250 … queued as …`) once sent. */
  smtpResponse: string | undefined;
  lastError: { code: ErrorCode; message: string; at: Date } | undefined;
}

/** A new message as {@link MailOutboxStore.insert} stores it. */
export interface NewOutboxMessage {
  id: string;
  tenantId: string;
  to: string;
  template: MailTemplateId;
  subject: string;
  dedupeKey: string;
  /** Subject and bodies sealed for this message (the bodies carry links); removed once sent or failed. */
  content: SealedSecret;
}

/** A message taken for sending: its lease token and sealed content. */
export interface ClaimedOutboxMessage extends OutboxMessage {
  leaseToken: string;
  content: SealedSecret | undefined;
}

interface OutboxDocument {
  _id: string;
  tenantId: string;
  dedupeKey: string;
  to: string;
  template: MailTemplateId;
  subject: string;
  status: OutboxStatus;
  attempts: number;
  content?: SealedSecret;
  lease?: { token: string; until: Date };
  createdAt: Date;
  updatedAt: Date;
  lastAttemptAt?: Date;
  sentAt?: Date;
  failedAt?: Date;
  messageId?: string;
  smtpResponse?: string;
  lastError?: { code: ErrorCode; message: string; at: Date };
  /** Set when the message is sent or failed: MongoDB's TTL monitor removes the document then. */
  purgeAt?: Date;
}

/** How long a sent or failed message stays listed on the outbox page. */
export const OUTBOX_KEEP_DAYS = 90;
const KEEP_MS = OUTBOX_KEEP_DAYS * 86_400_000;

const toMessage = (doc: OutboxDocument): OutboxMessage => ({
  id: doc._id,
  tenantId: doc.tenantId,
  to: doc.to,
  template: doc.template,
  subject: doc.subject,
  status: doc.status,
  attempts: doc.attempts,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  lastAttemptAt: doc.lastAttemptAt,
  sentAt: doc.sentAt,
  failedAt: doc.failedAt,
  messageId: doc.messageId,
  smtpResponse: doc.smtpResponse,
  lastError: doc.lastError,
});

/** Where a page of {@link MailOutboxStore.listByTenant} starts: after this message of the previous page. */
export interface OutboxCursor {
  createdAt: Date;
  id: string;
}

/**
 * The control plane's `mailOutbox` collection: every message before and after it is sent. The send job changes a
 * message only through conditional updates, so it is marked sent exactly once: {@link claim} takes it (`queued`, or
 * `sending` with a lapsed lease, to `sending` under a new lease token), and {@link markSent} / {@link release} /
 * {@link markFailed} apply only while that token holds the lease. Sent and failed messages lose their sealed content
 * and are removed after {@link OUTBOX_KEEP_DAYS} days (TTL index). Every read for the portal is scoped to one tenant.
 *
 * @example
 * const store = new MailOutboxStore(db);
 * await store.ensureIndexes();
 * const page = await store.listByTenant('acme', { status: 'failed', limit: 50 });
 */
export class MailOutboxStore {
  private readonly messages: Collection<OutboxDocument>;

  constructor(db: Db) {
    this.messages = db.collection<OutboxDocument>('mailOutbox');
  }

  /** Indexes: one message per (tenant, dedupe key); the outbox page's order and filter; stranded messages; the TTL. */
  async ensureIndexes(): Promise<void> {
    await this.messages.createIndex({ tenantId: 1, dedupeKey: 1 }, { unique: true, name: 'tenant_dedupe_key' });
    await this.messages.createIndex({ tenantId: 1, createdAt: -1, _id: -1 }, { name: 'tenant_created' });
    await this.messages.createIndex({ tenantId: 1, status: 1, createdAt: -1, _id: -1 }, { name: 'tenant_status_created' });
    await this.messages.createIndex({ status: 1, updatedAt: 1 }, { name: 'status_updated' });
    await this.messages.createIndex({ purgeAt: 1 }, { expireAfterSeconds: 0, name: 'purge_at' });
  }

  /**
   * Stores a new `queued` message. When the tenant already has a message with the same dedupe key, stores nothing
   * and returns that message's id with `duplicate: true`.
   */
  async insert(message: NewOutboxMessage, now: Date): Promise<{ id: string; duplicate: boolean; status: OutboxStatus }> {
    const tenantId = assertTenantId(message.tenantId);
    const doc: OutboxDocument = {
      _id: message.id,
      tenantId,
      dedupeKey: message.dedupeKey,
      to: message.to,
      template: message.template,
      subject: message.subject,
      status: 'queued',
      attempts: 0,
      content: message.content,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.messages.insertOne(doc);
      return { id: message.id, duplicate: false, status: 'queued' };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.messages.findOne({ tenantId, dedupeKey: message.dedupeKey }, { projection: { _id: 1, status: 1 } });
      if (existing === null) throw err;
      return { id: existing._id, duplicate: true, status: existing.status };
    }
  }

  /** A message by id, within its tenant. */
  async findById(tenantId: string, id: string): Promise<OutboxMessage | undefined> {
    const doc = await this.messages.findOne({ _id: id, tenantId: assertTenantId(tenantId) }, { projection: { content: 0 } });
    return doc ? toMessage(doc) : undefined;
  }

  /** A message by its outbox id alone: for the send job, whose payload is only the id. */
  async findForSending(id: string): Promise<OutboxMessage | undefined> {
    const doc = await this.messages.findOne({ _id: id }, { projection: { content: 0 } });
    return doc ? toMessage(doc) : undefined;
  }

  /**
   * Takes message `id` for one attempt: a `queued` message, or a `sending` one whose lease lapsed (its worker died),
   * becomes `sending` under `leaseToken` until `now + leaseMs`, and its attempt count goes up. Undefined when the
   * message is absent, already sent or failed, or leased by a live worker.
   */
  async claim(id: string, leaseToken: string, now: Date, leaseMs: number): Promise<ClaimedOutboxMessage | undefined> {
    const doc = await this.messages.findOneAndUpdate(
      { _id: id, $or: [{ status: 'queued' }, { status: 'sending', 'lease.until': { $lte: now } }] },
      {
        $set: { status: 'sending', lease: { token: leaseToken, until: new Date(now.getTime() + leaseMs) }, lastAttemptAt: now, updatedAt: now },
        $inc: { attempts: 1 },
      },
      { returnDocument: 'after' },
    );
    return doc ? { ...toMessage(doc), leaseToken, content: doc.content } : undefined;
  }

  /** Records the SMTP server's acceptance, once: only while `leaseToken` holds the lease. False when it does not. */
  async markSent(id: string, leaseToken: string, sent: { messageId: string; smtpResponse: string }, now: Date): Promise<boolean> {
    const result = await this.messages.updateOne(
      { _id: id, status: 'sending', 'lease.token': leaseToken },
      {
        $set: {
          status: 'sent',
          sentAt: now,
          updatedAt: now,
          messageId: sent.messageId,
          smtpResponse: sent.smtpResponse.slice(0, 500),
          purgeAt: new Date(now.getTime() + KEEP_MS),
        },
        $unset: { content: '', lease: '' },
      },
    );
    return result.modifiedCount === 1;
  }

  /** After a transient failure: back to `queued` with the error, for the next attempt. Only while `leaseToken` holds the lease. */
  async release(id: string, leaseToken: string, error: { code: ErrorCode; message: string }, now: Date): Promise<boolean> {
    const result = await this.messages.updateOne(
      { _id: id, status: 'sending', 'lease.token': leaseToken },
      { $set: { status: 'queued', updatedAt: now, lastError: { ...error, message: error.message.slice(0, 1000), at: now } }, $unset: { lease: '' } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Fails the message for good, with the reason: while `leaseToken` holds its lease, or (`leaseToken` undefined) when
   * it is `queued` or its lease lapsed, for a send job that failed without reaching it. Its content is removed.
   */
  async markFailed(id: string, leaseToken: string | undefined, error: { code: ErrorCode; message: string }, now: Date): Promise<boolean> {
    const filter: Filter<OutboxDocument> =
      leaseToken === undefined
        ? { _id: id, $or: [{ status: 'queued' }, { status: 'sending', 'lease.until': { $lte: now } }] }
        : { _id: id, status: 'sending', 'lease.token': leaseToken };
    const result = await this.messages.updateOne(filter, {
      $set: {
        status: 'failed',
        failedAt: now,
        updatedAt: now,
        lastError: { ...error, message: error.message.slice(0, 1000), at: now },
        purgeAt: new Date(now.getTime() + KEEP_MS),
      },
      $unset: { content: '', lease: '' },
    });
    return result.modifiedCount === 1;
  }

  /**
   * Messages a send job may have been lost for: `queued` and unchanged since `before`, or `sending` with a lapsed
   * lease. Oldest first, at most `limit`.
   */
  async listStranded(before: Date, now: Date, limit = 100): Promise<Array<Pick<OutboxMessage, 'id' | 'tenantId' | 'status'>>> {
    const docs = await this.messages
      .find(
        {
          $or: [
            { status: 'queued', updatedAt: { $lt: before } },
            { status: 'sending', 'lease.until': { $lte: now } },
          ],
        },
        { projection: { _id: 1, tenantId: 1, status: 1 } },
      )
      .sort({ updatedAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map((doc) => ({ id: doc._id, tenantId: doc.tenantId, status: doc.status }));
  }

  /**
   * A page of the tenant's messages, newest first, optionally of one status, starting after `after`. Never the body.
   */
  async listByTenant(tenantId: string, options: { status?: OutboxStatus; after?: OutboxCursor; limit: number }): Promise<OutboxMessage[]> {
    const filter: Filter<OutboxDocument> = { tenantId: assertTenantId(tenantId) };
    if (options.status !== undefined) filter.status = options.status;
    if (options.after !== undefined) {
      filter.$or = [{ createdAt: { $lt: options.after.createdAt } }, { createdAt: options.after.createdAt, _id: { $lt: options.after.id } }];
    }
    const docs = await this.messages
      .find(filter, { projection: { content: 0, lease: 0, dedupeKey: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(Math.max(1, Math.min(options.limit, 200)))
      .toArray();
    return docs.map(toMessage);
  }
}
