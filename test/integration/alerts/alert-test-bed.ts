import { Queue } from 'bullmq';
import { expect } from 'vitest';
import { sendAlertDigests, type AlertDigestOutcome } from '../../../src/alerts/alert-digest.js';
import { ALERT_DIGEST_JOB_NAME, type AlertDigestJobData } from '../../../src/alerts/alert-digest-schedule.js';
import { AlertDispatcher } from '../../../src/alerts/alert-dispatcher.js';
import type { AlertEvent, AlertOutcome, AlertSink } from '../../../src/alerts/alert-event.js';
import type { MailOutbox } from '../../../src/mail/mail-outbox.js';
import type { OutboxMessage } from '../../../src/mail/mail-outbox-store.js';
import { MAIL_QUEUE_NAME } from '../../../src/mail/mail-queue.js';
import { SmtpMailTransport } from '../../../src/mail/smtp-mail-transport.js';
import type { ControlPlane } from '../../../src/store/control-plane.js';
import { pollUntil } from '../../support/poll-until.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../../support/smtp-server.js';
import { startMailWorker, type MailWorker } from '../../../worker/mail-workers.js';
import { startMailFixture, type MailFixture } from '../mail/mail-fixture.js';

/** The portal address of a tenant in the test bed's messages (the mail fixture's). */
export const portalUrlOf = (tenantId: string): string => `https://${tenantId}.portal.test`;

/** A message the SMTP server received, with the outbox's record of it. */
export type DeliveredAlert = ReceivedMail & { message: OutboxMessage };

/** One alert a test bed's sink handed on, and what became of it. */
export interface RaisedAlert {
  event: AlertEvent;
  outcome: AlertOutcome;
}

/**
 * Run alerts end to end: a real SMTP server on loopback, the outbox on its own database (its tenants looked up in the
 * test's control plane), the worker's mail worker sending over STARTTLS and running the alert-digest job (its clock
 * `digestNow`), and an {@link AlertDispatcher} on the test's control plane. Every alert raised through
 * {@link AlertTestBed.sink} is recorded in `raised`; `failingTenants` makes the outbox refuse that tenant's messages
 * (the outbox unreachable).
 */
export interface AlertTestBed {
  smtp: TestSmtpServer;
  fx: MailFixture;
  /** The outbox the dispatcher uses: the fixture's, except for `failingTenants`. */
  outbox: MailOutbox;
  failingTenants: Set<string>;
  dispatcher: AlertDispatcher;
  sink: AlertSink;
  raised: RaisedAlert[];
  /** The digest job's clock; undefined: the real one. */
  digestNow: Date | undefined;
  /** Adds an `alert-digest` job to the mail queue, as its job scheduler does, and returns what the worker's pass did. */
  runDigestJob(): Promise<AlertDigestOutcome>;
  /** Waits until `tenantId` has `count` messages, all sent, and returns what the SMTP server received (one copy each). */
  deliveredTo(tenantId: string, count: number): Promise<DeliveredAlert[]>;
  /** Waits until an alert of `kind` for the tenant was raised and handled. */
  raisedFor(tenantId: string, kind: AlertEvent['kind']): Promise<RaisedAlert>;
  close(): Promise<void>;
}

/**
 * Builds the test bed on a control plane the test owns (an export, import or portal harness's).
 *
 * @example
 * const bed = await startAlertTestBed(() => harness.controlPlane);
 * harness.deps.alerts = bed.sink;
 */
export async function startAlertTestBed(controlPlaneOf: () => ControlPlane): Promise<AlertTestBed> {
  const smtp = await startTestSmtpServer();
  const fx = await startMailFixture({ attempts: 3, backoffMs: 200 }, { tenants: { get: (id) => controlPlaneOf().tenants.get(id) } });
  const failingTenants = new Set<string>();
  const outbox: MailOutbox = {
    enqueue: (mail) => (failingTenants.has(mail.tenantId) ? Promise.reject(new Error('the outbox is down')) : fx.outbox.enqueue(mail)),
  };
  const clock: { now: Date | undefined } = { now: undefined };
  const worker: MailWorker = startMailWorker(
    {
      ...fx.senderDeps(new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca })),
      queue: fx.queue,
      retry: { attempts: 3, backoffMs: 200 },
      alertDigests: () =>
        sendAlertDigests({ controlPlane: controlPlaneOf(), mail: outbox, portalUrlOf, logger: fx.logger, now: () => clock.now ?? new Date() }),
    },
    fx.redis,
    fx.prefix,
    { requeueIntervalMs: 3_600_000 },
  );
  const digestQueue = new Queue<AlertDigestJobData>(MAIL_QUEUE_NAME, { connection: fx.redis, prefix: fx.prefix });
  const raised: RaisedAlert[] = [];
  let dispatcher: AlertDispatcher | undefined;
  const dispatcherOf = (): AlertDispatcher => (dispatcher ??= new AlertDispatcher({ controlPlane: controlPlaneOf(), mail: outbox, logger: fx.logger }));
  const sink: AlertSink = {
    async raise(event) {
      const outcome = await dispatcherOf().raise(event);
      raised.push({ event, outcome });
      return outcome;
    },
  };
  return {
    smtp,
    fx,
    outbox,
    failingTenants,
    get dispatcher() {
      return dispatcherOf();
    },
    sink,
    raised,
    get digestNow() {
      return clock.now;
    },
    set digestNow(value) {
      clock.now = value;
    },
    async runDigestJob() {
      const job = await digestQueue.add(ALERT_DIGEST_JOB_NAME, {});
      const state = await pollUntil(
        'the alert-digest job',
        () => job.getState(),
        (current) => current === 'completed' || current === 'failed',
      );
      const done = await digestQueue.getJob(job.id ?? '');
      if (state !== 'completed') throw new Error(`the alert-digest job failed: ${done?.failedReason ?? 'unknown'}`);
      return done?.returnvalue as AlertDigestOutcome;
    },
    async deliveredTo(tenantId, count) {
      const messages = await pollUntil(
        `${count} message(s) of ${tenantId} sent`,
        async () => (await fx.store.listByTenant(tenantId, { limit: 200 })).reverse(),
        (list) => list.length >= count && list.every((m) => m.status === 'sent'),
        30_000,
      );
      expect(messages, `messages of ${tenantId}: ${messages.map((m) => `${m.template} to ${m.to}`).join(', ')}`).toHaveLength(count);
      return messages.map((message) => {
        const received = smtp.received.filter((r) => r.messageId === message.messageId);
        expect(received, `one copy of ${message.template} to ${message.to}`).toHaveLength(1);
        return { ...(received[0] as ReceivedMail), message };
      });
    },
    async raisedFor(tenantId, kind) {
      const found = await pollUntil(
        `a ${kind} alert of ${tenantId}`,
        async () => raised.find((entry) => entry.event.tenantId === tenantId && entry.event.kind === kind),
        (entry) => entry !== undefined,
        30_000,
      );
      return found as RaisedAlert;
    },
    async close() {
      await worker.close(true);
      await digestQueue.close();
      await fx.close();
      await smtp.close();
    },
  };
}
