import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import type { MailOutbox } from '../../../src/mail/mail-outbox.js';
import { SmtpMailTransport } from '../../../src/mail/smtp-mail-transport.js';
import { uniqueName } from '../../support/redis.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../../support/smtp-server.js';
import { currentCode, PASSWORD, startPortalHarness, type FixtureUser, type PortalClient, type PortalHarness } from '../portal/portal-harness.js';
import { queuedOf, receivedOf, startMailFixture, type MailFixture } from './mail-fixture.js';

/**
 * Security notices by mail (issue 13.4, ASVS 2.5.5) through the real outbox, a real mail worker and a real SMTP
 * server: 2FA turned on and off, reset by an administrator, new backup codes, 2FA enforced for the tenant, and an
 * administrator's grants changed (to the owner). Each is mailed to the right address once, only when it happened,
 * and carries no code; a notice that cannot be queued does not stop the change.
 */

let smtp: TestSmtpServer;
let fx: MailFixture;
let h: PortalHarness;
/** The next `enqueue` of the portal's outbox fails (the outbox unreachable). */
let failNextEnqueue = false;
const logLines: string[] = [];

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 }, { tenants: { get: (id) => h.controlPlane.tenants.get(id) } });
  const mail: MailOutbox = {
    enqueue: (message) => {
      if (!failNextEnqueue) return fx.outbox.enqueue(message);
      failNextEnqueue = false;
      return Promise.reject(new Error('the outbox is down'));
    },
  };
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      callback();
    },
  });
  h = await startPortalHarness({}, { mail, outboxMessages: fx.store, logger: createLogger({ level: 'info', name: 'portal-test', destination }) });
  fx.startWorker(new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca }));
});

afterAll(async () => {
  await fx?.close();
  await h?.close();
  await smtp?.close();
});

afterEach(() => {
  failNextEnqueue = false;
});

const CLIENT_IP = '203.0.113.45';

async function newTenant(displayName: string): Promise<string> {
  const tenantId = uniqueName('notices').toLowerCase();
  await h.controlPlane.tenants.create({ id: tenantId, displayName });
  return tenantId;
}

async function signedIn(tenantId: string, user: FixtureUser): Promise<PortalClient> {
  const client = h.client(tenantId, CLIENT_IP);
  const res = await client.signIn(user.email, PASSWORD, user.totpSecret === undefined ? undefined : currentCode(user.totpSecret));
  expect(res.headers.location).toBe('/');
  return client;
}

function expectAddressedTo(mail: ReceivedMail | undefined, address: string): void {
  expect(mail?.recipients).toEqual([address]);
  expect(mail?.headers.get('to')).toBe(address);
}

const bodiesOf = (mail: ReceivedMail | undefined): string[] => [mail?.text ?? '', mail?.html ?? ''];
const backupCodesOn = (html: string): string[] => [...html.matchAll(/<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})<\/code><\/li>/g)].map((m) => m[1] ?? '');
const TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/;

