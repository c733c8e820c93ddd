import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionError } from '../../../src/errors.js';
import { sendMailJobId } from '../../../src/mail/mail-queue.js';
import { requeueStrandedMail } from '../../../src/mail/mail-requeue.js';
import { outboxMessageId, sendOutboxMessage } from '../../../src/mail/mail-sender.js';
import type { OutboxMessage } from '../../../src/mail/mail-outbox-store.js';
import { SmtpMailTransport } from '../../../src/mail/smtp-mail-transport.js';
import { pollUntil } from '../../support/poll-until.js';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp-server.js';
import { startMailFixture, TEST_FROM, type MailFixture } from './mail-fixture.js';

/**
 * The outbox against real components: MongoDB, Redis (BullMQ), and a real SMTP server on loopback with STARTTLS and a
 * certificate made for the run. Every message is stored first, sent by a job, recorded sent once; an SMTP outage
 * loses nothing and sends nothing twice; a 550 fails its message at once.
 */

const BOUNCE = 'nobody@bounce.example';

let smtp: TestSmtpServer;
let fx: MailFixture;
let tenantId: string;

const transportFor = (server: TestSmtpServer) =>
  new SmtpMailTransport(
    { kind: 'smtp', host: server.host, port: server.port, tls: 'starttls' },
    { ca: server.ca, connectionTimeoutMs: 2_000, greetingTimeoutMs: 2_000 },
  );

const messageOf = async (id: string): Promise<OutboxMessage> => {
  const message = await fx.store.findById(tenantId, id);
  if (message === undefined) throw new Error(`no outbox message ${id}`);
  return message;
};

beforeAll(async () => {
  smtp = await startTestSmtpServer({ recipients: (address) => (address === BOUNCE ? 'reject-permanently' : 'accept') });
  fx = await startMailFixture({ attempts: 8, backoffMs: 250 });
  tenantId = await fx.createTenant('Acme Support');
});

afterEach(async () => {
  if (!smtp.running) await smtp.start();
});

afterAll(async () => {
  await fx?.close();
  await smtp?.close();
});

