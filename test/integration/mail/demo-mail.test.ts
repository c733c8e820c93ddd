import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MAIL_FROM, demoMailSettings } from '../../../src/demo/demo-services.js';
import { createMailTransport } from '../../../src/mail/create-mail-transport.js';
import { outboxMessageId, sendOutboxMessage } from '../../../src/mail/mail-sender.js';
import type { MailSettings } from '../../../src/mail/mail-settings.js';
import { pollUntil } from '../../support/poll-until.js';
import { parseMessage } from '../../support/smtp-server.js';
import { startMailFixture, type MailFixture } from './mail-fixture.js';

/** The demo without SMTP_URL (issue 13.6): every message becomes an .eml file, through the same outbox and send job. */

let dataDir: string;
let fx: MailFixture;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'retention-demo-mail-'));
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 });
});

afterAll(async () => {
  await fx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the demo’s mail', () => {
  it('without SMTP_URL writes each message as an .eml file under the data directory, once, and says where', async () => {
    const demo = demoMailSettings(undefined, {}, dataDir);
    expect(demo.settings).toEqual({ from: DEMO_MAIL_FROM, transport: { kind: 'file', directory: join(dataDir, 'mail') } });
    expect(demo.description).toContain(`.eml files to ${join(dataDir, 'mail')}`);

    const transport = createMailTransport(demo.settings);
    fx.startWorker(transport, {}, { from: demo.settings.from });
    const tenantId = await fx.createTenant('Demo Contact Center');
    const mail = fx.invitation(tenantId, 'jo@demo.example');
    const { id } = await fx.outbox.enqueue(mail);
    await pollUntil(
      'the message written',
      () => fx.store.findById(tenantId, id),
      (m) => m?.status === 'sent',
    );

    const files = await readdir(join(dataDir, 'mail'));
    expect(files).toEqual([expect.stringMatching(new RegExp(`^\\d{8}T\\d{6}Z-${id}\\.eml$`))]);
    const message = parseMessage(await readFile(join(dataDir, 'mail', files[0] ?? ''), 'utf8'));
    expect(message.messageId).toBe(outboxMessageId(id, DEMO_MAIL_FROM));
    expect(message.headers.get('to')).toBe('jo@demo.example');
    expect(message.subject).toBe('Olga Owner invited you to the Retention portal of Demo Contact Center');
    expect(message.text).toContain(String(mail.data.link));
    expect(message.html).toContain('Demo Contact Center');

    // A job that runs again finds it sent; the same message written again lands in the same file.
    expect(await sendOutboxMessage(fx.senderDeps(transport, { from: DEMO_MAIL_FROM }), id, { attempt: 2, final: false })).toBe('already-sent');
    expect(await readdir(join(dataDir, 'mail'))).toHaveLength(1);
  });

  it('takes MAIL_FROM as the sender, and uses the configured SMTP server when SMTP_URL is set', () => {
    expect(demoMailSettings(undefined, { MAIL_FROM: 'Acme <retention@acme.example>' }, dataDir).settings.from).toBe('Acme <retention@acme.example>');
    const configured: MailSettings = { from: 'r@acme.example', transport: { kind: 'smtp', host: 'smtp.acme.example', port: 465, tls: 'implicit' } };
    const demo = demoMailSettings(configured, {}, dataDir);
    expect(demo.settings).toBe(configured);
    expect(demo.description).toBe('SMTP smtp.acme.example:465 (TLS, certificate verified), from r@acme.example');
  });
});