describe('notices of one’s own second factor', () => {
  it('mails "2FA turned on" once enrolment is confirmed, not after a wrong code; with time and address, never a code or the key', async () => {
    const tenantId = await newTenant('Initech Support');
    const jo = await h.createUser(tenantId, { displayName: 'Jo Tester' });
    const client = await signedIn(tenantId, jo);
    const setup = await client.get('/account/two-factor/setup');
    const key = (/id="manual-key">([A-Z2-7 ]+)</.exec(setup.text)?.[1] ?? '').replace(/ /g, '');
    expect(key).not.toBe('');

    const wrong = await client.post('/account/two-factor/setup', { code: currentCode(key) === '000000' ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(await queuedOf(fx, tenantId), 'a failed confirmation mails nothing').toEqual([]);

    const done = await client.post('/account/two-factor/setup', { code: currentCode(key) });
    expect(done.status).toBe(200);
    const codes = backupCodesOn(done.text);
    expect(codes).toHaveLength(10);

    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('two-factor-enabled');
    expectAddressedTo(mail, jo.email);
    expect(mail?.subject).toBe('Two-factor authentication was turned on for your Retention account at Initech Support');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('Hello Jo Tester,');
      expect(body).toContain('Initech Support');
      expect(body).toMatch(TIME);
      expect(body).toContain(CLIENT_IP);
      expect(body).toContain('If it was not you');
      expect(body).toContain('reset your two-factor authentication');
      for (const code of codes) expect(body).not.toContain(code);
      expect(body).not.toContain(key);
    }
  });

  it('mails "new backup codes" after a renewal with the right password only, without the codes', async () => {
    const tenantId = await newTenant('Backup Support');
    const jo = await h.createUser(tenantId, { totp: true, displayName: 'Jo Codes' });
    const client = await signedIn(tenantId, jo);
    await client.get('/account');
    expect((await client.post('/account/backup-codes', { currentPassword: 'not my password' })).status).toBe(403);
    expect(await queuedOf(fx, tenantId)).toEqual([]);

    const renewed = await client.post('/account/backup-codes', { currentPassword: PASSWORD });
    expect(renewed.status).toBe(200);
    const codes = backupCodesOn(renewed.text);
    expect(codes).toHaveLength(10);

    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('backup-codes-renewed');
    expectAddressedTo(mail, jo.email);
    expect(mail?.subject).toBe('New backup codes were made for your Retention account at Backup Support');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('Hello Jo Codes,');
      expect(body).toMatch(TIME);
      expect(body).toContain(CLIENT_IP);
      expect(body).toContain('earlier backup codes no longer work');
      expect(body).toContain('If it was not you');
      for (const code of [...codes, ...(jo.backupCodes ?? [])]) expect(body).not.toContain(code);
      expect(body).not.toContain(jo.totpSecret ?? 'x');
    }
  });

  it('mails "2FA turned off" after turning it off with the right password; nothing after a wrong password or when the tenant enforces 2FA', async () => {
    const tenantId = await newTenant('Offswitch Support');
    const jo = await h.createUser(tenantId, { totp: true, displayName: 'Jo Off' });
    const client = await signedIn(tenantId, jo);
    await client.get('/account');
    expect((await client.post('/account/two-factor/disable', { currentPassword: 'not my password' })).status).toBe(403);

    const enforced = await newTenant('Enforced Support');
    await h.controlPlane.security.setRequireTwoFactor(enforced, true, 'test');
    const kept = await h.createUser(enforced, { totp: true });
    const keptClient = await signedIn(enforced, kept);
    await keptClient.get('/account');
    expect((await keptClient.post('/account/two-factor/disable', { currentPassword: PASSWORD })).status).toBe(403);
    expect(await queuedOf(fx, enforced)).toEqual([]);
    expect(await queuedOf(fx, tenantId)).toEqual([]);

    expect((await client.post('/account/two-factor/disable', { currentPassword: PASSWORD })).headers.location).toBe('/account');
    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('two-factor-disabled');
    expectAddressedTo(mail, jo.email);
    expect(mail?.subject).toBe('Two-factor authentication was turned off for your Retention account at Offswitch Support');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('Hello Jo Off,');
      expect(body).toMatch(TIME);
      expect(body).toContain(CLIENT_IP);
      expect(body).toContain('backup codes no longer work');
      expect(body).toContain('If it was not you');
    }
  });

  it('still turns 2FA on when the notice cannot be queued, and logs that without the key or a code', async () => {
    const tenantId = await newTenant('Outage Support');
    const jo = await h.createUser(tenantId, {});
    const client = await signedIn(tenantId, jo);
    const key = (/id="manual-key">([A-Z2-7 ]+)</.exec((await client.get('/account/two-factor/setup')).text)?.[1] ?? '').replace(/ /g, '');
    failNextEnqueue = true;
    const done = await client.post('/account/two-factor/setup', { code: currentCode(key) });
    expect(done.status).toBe(200);
    expect(backupCodesOn(done.text)).toHaveLength(10);
    expect((await h.controlPlane.users.findById(tenantId, jo.user.id))?.totp).toBeDefined();
    const logged = logLines.filter((line) => line.includes('could not queue the two-factor-enabled notice'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(tenantId);
    expect(logged[0]).toContain('the outbox is down');
    for (const line of logLines) {
      expect(line).not.toContain(key);
      for (const code of backupCodesOn(done.text)) expect(line).not.toContain(code);
    }
    expect(await queuedOf(fx, tenantId)).toEqual([]);
  });
});

describe('a reset of 2FA by an administrator', () => {
  it('mails the user whose 2FA was reset: who reset it, when, and that it must be set up again; nothing after a wrong password', async () => {
    const tenantId = await newTenant('Reset Support');
    const owner = await h.createUser(tenantId, { role: 'owner', displayName: 'Olga Owner' });
    const target = await h.createUser(tenantId, { totp: true, displayName: 'Tia Target' });
    const client = await signedIn(tenantId, owner);
    await client.get('/users');
    expect((await client.post(`/users/${target.user.id}/reset-two-factor`, { currentPassword: 'wrong' })).status).toBe(403);
    expect(await queuedOf(fx, tenantId)).toEqual([]);

    expect((await client.post(`/users/${target.user.id}/reset-two-factor`, { currentPassword: PASSWORD })).headers.location).toBe('/users');
    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('two-factor-reset');
    expectAddressedTo(mail, target.email);
    expect(mail?.subject).toBe('Your two-factor authentication for Retention at Reset Support was reset');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('Hello Tia Target,');
      expect(body).toContain('Olga Owner');
      expect(body).toContain(owner.email);
      expect(body).toMatch(TIME);
      expect(body).toContain('Every session of your account was signed out');
      expect(body).toContain('signing in asks only for your password');
      expect(body).toContain('If you did not ask for it');
    }
    expect(mail?.text).toContain('because Olga Owner reset the two-factor authentication of the account with this address');

    const bare = await h.createUser(tenantId, { displayName: 'Bo Bare' });
    await client.get('/users');
    expect((await client.post(`/users/${bare.user.id}/reset-two-factor`, { currentPassword: PASSWORD })).headers.location).toBe('/users');
    expect(await queuedOf(fx, tenantId), 'no notice for a user who had no 2FA to reset').toHaveLength(1);
  });
});

