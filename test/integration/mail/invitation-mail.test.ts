import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpMailTransport } from '../../../src/mail/smtp-mail-transport.js';
import { outboxMessageId } from '../../../src/mail/mail-sender.js';
import { pollUntil } from '../../support/poll-until.js';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp-server.js';
import { uniqueName } from '../../support/redis.js';
import { PUBLIC_HOST, startPortalHarness, type PortalHarness } from '../portal/portal-harness.js';
import { startMailFixture, TEST_FROM, type MailFixture } from './mail-fixture.js';

/**
 * Invitations by mail (issue 13.2) through the real outbox, a real mail worker and a real SMTP server; the owner's
 * Outbox page; and the portal without mail, which shows the link as before.
 */

let smtp: TestSmtpServer;
let fx: MailFixture;
let h: PortalHarness;
let plain: PortalHarness;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 }, { tenants: { get: (id) => h.controlPlane.tenants.get(id) } });
  h = await startPortalHarness({}, { mail: fx.outbox, outboxMessages: fx.store });
  plain = await startPortalHarness();
  fx.startWorker(new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca }));
});

afterAll(async () => {
  await fx?.close();
  await h?.close();
  await plain?.close();
  await smtp?.close();
});

const invitationLinkOf = (html: string): string => /id="invitation-link">([^<]+)</.exec(html)?.[1] ?? '';

async function tenantWithOwner(harness: PortalHarness, displayName: string) {
  const tenantId = uniqueName('globex');
  await harness.controlPlane.tenants.create({ id: tenantId, displayName });
  const owner = await harness.createUser(tenantId, { role: 'owner', displayName: 'Olga Owner' });
  const client = harness.client(tenantId);
  expect((await client.signIn(owner.email)).headers.location).toBe('/');
  return { tenantId, owner, client };
}

