import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpMailTransport } from '../../../src/mail/smtp-mail-transport.js';
import { uniqueName } from '../../support/redis.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../../support/smtp-server.js';
import { PASSWORD, PUBLIC_HOST, startPortalHarness, type FixtureUser, type PortalClient, type PortalHarness } from '../portal/portal-harness.js';
import { queuedOf, receivedOf, startMailFixture, type MailFixture } from './mail-fixture.js';

/**
 * Verified addresses (issue 13.2) through the real outbox, a real mail worker and a real SMTP server: following an
 * invitation confirms the invitee's address; the owner, who types theirs, gets a confirmation link; changing one's
 * address needs the current password and takes effect only when the link mailed to the new address is followed,
 * after which the old address is told and the other sessions end. Links work once, expire, and a taken address is
 * refused at both ends.
 */

let smtp: TestSmtpServer;
let fx: MailFixture;
let h: PortalHarness;
let plain: PortalHarness;
/** How far the portal's clock runs ahead of the real one (for expiry). */
let clockAheadMs = 0;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 }, { tenants: { get: (id) => h.controlPlane.tenants.get(id) } });
  h = await startPortalHarness({}, { mail: fx.outbox, outboxMessages: fx.store, now: () => new Date(Date.now() + clockAheadMs) });
  plain = await startPortalHarness();
  fx.startWorker(new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca }));
});

afterAll(async () => {
  await fx?.close();
  await h?.close();
  await plain?.close();
  await smtp?.close();
});

async function newTenant(harness: PortalHarness, displayName: string): Promise<string> {
  const tenantId = uniqueName('verify').toLowerCase();
  await harness.controlPlane.tenants.create({ id: tenantId, displayName });
  return tenantId;
}

async function signedIn(harness: PortalHarness, tenantId: string, user: FixtureUser | { email: string }): Promise<PortalClient> {
  const client = harness.client(tenantId);
  expect((await client.signIn(user.email)).headers.location).toBe('/');
  return client;
}

const linkIn = (mail: ReceivedMail | undefined): string => /https:\/\/\S+\/confirm-email\?token=[A-Za-z0-9_-]+/.exec(mail?.text ?? '')?.[0] ?? '';
const pathOf = (link: string): string => {
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
};

describe('an address is confirmed by following a link sent to it', () => {
  it('following the invitation confirms the invitee’s address; the users page marks an unconfirmed one', async () => {
    const tenantId = await newTenant(h, 'Globex Verify');
    const owner = await h.createUser(tenantId, { role: 'owner', displayName: 'Olga Owner' });
    const client = await signedIn(h, tenantId, owner);
    await client.get('/users');
    const created = await client.post('/users/invitations', { email: 'ana@globex.example', displayName: 'Ana Admin', dataTypes: ['chats'] });
    expect(created.status).toBe(200);
    const link = /id="invitation-link">([^<]+)</.exec(created.text)?.[1] ?? '';
    const invitee = h.client(tenantId);
    await invitee.get(new URL(link).pathname);
    const accepted = await invitee.post(new URL(link).pathname, { password: PASSWORD });
    expect(accepted.headers.location).toBe('/sign-in');

    const ana = await h.controlPlane.users.findByEmail(tenantId, 'ana@globex.example');
    expect(ana?.emailVerifiedAt).toBeInstanceOf(Date);
    const users = await client.get('/users');
    const rowOf = (id: string) => new RegExp(`<tr id="user-${id}">[\\s\\S]*?</tr>`).exec(users.text)?.[0] ?? '';
    expect(rowOf(ana?.id ?? '')).not.toContain('not confirmed');
    // The fixture owner was created without a confirmation.
    expect(rowOf(owner.user.id)).toContain('not confirmed');
  });

  it('mails the owner a confirmation link at activation; following it confirms the address, once', async () => {
    const tenantId = await newTenant(h, 'Owner Verify');
    const { token } = await h.controlPlane.activationTokens.issue(tenantId, { purpose: 'owner-activation', subject: tenantId, createdBy: 'cli' });
    const browser = h.client(tenantId);
    await browser.get(`/activate/${token}`);
    const done = await browser.post(`/activate/${token}`, { email: 'Olga@Owner.example', displayName: 'Olga Owner', password: PASSWORD });
    expect(done.headers.location).toBe('/sign-in');
    expect((await h.controlPlane.users.findOwner(tenantId))?.emailVerifiedAt).toBeUndefined();

    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('email-verification');
    expect(mail?.recipients).toEqual(['olga@owner.example']);
    expect(mail?.subject).toBe('Confirm your email address for Retention at Owner Verify');
    const link = linkIn(mail);
    expect(link).toMatch(new RegExp(`^https://${tenantId}\\.${PUBLIC_HOST.replace('.', '\\.')}/confirm-email\\?token=`));
    expect(mail?.html).toContain(link.replace(/&/g, '&amp;'));

    // A mail scanner fetching the link uses nothing up; the token leaves the address bar.
    const reader = h.client(tenantId);
    const first = await reader.get(pathOf(link));
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/confirm-email');
    const page = await reader.get('/confirm-email');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Confirm <strong>olga@owner.example</strong> as the email address of your account.');
    expect(page.text).not.toContain(new URL(link).searchParams.get('token') ?? 'x');

    expect((await reader.post('/confirm-email', {}, { csrf: false })).status).toBe(403);
    const confirmed = await reader.post('/confirm-email', {});
    expect(confirmed.status).toBe(303);
    const owner = await h.controlPlane.users.findOwner(tenantId);
    expect(owner?.emailVerifiedAt).toBeInstanceOf(Date);
    expect(owner?.email).toBe('olga@owner.example');

    const again = h.client(tenantId);
    expect((await again.get(pathOf(link))).status).toBe(400);
    const audit = await h.controlPlane.audit.list(tenantId, { limit: 50 });
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['user.email-confirmation.sent', 'user.email-confirmed']));
  });

  it('an unconfirmed user asks for a link from the account page; not twice within a minute', async () => {
    const tenantId = await newTenant(h, 'Resend Verify');
    const jo = await h.createUser(tenantId, { displayName: 'Jo Unconfirmed' });
    const client = await signedIn(h, tenantId, jo);
    const account = await client.get('/account');
    expect(account.text).toContain('Not confirmed');
    expect((await client.post('/account/email/confirmation', {})).status).toBe(303);
    const twice = await client.post('/account/email/confirmation', {});
    expect(twice.status).toBe(429);
    expect(twice.text).toContain('less than a minute ago');
    const [mail] = await receivedOf(fx, smtp, tenantId, 1);
    expect(mail?.recipients).toEqual([jo.email]);
    const reader = h.client(tenantId);
    await reader.get(pathOf(linkIn(mail)));
    await reader.get('/confirm-email');
    expect((await reader.post('/confirm-email', {})).status).toBe(303);
    expect((await client.get('/account')).text).toContain('Confirmed');
  });
});

