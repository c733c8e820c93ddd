import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import { expect, inject } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import type { MailTemplateId, OutgoingMail } from '../../../src/mail/mail-outbox.js';
import { MailOutboxStore, type OutboxMessage } from '../../../src/mail/mail-outbox-store.js';
import { createMailQueue, type MailRetryOptions, type SendMailJobData } from '../../../src/mail/mail-queue.js';
import type { MailSenderDeps } from '../../../src/mail/mail-sender.js';
import type { MailTransport } from '../../../src/mail/mail-transport.js';
import { QueuedMailOutbox } from '../../../src/mail/queued-mail-outbox.js';
import { findViewsDirectory } from '../../../src/portal/view-rendering.js';
import { TenantsStore } from '../../../src/store/tenants-store.js';
import { startMailWorker, type MailWorker, type MailWorkerOptions } from '../../../worker/mail-workers.js';
import { uniqueDbName } from '../../support/mongo.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import type { ReceivedMail, TestSmtpServer } from '../../support/smtp-server.js';

/** The sender of every test message. */
export const TEST_FROM = 'Retention tests <retention@tests.example>';

/** `RETENTION_MASTER_KEYS` of the tests' outbox (for a worker process started on the fixture). */
export const TEST_MASTER_KEYS = `mail:${Buffer.alloc(32, 11).toString('base64')}`;
export const testKeyring = parseKeyring(TEST_MASTER_KEYS);

/** An outbox on its own database and queue prefix, and workers started on demand; everything removed by `close`. */
export interface MailFixture {
  db: Db;
  redis: Redis;
  prefix: string;
  store: MailOutboxStore;
  queue: Queue<SendMailJobData>;
  tenants: TenantsStore;
  outbox: QueuedMailOutbox;
  logger: Logger;
  /** Creates a tenant with that display name and returns its id. */
  createTenant(displayName?: string): Promise<string>;
  /** A message of the `invitation` template to `to`. */
  invitation(tenantId: string, to: string, overrides?: Partial<OutgoingMail>): OutgoingMail;
  /** The sender's dependencies with this transport. */
  senderDeps(transport: MailTransport, overrides?: Partial<MailSenderDeps>): MailSenderDeps;
  /** Starts a mail worker on the fixture's queue (closed by `close`); `overrides` changes the sender's dependencies (`from`). */
  startWorker(transport: MailTransport, options?: MailWorkerOptions, overrides?: Partial<MailSenderDeps>): MailWorker;
  close(): Promise<void>;
}

/**
 * Builds the fixture on the test bed's MongoDB and Redis. `retry` is the producer's (tests use a short backoff);
 * `options.tenants` looks tenants up elsewhere (a portal harness's control plane) instead of the fixture's own store.
 *
 * @example
 * const fx = await startMailFixture({ attempts: 5, backoffMs: 200 });
 */
export async function startMailFixture(
  retry: MailRetryOptions = { attempts: 5, backoffMs: 200 },
  options: { tenants?: Pick<TenantsStore, 'get'>; portalUrlOf?: (tenantId: string) => string } = {},
): Promise<MailFixture> {
  const client = await MongoClient.connect(inject('mongoUrl'));
  const db = client.db(uniqueDbName('mail'));
  const store = new MailOutboxStore(db);
  await store.ensureIndexes();
  const tenants = new TenantsStore(db);
  const redis = createTestRedis();
  const prefix = uniqueName('mail');
  const queue = createMailQueue(redis, prefix);
  const logger = createLogger({ level: 'silent', name: 'mail-test' });
  const outbox = new QueuedMailOutbox({
    store,
    queue,
    keyring: testKeyring,
    tenants: options.tenants ?? tenants,
    portalUrlOf: options.portalUrlOf ?? ((tenantId) => `https://${tenantId}.portal.test`),
    viewsDirectory: findViewsDirectory(),
    logger,
    retry,
  });
  const workers: MailWorker[] = [];
  const senderDeps = (transport: MailTransport, overrides: Partial<MailSenderDeps> = {}): MailSenderDeps => ({
    store,
    transport,
    keyring: testKeyring,
    from: TEST_FROM,
    logger,
    ...overrides,
  });
  return {
    db,
    redis,
    prefix,
    store,
    queue,
    tenants,
    outbox,
    logger,
    async createTenant(displayName = 'Acme Support') {
      const id = uniqueName('acme').toLowerCase();
      await tenants.create({ id, displayName });
      return id;
    },
    invitation: (tenantId, to, overrides = {}) => ({
      tenantId,
      to,
      template: 'invitation',
      data: {
        inviteeName: 'Jo Tester',
        inviterName: 'Olga Owner',
        access: 'chats; may export results',
        link: `https://${tenantId}.portal.test/invitation/${uniqueName('token')}`,
        expiresAt: '2026-11-26 18:14 UTC',
      },
      dedupeKey: uniqueName('invitation'),
      ...overrides,
    }),
    senderDeps,
    startWorker(transport, options = {}, overrides = {}) {
      const worker = startMailWorker({ ...senderDeps(transport, overrides), queue, retry }, redis, prefix, { requeueIntervalMs: 3_600_000, ...options });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(true)));
      await queue.close();
      await cleanupPrefix(redis, `${prefix}:`);
      await redis.quit();
      await db.dropDatabase();
      await client.close();
    },
  };
}

/** A message the SMTP server received, with the outbox template it was sent from. */
export type ReceivedTemplateMail = ReceivedMail & { template: MailTemplateId };

/** The tenant's queued messages, oldest first (as stored when they were queued). */
export async function queuedOf(fx: Pick<MailFixture, 'store'>, tenantId: string): Promise<OutboxMessage[]> {
  return (await fx.store.listByTenant(tenantId, { limit: 200 })).reverse();
}

/**
 * Waits until exactly `count` messages of the tenant are queued and all of them sent, and returns what the SMTP
 * server received for each, oldest first (one copy each, or the test fails).
 *
 * @example
 * const [invitation] = await receivedOf(fx, smtp, tenantId, 1);
 */
export async function receivedOf(
  fx: Pick<MailFixture, 'store'>,
  smtp: Pick<TestSmtpServer, 'received'>,
  tenantId: string,
  count: number,
): Promise<ReceivedTemplateMail[]> {
  const messages = await pollUntil(
    `${count} message(s) of ${tenantId} sent`,
    () => queuedOf(fx, tenantId),
    (list) => list.length === count && list.every((m) => m.status === 'sent'),
  );
  return messages.map((m) => {
    const received = smtp.received.filter((r) => r.messageId === m.messageId);
    expect(received, `one copy of ${m.template} to ${m.to}`).toHaveLength(1);
    return { ...(received[0] as ReceivedMail), template: m.template };
  });
}