describe('invitations by mail', () => {
  it('mails the invitation to the invited address: right recipient, subject, tenant name and link, and says so on the page', async () => {
    const { tenantId, client } = await tenantWithOwner(h, 'Globex Contact Center');
    await client.get('/users');
    const created = await client.post('/users/invitations', {
      email: 'ana@globex.example',
      displayName: 'Ana Admin',
      dataTypes: ['chats'],
      capabilities: ['export'],
    });
    expect(created.status).toBe(200);
    const link = invitationLinkOf(created.text);
    expect(link).toMatch(new RegExp(`^https://${tenantId}\\.${PUBLIC_HOST.replace('.', '\\.')}/invitation/[A-Za-z0-9_-]+$`));
    expect(created.text).toContain('The invitation was mailed to <strong>ana@globex.example</strong>');

    const [queued] = await fx.store.listByTenant(tenantId, { limit: 5 });
    expect(queued).toMatchObject({ to: 'ana@globex.example', template: 'invitation' });
    const sent = await pollUntil(
      'the invitation sent',
      async () => fx.store.findById(tenantId, queued?.id ?? ''),
      (m) => m?.status === 'sent',
    );
    const received = smtp.received.filter((m) => m.messageId === outboxMessageId(sent?.id ?? '', TEST_FROM));
    expect(received).toHaveLength(1);
    const mail = received[0];
    expect(mail?.recipients).toEqual(['ana@globex.example']);
    expect(mail?.headers.get('to')).toBe('ana@globex.example');
    expect(mail?.headers.get('from')).toBe(TEST_FROM);
    expect(mail?.subject).toBe('Olga Owner invited you to the Retention portal of Globex Contact Center');
    for (const body of [mail?.text ?? '', mail?.html ?? '']) {
      expect(body).toContain('Globex Contact Center');
      expect(body).toContain('Olga Owner');
      expect(body).toContain(link);
      expect(body).toContain('chats; may export results');
    }
    expect(mail?.text).toContain(`because Olga Owner, an administrator of Globex Contact Center, invited this address`);

    // The mailed link is the working one: it opens the invitation form.
    const form = await h.client(tenantId).get(new URL(link).pathname);
    expect(form.status).toBe(200);
  });

  it('mails a renewed invitation again, with its new link', async () => {
    const { tenantId, client } = await tenantWithOwner(h, 'Renew Support');
    await client.get('/users');
    const first = invitationLinkOf((await client.post('/users/invitations', { email: 'ben@renew.example', displayName: 'Ben' })).text);
    const invited = await h.controlPlane.users.findByEmail(tenantId, 'ben@renew.example');
    await client.get('/users');
    const renewed = await client.post(`/users/${invited?.id ?? ''}/invitation/renew`, {});
    const second = invitationLinkOf(renewed.text);
    expect(second).not.toBe(first);
    const messages = await pollUntil(
      'both invitations sent',
      () => fx.store.listByTenant(tenantId, { limit: 5 }),
      (list) => list.length === 2 && list.every((m) => m.status === 'sent'),
    );
    const bodies = messages.map((m) => smtp.received.find((r) => r.messageId === m.messageId)?.text ?? '');
    expect(bodies.filter((b) => b.includes(second))).toHaveLength(1);
    expect(bodies.filter((b) => b.includes(first))).toHaveLength(1);
  });

  it('says that mail is not configured, and still shows the link, on a portal without mail', async () => {
    const { client } = await tenantWithOwner(plain, 'Plain Support');
    await client.get('/users');
    const created = await client.post('/users/invitations', { email: 'cy@plain.example', displayName: 'Cy' });
    expect(created.status).toBe(200);
    expect(created.text).toContain('Mail is not configured for this portal, so nothing was mailed.');
    expect(invitationLinkOf(created.text)).toMatch(/\/invitation\//);
  });
});

describe('the Outbox page', () => {
  it('lists the tenant’s messages for the owner (recipient, template, subject, status, attempts), never the link', async () => {
    const { tenantId, client } = await tenantWithOwner(h, 'Outbox Support');
    await client.get('/users');
    const link = invitationLinkOf((await client.post('/users/invitations', { email: 'dee@outbox.example', displayName: 'Dee' })).text);
    await pollUntil(
      'the invitation sent',
      () => fx.store.listByTenant(tenantId, { limit: 5 }),
      (list) => list[0]?.status === 'sent',
    );
    const other = await tenantWithOwner(h, 'Other Support');
    await other.client.get('/users');
    await other.client.post('/users/invitations', { email: 'eve@other.example', displayName: 'Eve' });

    const page = await client.get('/outbox');
    expect(page.status).toBe(200);
    const row = /<tbody>([\s\S]*?)<\/tbody>/.exec(page.text)?.[1] ?? '';
    expect(row).toContain('dee@outbox.example');
    expect(row).toContain('<code>invitation</code>');
    expect(row).toContain('Olga Owner invited you to the Retention portal of Outbox Support');
    expect(row).toContain('badge-success">sent<');
    expect(page.text).not.toContain(link);
    expect(page.text).not.toContain(new URL(link).pathname.split('/').at(-1) ?? 'x');
    expect(page.text).not.toContain('eve@other.example');
    expect((await client.get('/outbox?status=failed')).text).toContain('No failed messages.');
    expect((await client.get('/outbox?status=bogus')).status).toBe(400);

    const dashboard = await client.get('/');
    expect(dashboard.text).toContain('href="/outbox"');
  });

  it('is refused (403) to an administrator without manage-users, and not in their menu', async () => {
    const { tenantId } = await tenantWithOwner(h, 'Refused Support');
    const auditor = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['read-audit', 'run-jobs', 'configure-retention', 'export'] });
    const client = h.client(tenantId);
    expect((await client.signIn(auditor.email)).headers.location).toBe('/');
    const res = await client.get('/outbox');
    expect(res.status).toBe(403);
    expect(res.text).toContain('ERR_FORBIDDEN');
    expect((await client.get('/')).text).not.toContain('href="/outbox"');
  });
});