describe('changing one’s email address', () => {
  it('needs the current password, mails the new address, and changes nothing until the link is followed; then tells the old address and ends the other sessions', async () => {
    const tenantId = await newTenant(h, 'Initech Change');
    const jo = await h.createUser(tenantId, { displayName: 'Jo Changer', email: 'jo@old.example' });
    const client = await signedIn(h, tenantId, jo);
    const other = await signedIn(h, tenantId, jo);
    await client.get('/account');

    const wrong = await client.post('/account/email', { newEmail: 'jo@new.example', currentPassword: 'not my password' });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('value="jo@new.example"');
    expect(await queuedOf(fx, tenantId)).toEqual([]);

    const asked = await client.post('/account/email', { newEmail: ' Jo@New.example ', currentPassword: PASSWORD });
    expect(asked.status).toBe(303);
    const [verification] = await receivedOf(fx, smtp, tenantId, 1);
    expect(verification?.template).toBe('email-verification');
    expect(verification?.recipients).toEqual(['jo@new.example']);
    expect(verification?.text).toContain('Until it is used, your account keeps its previous address.');
    const account = await client.get('/account');
    expect(account.text).toContain('A confirmation link was sent to <strong>jo@new.example</strong>');
    expect((await h.controlPlane.users.findById(tenantId, jo.user.id))?.email).toBe('jo@old.example');
    // Until then the old address still signs in, the new one does not.
    expect((await h.client(tenantId).signIn('jo@new.example')).headers.location).not.toBe('/');

    // The link is opened in another browser, without a session.
    const mailbox = h.client(tenantId);
    await mailbox.get(pathOf(linkIn(verification)));
    const page = await mailbox.get('/confirm-email');
    expect(page.text).toContain('Confirm <strong>jo@new.example</strong> as the new email address of your account (now jo@old.example).');
    const done = await mailbox.post('/confirm-email', {});
    expect(done.headers.location).toBe('/sign-in');

    const changed = await h.controlPlane.users.findById(tenantId, jo.user.id);
    expect(changed?.email).toBe('jo@new.example');
    expect(changed?.emailVerifiedAt).toBeInstanceOf(Date);
    const [, notice] = await receivedOf(fx, smtp, tenantId, 2);
    expect(notice?.template).toBe('email-changed');
    expect(notice?.recipients).toEqual(['jo@old.example']);
    expect(notice?.subject).toBe('The email address of your Retention account at Initech Change was changed');
    expect(notice?.text).toContain('was changed to jo@new.example');
    expect(notice?.text).not.toContain('token=');

    // Both earlier sessions ended (the link was followed without one); the new address signs in, the old does not.
    expect((await client.get('/account')).status).toBe(303);
    expect((await other.get('/account')).status).toBe(303);
    expect((await h.client(tenantId).signIn('jo@old.example')).headers.location).not.toBe('/');
    expect((await h.client(tenantId).signIn('jo@new.example')).headers.location).toBe('/');
    const audit = await h.controlPlane.audit.list(tenantId, { limit: 50 });
    const entry = audit.find((e) => e.action === 'user.email-changed' && e.outcome === 'success');
    expect(entry?.details).toMatchObject({ from: 'jo@old.example', to: 'jo@new.example' });
  });

  it('refuses the current address, a malformed one, and one another account holds, mailing nothing', async () => {
    const tenantId = await newTenant(h, 'Refusals Change');
    const jo = await h.createUser(tenantId, { email: 'jo@refuse.example' });
    await h.createUser(tenantId, { email: 'ana@refuse.example' });
    const client = await signedIn(h, tenantId, jo);
    await client.get('/account');
    const same = await client.post('/account/email', { newEmail: 'JO@refuse.example', currentPassword: PASSWORD });
    expect(same.status).toBe(400);
    const malformed = await client.post('/account/email', { newEmail: 'not an address', currentPassword: PASSWORD });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('enter an email address such as jo@example.com');
    const taken = await client.post('/account/email', { newEmail: 'ana@refuse.example', currentPassword: PASSWORD });
    expect(taken.status).toBe(409);
    expect(await queuedOf(fx, tenantId)).toEqual([]);
  });

  it('a link whose address was taken meanwhile changes nothing; a cancelled, expired or deactivated user’s link confirms nothing', async () => {
    const tenantId = await newTenant(h, 'Races Change');
    const jo = await h.createUser(tenantId, { email: 'jo@race.example' });
    const client = await signedIn(h, tenantId, jo);
    await client.get('/account');
    expect((await client.post('/account/email', { newEmail: 'shared@race.example', currentPassword: PASSWORD })).status).toBe(303);
    const [first] = await receivedOf(fx, smtp, tenantId, 1);
    await h.createUser(tenantId, { email: 'shared@race.example' });
    const mailbox = h.client(tenantId);
    await mailbox.get(pathOf(linkIn(first)));
    await mailbox.get('/confirm-email');
    const taken = await mailbox.post('/confirm-email', {});
    expect(taken.status).toBe(409);
    expect((await h.controlPlane.users.findById(tenantId, jo.user.id))?.email).toBe('jo@race.example');

    // Cancelled: the link stops working.
    expect((await client.post('/account/email', { newEmail: 'jo2@race.example', currentPassword: PASSWORD })).status).toBe(303);
    const [, second] = await receivedOf(fx, smtp, tenantId, 2);
    expect((await client.post('/account/email/cancel', {})).status).toBe(303);
    const cancelled = h.client(tenantId);
    expect((await cancelled.get(pathOf(linkIn(second)))).status).toBe(400);

    // Expired: 410, and nothing changes.
    expect((await client.post('/account/email', { newEmail: 'jo3@race.example', currentPassword: PASSWORD })).status).toBe(303);
    const [, , third] = await receivedOf(fx, smtp, tenantId, 3);
    clockAheadMs = 24 * 3600_000 + 1000;
    try {
      const expired = h.client(tenantId);
      expect((await expired.get(pathOf(linkIn(third)))).status).toBe(410);
    } finally {
      clockAheadMs = 0;
    }
    expect((await h.controlPlane.users.findById(tenantId, jo.user.id))?.email).toBe('jo@race.example');

    // Deactivated after asking: the link confirms nothing.
    expect((await client.post('/account/email', { newEmail: 'jo4@race.example', currentPassword: PASSWORD })).status).toBe(303);
    const [, , , fourth] = await receivedOf(fx, smtp, tenantId, 4);
    expect(await h.controlPlane.users.changeStatus(tenantId, jo.user.id, 'active', 'disabled')).toBe(true);
    const disabled = h.client(tenantId);
    expect((await disabled.get(pathOf(linkIn(fourth)))).status).toBe(400);
    expect((await h.controlPlane.users.findById(tenantId, jo.user.id))?.email).toBe('jo@race.example');
  });

  it('is not offered, and refused with a clear message, on a portal without mail', async () => {
    const tenantId = await newTenant(plain, 'No Mail Change');
    const jo = await plain.createUser(tenantId, {});
    const client = await signedIn(plain, tenantId, jo);
    const account = await client.get('/account');
    expect(account.text).toContain('This installation sends no mail');
    expect(account.text).not.toContain('action="/account/email"');
    const refused = await client.post('/account/email', { newEmail: 'jo@elsewhere.example', currentPassword: PASSWORD });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('sends no mail');
    expect((await plain.controlPlane.users.findById(tenantId, jo.user.id))?.email).toBe(jo.email);
  });
});