describe('the mail outbox', () => {
  it('stores a message, sends it by a job over verified STARTTLS with a Message-ID derived from the outbox id, and records it sent once', async () => {
    const worker = fx.startWorker(transportFor(smtp));
    const mail = fx.invitation(tenantId, 'jo@acme.example');
    const { id, duplicate } = await fx.outbox.enqueue(mail);
    expect(duplicate).toBe(false);
    const sent = await pollUntil(
      'the message sent',
      () => messageOf(id),
      (m) => m.status === 'sent',
    );
    await worker.close();

    const messageId = outboxMessageId(id, TEST_FROM);
    expect(sent).toMatchObject({ to: 'jo@acme.example', template: 'invitation', attempts: 1, messageId, lastError: undefined });
    expect(sent.smtpResponse).toContain('250');
    expect(smtp.countByMessageId(messageId)).toBe(1);
    const received = smtp.received.find((m) => m.messageId === messageId);
    expect(received).toMatchObject({ envelopeFrom: 'retention@tests.example', recipients: ['jo@acme.example'], secure: true });
    expect(received?.headers.get('to')).toBe('jo@acme.example');
    expect(received?.headers.get('auto-submitted')).toBe('auto-generated');
    expect(received?.subject).toBe('Olga Owner invited you to the Retention portal of Acme Support');
    expect(received?.text).toContain(String(mail.data.link));

    const stored = await fx.db.collection('mailOutbox').findOne({ _id: id as never });
    expect(stored).not.toHaveProperty('content');
    expect(JSON.stringify(stored)).not.toContain(String(mail.data.link));
  });

  it('seals the bodies while the message waits: the link is not stored in the clear', async () => {
    const mail = fx.invitation(tenantId, 'waiting@acme.example');
    const { id } = await fx.outbox.enqueue(mail);
    const stored = await fx.db.collection('mailOutbox').findOne({ _id: id as never });
    expect(stored?.status).toBe('queued');
    expect(String(stored?.content)).toMatch(/^v1\.mail\./);
    expect(JSON.stringify(stored)).not.toContain(String(mail.data.link));
    const worker = fx.startWorker(transportFor(smtp));
    await pollUntil(
      'the waiting message sent',
      () => messageOf(id),
      (m) => m.status === 'sent',
    );
    await worker.close();
  });

  it('queues a message once per dedupe key, and a job that finds it sent does nothing', async () => {
    const worker = fx.startWorker(transportFor(smtp));
    const mail = fx.invitation(tenantId, 'once@acme.example');
    const first = await fx.outbox.enqueue(mail);
    const again = await fx.outbox.enqueue({ ...mail, data: { ...mail.data, inviteeName: 'Someone else' } });
    expect(again).toEqual({ id: first.id, duplicate: true });
    await pollUntil(
      'the message sent',
      () => messageOf(first.id),
      (m) => m.status === 'sent',
    );
    expect(await fx.outbox.enqueue(mail)).toEqual({ id: first.id, duplicate: true });
    await worker.close();

    expect(await sendOutboxMessage(fx.senderDeps(transportFor(smtp)), first.id, { attempt: 2, final: false })).toBe('already-sent');
    expect(smtp.countByMessageId(outboxMessageId(first.id, TEST_FROM))).toBe(1);
    expect((await messageOf(first.id)).attempts).toBe(1);
  });

  it('marks a message sent exactly once when two workers run its job at the same time: one sends, the other waits (ERR_MAIL_BUSY)', async () => {
    const { id } = await fx.outbox.enqueue(fx.invitation(tenantId, 'twice@acme.example'));
    await (await fx.queue.getJob(sendMailJobId(id)))?.remove();
    const deps = fx.senderDeps(transportFor(smtp));
    const outcomes = await Promise.allSettled([
      sendOutboxMessage(deps, id, { attempt: 1, final: false }),
      sendOutboxMessage(deps, id, { attempt: 1, final: false }),
    ]);
    const sent = outcomes.filter((o) => o.status === 'fulfilled');
    const busy = outcomes.filter((o) => o.status === 'rejected');
    expect(sent.map((o) => (o as PromiseFulfilledResult<string>).value)).toEqual(['sent']);
    expect(busy.map((o) => ((o as PromiseRejectedResult).reason as RetentionError).code)).toEqual(['ERR_MAIL_BUSY']);
    expect(smtp.countByMessageId(outboxMessageId(id, TEST_FROM))).toBe(1);
    expect(await messageOf(id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('sends a message again after its worker died mid-send (its lease lapsed): the one window for a second copy, with the same Message-ID', async () => {
    const { id } = await fx.outbox.enqueue(fx.invitation(tenantId, 'crash@acme.example'));
    await (await fx.queue.getJob(sendMailJobId(id)))?.remove();
    // A worker takes the message and dies before the SMTP exchange ends: its lease (1 ms here) lapses.
    expect(await fx.store.claim(id, 'dead-worker', new Date(), 1)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await sendOutboxMessage(fx.senderDeps(transportFor(smtp)), id, { attempt: 2, final: false })).toBe('sent');
    expect(await messageOf(id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await fx.store.markSent(id, 'dead-worker', { messageId: 'x', smtpResponse: '250' }, new Date())).toBe(false);
    expect(smtp.countByMessageId(outboxMessageId(id, TEST_FROM))).toBe(1);
  });

  it('loses nothing and sends nothing twice when the SMTP server stops mid-run and comes back (counted by Message-ID)', async () => {
    const worker = fx.startWorker(transportFor(smtp));
    const before = await fx.outbox.enqueue(fx.invitation(tenantId, 'before@acme.example'));
    await pollUntil(
      'the first message sent',
      () => messageOf(before.id),
      (m) => m.status === 'sent',
    );

    await smtp.stop();
    const during = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => fx.outbox.enqueue(fx.invitation(tenantId, `${name}@acme.example`))));
    const failing = await pollUntil(
      'every message queued during the outage to fail once',
      () => Promise.all(during.map(({ id }) => messageOf(id))),
      (messages) => messages.every((m) => m.attempts >= 1 && m.lastError !== undefined),
    );
    for (const message of failing) {
      expect(message.status).not.toBe('sent');
      expect(message.lastError?.code).toBe('ERR_MAIL_UNAVAILABLE');
      expect(message.lastError?.message).toContain(`${smtp.host}:${smtp.port}`);
    }

    await smtp.start();
    const sent = await pollUntil(
      'every message sent after the server came back',
      () => Promise.all(during.map(({ id }) => messageOf(id))),
      (messages) => messages.every((m) => m.status === 'sent'),
      30_000,
    );
    await worker.close();
    for (const { id } of [before, ...during]) expect(smtp.countByMessageId(outboxMessageId(id, TEST_FROM)), id).toBe(1);
    expect(sent.every((m) => m.attempts >= 2)).toBe(true);
  }, 60_000);

  it('fails a message to a refused recipient (550) at once, without a retry, while the others go through', async () => {
    const worker = fx.startWorker(transportFor(smtp));
    const good = await fx.outbox.enqueue(fx.invitation(tenantId, 'good@acme.example'));
    const bounced = await fx.outbox.enqueue(fx.invitation(tenantId, BOUNCE));
    const alsoGood = await fx.outbox.enqueue(fx.invitation(tenantId, 'also-good@acme.example'));
    await pollUntil(
      'the good messages sent',
      () => Promise.all([messageOf(good.id), messageOf(alsoGood.id)]),
      (m) => m.every((x) => x.status === 'sent'),
    );
    const failed = await pollUntil(
      'the refused message failed',
      () => messageOf(bounced.id),
      (m) => m.status === 'failed',
    );
    // Longer than the first backoffs: a retry would have shown by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await worker.close();

    expect(failed).toMatchObject({ status: 'failed', attempts: 1, sentAt: undefined });
    expect(failed.lastError?.code).toBe('ERR_MAIL_REJECTED');
    expect(failed.lastError?.message).toContain('550');
    expect(failed.lastError?.message).not.toContain(BOUNCE);
    expect(smtp.rcptAttempts.get(BOUNCE)).toBe(1);
    const job = await fx.queue.getJob(sendMailJobId(bounced.id));
    expect([await job?.getState(), job?.attemptsMade]).toEqual(['failed', 1]);
    expect((await messageOf(bounced.id)).attempts).toBe(1);
  });

  it('marks a message failed with the reason after its last attempt', async () => {
    const short = await startMailFixture({ attempts: 2, backoffMs: 100 });
    try {
      const shortTenant = await short.createTenant('Short Support');
      await smtp.stop();
      const worker = short.startWorker(transportFor(smtp));
      const { id } = await short.outbox.enqueue(short.invitation(shortTenant, 'late@acme.example'));
      const failed = await pollUntil(
        'the message failed',
        async () => (await short.store.findById(shortTenant, id)) as OutboxMessage,
        (m) => m?.status === 'failed',
      );
      await worker.close();
      expect(failed).toMatchObject({ attempts: 2, status: 'failed' });
      expect(failed.lastError?.code).toBe('ERR_MAIL_UNAVAILABLE');
      expect(failed.lastError?.message).toMatch(/refused the connection \(gave up after 2 attempts\)$/);
    } finally {
      await short.close();
    }
  });

  it('queues the send job again of a message whose job was lost (Redis lost it), and sends it once', async () => {
    const { id } = await fx.outbox.enqueue(fx.invitation(tenantId, 'lost@acme.example'));
    await (await fx.queue.getJob(sendMailJobId(id)))?.remove();
    expect(await fx.queue.getJob(sendMailJobId(id))).toBeUndefined();
    expect(await requeueStrandedMail({ store: fx.store, queue: fx.queue, logger: fx.logger }, 0)).toBeGreaterThanOrEqual(1);
    expect(await fx.queue.getJob(sendMailJobId(id))).toBeDefined();
    const worker = fx.startWorker(transportFor(smtp));
    await pollUntil(
      'the requeued message sent',
      () => messageOf(id),
      (m) => m.status === 'sent',
    );
    await worker.close();
    expect(smtp.countByMessageId(outboxMessageId(id, TEST_FROM))).toBe(1);
    expect(await requeueStrandedMail({ store: fx.store, queue: fx.queue, logger: fx.logger }, 0)).toBe(0);
  });

  it('refuses a message it cannot send before storing anything', async () => {
    const cases: Array<[string, Parameters<MailFixture['outbox']['enqueue']>[0], string]> = [
      ['two recipients', fx.invitation(tenantId, 'a@acme.example, b@acme.example'), 'ERR_MAIL_INVALID'],
      ['a header in the address', fx.invitation(tenantId, 'a@acme.example\r\nBcc: x@evil.example'), 'ERR_MAIL_INVALID'],
      ['an empty dedupe key', fx.invitation(tenantId, 'a@acme.example', { dedupeKey: '' }), 'ERR_MAIL_INVALID'],
      ['a missing variable', fx.invitation(tenantId, 'a@acme.example', { data: { inviteeName: 'Jo' } }), 'ERR_MAIL_TEMPLATE_INVALID'],
      ['an unknown template', { ...fx.invitation(tenantId, 'a@acme.example'), template: 'nope' as never }, 'ERR_MAIL_TEMPLATE_INVALID'],
      ['an unknown tenant', fx.invitation('no-such-tenant', 'a@acme.example'), 'ERR_TENANT_NOT_FOUND'],
    ];
    const count = await fx.db.collection('mailOutbox').countDocuments();
    for (const [name, mail, code] of cases) await expect(fx.outbox.enqueue(mail), name).rejects.toMatchObject({ code });
    expect(await fx.db.collection('mailOutbox').countDocuments()).toBe(count);
  });
});

describe('the SMTP transport', () => {
  it('refuses to send without STARTTLS when the URL requires it (tls=starttls), and sends nothing', async () => {
    const plain = await startTestSmtpServer({ noStartTls: true });
    try {
      const transport = transportFor(plain);
      const error = await transport.send(outbound('plain@acme.example')).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ERR_MAIL_UNAVAILABLE' });
      expect(plain.received).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });

  it('verifies the certificate: a server whose certificate is not trusted gets nothing', async () => {
    const untrusting = new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { connectionTimeoutMs: 2_000 });
    const before = smtp.received.length;
    const error = await untrusting.send(outbound('untrusted@acme.example')).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ERR_MAIL_UNAVAILABLE' });
    expect((error as Error).message).toMatch(/verified TLS/);
    expect(smtp.received.length).toBe(before);
  });

  it('sends in plain text only when the URL says tls=off', async () => {
    const plain = await startTestSmtpServer({ noStartTls: true });
    try {
      await new SmtpMailTransport({ kind: 'smtp', host: plain.host, port: plain.port, tls: 'off' }).send(outbound('relay@acme.example'));
      expect(plain.received.map((m) => [m.recipients, m.secure])).toEqual([[['relay@acme.example'], false]]);
    } finally {
      await plain.close();
    }
  });
});

function outbound(to: string) {
  return {
    outboxId: '0123456789abcdef0123456789abcdef',
    queuedAt: new Date(),
    from: TEST_FROM,
    to,
    subject: 'A test',
    text: 'Hello',
    html: '<p>Hello</p>',
    messageId: `<${Math.random().toString(16).slice(2)}.retention@tests.example>`,
  };
}