describe('2FA enforced for the tenant', () => {
  it('mails every active user once when enforcement goes from off to on, not invited or deactivated users; nothing when it stays on or goes off', async () => {
    const tenantId = await newTenant('Enforce Support');
    const owner = await h.createUser(tenantId, { role: 'owner', totp: true, displayName: 'Olga Owner' });
    const withTotp = await h.createUser(tenantId, { totp: true, displayName: 'Ann Enrolled' });
    const withoutTotp = await h.createUser(tenantId, { displayName: 'Ben Bare' });
    const invited = await h.controlPlane.users.create(tenantId, {
      email: `${uniqueName('invited')}@example.com`,
      displayName: 'Ivy Invited',
      role: 'administrator',
    });
    const deactivated = await h.createUser(tenantId, { displayName: 'Dan Gone' });
    expect(await h.controlPlane.users.changeStatus(tenantId, deactivated.user.id, 'active', 'disabled')).toBe(true);
    expect(invited.status).toBe('invited');

    const client = await signedIn(tenantId, owner);
    await client.get('/settings/security');
    expect((await client.post('/settings/two-factor-enforcement', {})).status, 'off to off').toBe(303);
    expect(await queuedOf(fx, tenantId)).toEqual([]);

    expect((await client.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status).toBe(303);
    const received = await receivedOf(fx, smtp, tenantId, 3);
    expect(received.map((m) => m.template)).toEqual(['two-factor-enforced', 'two-factor-enforced', 'two-factor-enforced']);
    expect(received.map((m) => m.recipients[0]).sort()).toEqual([owner.email, withTotp.email, withoutTotp.email].sort());
    for (const mail of received) {
      expect(mail.subject).toBe('Enforce Support now requires two-factor authentication in Retention');
      for (const body of bodiesOf(mail)) {
        expect(body).toContain('Olga Owner');
        expect(body).toMatch(TIME);
      }
    }
    const to = (address: string) => received.find((m) => m.recipients[0] === address);
    expect(to(withTotp.email)?.text).toContain('Hello Ann Enrolled,');
    expect(to(withTotp.email)?.text).toContain('Your account already uses it');
    expect(to(withoutTotp.email)?.text).toContain('Hello Ben Bare,');
    expect(to(withoutTotp.email)?.text).toContain('your next sign-in takes you to its setup');
    expect(smtp.received.filter((m) => m.recipients.includes(invited.email) || m.recipients.includes(deactivated.email))).toEqual([]);

    await client.get('/settings/security');
    expect((await client.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status, 'on to on').toBe(303);
    expect((await client.post('/settings/two-factor-enforcement', {})).status, 'on to off').toBe(303);
    expect(await queuedOf(fx, tenantId)).toHaveLength(3);

    expect((await client.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status, 'off to on again').toBe(303);
    const again = await receivedOf(fx, smtp, tenantId, 6);
    expect(
      again
        .slice(3)
        .map((m) => m.recipients[0])
        .sort(),
    ).toEqual([owner.email, withTotp.email, withoutTotp.email].sort());
  });
});

describe('an administrator’s grants changed', () => {
  it('mails the owner who changed them, before and after, when an administrator changed them; nothing when the owner did', async () => {
    const tenantId = await newTenant('Grants Support');
    const owner = await h.createUser(tenantId, { role: 'owner', displayName: 'Olga Owner' });
    const manager = await h.createUser(tenantId, {
      displayName: 'Max Manager',
      dataTypes: ['chats', 'contacts'],
      capabilities: ['manage-users', 'export', 'read-audit'],
    });
    const ana = await h.createUser(tenantId, { displayName: 'Ana Admin', dataTypes: ['chats'], capabilities: ['export'] });

    const client = await signedIn(tenantId, manager);
    await client.get('/users');
    expect((await client.post(`/users/${ana.user.id}/grants`, { dataTypes: ['chats', 'contacts'], capabilities: ['export', 'read-audit'] })).status).toBe(303);
    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('grants-changed');
    expectAddressedTo(mail, owner.email);
    expect(mail?.subject).toBe('The permissions of Ana Admin in Retention at Grants Support were changed');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('Hello Olga Owner,');
      expect(body).toContain('Max Manager');
      expect(body).toContain(manager.email);
      expect(body).toContain(ana.email);
      expect(body).toContain(CLIENT_IP);
      expect(body).toMatch(TIME);
      expect(body).toContain('If you did not');
    }
    const text = (mail?.text ?? '').replace(/\r\n/g, '\n');
    expect(text).toContain('Data they may see\n  before: chats\n  now:    chats, contacts');
    expect(text).toContain('What they may do\n  before: export results\n  now:    export results, read the audit log');
    expect(mail?.html).toContain('<td>chats</td><td>chats, contacts</td>');

    const ownerClient = await signedIn(tenantId, owner);
    await ownerClient.get('/users');
    expect((await ownerClient.post(`/users/${ana.user.id}/grants`, { dataTypes: ['chats'], capabilities: [] })).status).toBe(303);
    expect(await queuedOf(fx, tenantId), 'the owner is not told of their own change').toHaveLength(1);
    expect((await h.controlPlane.users.findById(tenantId, ana.user.id))?.capabilities).toEqual([]);
  });
});

describe('sign-ins from a new place, and reused codes', () => {
  it('mails "new sign-in" for a network or browser the account was not signed in from lately, never for the first sign-in or a known place (ASVS 2.2.3)', async () => {
    const tenantId = await newTenant('Places Support');
    const jo = await h.createUser(tenantId, { displayName: 'Jo Places' });
    await signedIn(tenantId, jo);
    await signedIn(tenantId, jo);
    expect(await queuedOf(fx, tenantId), 'the first place, then the same one again').toEqual([]);

    const elsewhere = h.client(tenantId, '198.51.100.7');
    expect((await elsewhere.signIn(jo.email)).headers.location).toBe('/');
    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('new-sign-in');
    expectAddressedTo(mail, jo.email);
    expect(mail?.subject).toBe('New sign-in to your Retention account at Places Support');
    for (const body of bodiesOf(mail)) {
      expect(body).toContain('198.51.100.7');
      expect(body).toContain('198.51.100.0/24');
      expect(body).toMatch(TIME);
      expect(body).toContain('/account/sessions');
    }

    // The same network again (another address of it): known. A failed sign-in from a new place: nothing.
    expect((await h.client(tenantId, '198.51.100.9').signIn(jo.email)).headers.location).toBe('/');
    expect((await h.client(tenantId, '192.0.2.200').signIn(jo.email, 'not the password')).status).toBe(401);
    expect(await queuedOf(fx, tenantId)).toHaveLength(1);
    const stored = await h.controlPlane.users.findById(tenantId, jo.user.id);
    expect(stored?.knownSignInPlaces).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toContain('198.51.100');
  });

  it('tells the holder once when a used code of their authenticator is entered again (ASVS 2.8.5)', async () => {
    const tenantId = await newTenant('Replay Support');
    const jo = await h.createUser(tenantId, { totp: true, displayName: 'Jo Replay' });
    const code = currentCode(jo.totpSecret ?? '');
    const first = h.client(tenantId, CLIENT_IP);
    expect((await first.signIn(jo.email, PASSWORD, code)).headers.location).toBe('/');
    for (let i = 0; i < 2; i += 1) {
      const thief = h.client(tenantId, CLIENT_IP);
      const res = await thief.signIn(jo.email, PASSWORD, code);
      expect(res.headers.location).not.toBe('/');
    }
    const [mail, ...more] = await receivedOf(fx, smtp, tenantId, 1);
    expect(more).toEqual([]);
    expect(mail?.template).toBe('two-factor-code-reused');
    expectAddressedTo(mail, jo.email);
    for (const body of bodiesOf(mail)) {
      expect(body).toContain(CLIENT_IP);
      expect(body).not.toContain(code);
    }
    expect(await h.controlPlane.audit.list(tenantId, { action: '2fa.totp.replay' })).toHaveLength(2);
  });
});
