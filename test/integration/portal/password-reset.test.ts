import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateTotp } from '../../../src/auth/totp.js';
import { createLogger } from '../../../src/logger.js';
import type { MailOutbox, OutgoingMail } from '../../../src/mail/mail-outbox.js';
import { maskEmailAddress } from '../../../src/masking/mask-email-address.js';
import { issueOperatorPasswordReset } from '../../../src/portal/operator-password-reset.js';
import { NO_RECIPIENT_SUBJECT } from '../../../src/portal/routes/password-reset-request.js';
import type { ControlPlane } from '../../../src/store/control-plane.js';
import { uniqueName } from '../../support/redis.js';
import { PASSWORD, startPortalHarness, type FixtureUser, type PortalClient, type PortalHarness } from './portal-harness.js';

/** The outbox port, recording what the portal queues (the real outbox and SMTP have their own tests). */
class RecordingOutbox implements MailOutbox {
  readonly queued: OutgoingMail[] = [];
  failNext = false;

  enqueue(mail: OutgoingMail): Promise<{ id: string; duplicate: boolean }> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('the outbox is down'));
    }
    this.queued.push(mail);
    return Promise.resolve({ id: String(this.queued.length), duplicate: false });
  }

  to(address: string, template: OutgoingMail['template'] = 'password-reset'): OutgoingMail[] {
    return this.queued.filter((m) => m.to === address && m.template === template);
  }
}

const outbox = new RecordingOutbox();
const logLines: string[] = [];
const logDestination = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    logLines.push(chunk.toString('utf8'));
    callback();
  },
});
/** The portal's clock: real time unless a test freezes it. */
let frozen: Date | undefined;
const now = (): Date => frozen ?? new Date();
const advance = (ms: number): void => {
  frozen = new Date(now().getTime() + ms);
};

let h: PortalHarness;
let bare: PortalHarness;
/** Every reset token any test saw (none may reach a log line). */
const seenTokens: string[] = [];

beforeAll(async () => {
  h = await startPortalHarness({}, { mail: outbox, now, logger: createLogger({ level: 'trace', name: 'portal-test', destination: logDestination }) });
  bare = await startPortalHarness();
});
afterAll(async () => {
  await h.close();
  await bare.close();
});
afterEach(() => {
  frozen = undefined;
  outbox.failNext = false;
});

const NEW_PASSWORD = 'copper-meadow-lantern-ninety';
const SENT = 'If an account exists for that address, we have sent a link to it.';

/** Asks for a reset link from a fresh browser and returns the answer. */
async function forgot(client: PortalClient, email: string) {
  await client.get('/forgot-password');
  return client.post('/forgot-password', { email });
}

/** The path and query of the newest reset link mailed to `email` (waits for the outbox: it is filled after the answer). */
async function linkFor(email: string, count = 1): Promise<string> {
  await vi.waitFor(() => expect(outbox.to(email)).toHaveLength(count));
  const url = new URL(String(outbox.to(email).at(-1)?.data.link));
  seenTokens.push(url.searchParams.get('token') ?? '');
  return `${url.pathname}${url.search}`;
}

/** Opens a link in `client` and returns the form page it redirects to. */
async function openLink(client: PortalClient, link: string) {
  const first = await client.get(link);
  expect(first.status, first.text.slice(0, 300)).toBe(303);
  expect(first.headers.location).toBe('/reset-password');
  return client.get('/reset-password');
}

const codeNow = (secret: string): string => generateTotp(secret, { now: now().getTime() });
const wrongCode = (secret: string): string => (codeNow(secret) === '999999' ? '888888' : '999999');

/** Records every control-plane store call and every Redis command, in order, by name. */
function recordStoreCalls(controlPlane: ControlPlane, redis: PortalHarness['redis']): string[] {
  const calls: string[] = [];
  for (const [storeName, store] of Object.entries(controlPlane) as [string, object][]) {
    const prototype = Object.getPrototypeOf(store) as object;
    for (const method of Object.getOwnPropertyNames(prototype)) {
      const value: unknown = Object.getOwnPropertyDescriptor(prototype, method)?.value;
      if (method === 'constructor' || typeof value !== 'function') continue;
      const original = (value as (...args: unknown[]) => unknown).bind(store);
      vi.spyOn(store as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation((...args: unknown[]) => {
        calls.push(`${storeName}.${method}`);
        return original(...args);
      });
    }
  }
  const send = redis.sendCommand.bind(redis);
  vi.spyOn(redis, 'sendCommand').mockImplementation((command, ...rest) => {
    calls.push(`redis.${command.name}`);
    return send(command, ...rest);
  });
  return calls;
}

describe('portal: forgotten password (ASVS 2.5.x)', () => {
  it('links "Forgot password?" from the sign-in page and asks for an address; a reset without a valid link is refused', async () => {
    const tenantId = await h.createTenant();
    const client = h.client(tenantId);
    expect((await client.get('/sign-in')).text).toContain('href="/forgot-password"');
    const form = await client.get('/forgot-password');
    expect(form.status).toBe(200);
    expect(form.text).toContain('name="email"');
    expect(form.text).toContain('30 minutes');
    const noLink = await client.get('/reset-password');
    expect(noLink.status).toBe(303);
    expect(noLink.headers.location).toBe('/forgot-password');
    const bad = await client.post('/reset-password', { newPassword: NEW_PASSWORD });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('href="/forgot-password"');
    expect((await client.get('/reset-password?token=not-a-token')).status).toBe(400);
  });

  it('ASVS 2.5.6: answers the same for an existing, unknown, locked, deactivated and invited address and a throttled one; only the first gets mail', async () => {
    const tenantId = await h.createTenant();
    const active = await h.createUser(tenantId, {});
    const locked = await h.createUser(tenantId, {});
    for (let i = 0; i < 3; i += 1) {
      await h.portal.services.throttle.recordFailure({ tenantId, account: locked.email, ip: '203.0.113.50' }, { lockoutThreshold: 3, lockoutMinutes: 15 });
    }
    const disabled = await h.createUser(tenantId, {});
    await h.controlPlane.users.changeStatus(tenantId, disabled.user.id, 'active', 'disabled');
    const invited = await h.controlPlane.users.create(tenantId, {
      email: `${uniqueName('invited')}@example.com`,
      displayName: 'Ines Invited',
      role: 'administrator',
    });
    const throttled = await h.createUser(tenantId, {});
    for (let i = 0; i < 3; i += 1) expect((await forgot(h.client(tenantId, '198.51.100.70'), throttled.email)).status).toBe(200);
    await linkFor(throttled.email, 3);
    const unknown = `${uniqueName('nobody')}@example.com`;

    const answers = [];
    for (const email of [active.email, unknown, locked.email, disabled.email, invited.email, throttled.email, active.email.toUpperCase()]) {
      const res = await forgot(h.client(tenantId, '198.51.100.71'), email);
      answers.push({ status: res.status, body: res.text });
    }
    expect(answers[0]?.status).toBe(200);
    expect(answers[0]?.body).toContain(SENT);
    for (const answer of answers) expect(answer).toEqual(answers[0]);

    await linkFor(active.email, 2);
    for (const email of [unknown, locked.email, disabled.email, invited.email]) expect(outbox.to(email)).toEqual([]);
    expect(outbox.to(throttled.email)).toHaveLength(3);

    const requested = await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.requested' });
    const reasons = requested.map((e) => [e.actor.id, e.outcome, e.details?.reason ?? null]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        [active.user.id, 'success', null],
        ['anonymous', 'denied', 'unknown-account'],
        [locked.user.id, 'denied', 'account-locked'],
        [disabled.user.id, 'denied', 'account-disabled'],
        [invited.id, 'denied', 'account-invited'],
        [throttled.user.id, 'denied', 'address-rate-limited'],
      ]),
    );
    const anonymous = requested.find((e) => e.actor.id === 'anonymous');
    expect(anonymous?.details?.email).toBe(maskEmailAddress(unknown));
    expect(JSON.stringify(requested)).not.toContain(unknown);
  });

  it('ASVS 2.5.6: does the same store and Redis calls, in the same order, for an existing and an unknown address (after the audit chain head is cached)', async () => {
    const tenantId = await h.createTenant();
    const active = await h.createUser(tenantId, {});
    const unknown = `${uniqueName('nobody')}@example.com`;
    const callsFor = async (email: string): Promise<string[]> => {
      const client = h.client(tenantId, '198.51.100.72');
      await client.get('/forgot-password');
      const calls = recordStoreCalls(h.controlPlane, h.redis);
      const res = await client.post('/forgot-password', { email });
      expect(res.text).toContain(SENT);
      vi.restoreAllMocks();
      return calls;
    };
    await callsFor(`${uniqueName('warm-up')}@example.com`);
    const existing = await callsFor(active.email);
    const nobody = await callsFor(unknown);
    expect(existing).toEqual(nobody);
    expect(existing).toEqual(
      expect.arrayContaining(['users.findByEmail', 'activationTokens.revokeForSubject', 'activationTokens.issue', 'audit.append', 'redis.eval']),
    );
    const tokens = await h.db.collection('activationTokens').find({ tenantId, purpose: 'password-reset' }).toArray();
    expect(tokens.map((t) => t.subject).sort()).toEqual([active.user.id, NO_RECIPIENT_SUBJECT].sort());
    await linkFor(active.email);
  });

  it('resets with a single-use link: policy enforced, every session ended, not signed in, audited and notified (ASVS 2.5.6, 3.3.3, 2.5.5)', async () => {
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, { displayName: 'Jo Tester' });
    const elsewhere = h.client(tenantId);
    expect((await elsewhere.signIn(jo.email)).headers.location).toBe('/');
    expect((await elsewhere.get('/account')).status).toBe(200);

    expect((await forgot(h.client(tenantId), jo.email)).status).toBe(200);
    const link = await linkFor(jo.email);
    const mail = outbox.to(jo.email)[0];
    expect(mail).toMatchObject({ tenantId, template: 'password-reset', data: { displayName: 'Jo Tester', lifetimeMinutes: 30 } });
    expect(String(mail?.data.link)).toMatch(new RegExp(`^https://${tenantId}\\.portal\\.test/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    expect(mail?.data.expiresAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(mail?.data.requestIp).toBeTypeOf('string');
    const token = new URL(String(mail?.data.link)).searchParams.get('token') ?? '';
    const stored = await h.db.collection('activationTokens').findOne({ tenantId, subject: jo.user.id });
    expect(stored?._id).not.toBe(token);
    expect(JSON.stringify(stored)).not.toContain(token);

    const browser = h.client(tenantId);
    const first = await browser.get(link);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/reset-password');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const form = await browser.get('/reset-password');
    expect(form.status).toBe(200);
    expect(form.headers['referrer-policy']).toBe('no-referrer');
    expect(form.text).toContain(jo.email);
    expect(form.text).not.toContain(token);
    expect(form.text).not.toContain('name="code"');

    const weak = await browser.post('/reset-password', { newPassword: 'password1234' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('commonly used passwords');
    const named = await browser.post('/reset-password', { newPassword: `${tenantId}-orchard-violet` });
    expect(named.status).toBe(400);
    expect(named.text).toContain('does not contain');
    const short = await browser.post('/reset-password', { newPassword: 'short-one' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('at least 12 characters');

    const done = await browser.post('/reset-password', { newPassword: NEW_PASSWORD });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/sign-in');
    expect((await browser.get('/account')).headers.location).toBe('/sign-in');
    expect((await browser.follow('/sign-in')).text).toContain('Sign in with your new password');
    expect((await elsewhere.get('/account')).headers.location).toBe('/sign-in');

    expect((await h.client(tenantId).signIn(jo.email, PASSWORD)).status).toBe(401);
    expect((await h.client(tenantId).signIn(jo.email, NEW_PASSWORD)).headers.location).toBe('/');
    const user = await h.controlPlane.users.findById(tenantId, jo.user.id);
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);

    const reuse = await h.client(tenantId).get(link);
    expect(reuse.status).toBe(400);
    expect(reuse.text).toContain('not valid or has already been used');
    expect(await h.controlPlane.activationTokens.listPending(tenantId, 'password-reset')).toEqual([]);

    const completed = await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.completed' });
    const failed = completed.filter((e) => e.outcome === 'failure').map((e) => String(e.details?.reason));
    expect(failed).toHaveLength(3);
    expect(failed.join(' ')).toMatch(/COMMON/);
    expect(failed.join(' ')).toMatch(/CONTAINS_CONTEXT/);
    expect(failed.join(' ')).toMatch(/TOO_SHORT/);
    expect(completed.find((e) => e.outcome === 'success')).toMatchObject({
      actor: { type: 'user', id: jo.user.id },
      details: { method: 'mail', sessionsEnded: 1 },
    });
    expect(outbox.to(jo.email, 'password-changed')).toEqual([
      expect.objectContaining({ tenantId, data: expect.objectContaining({ way: 'reset', displayName: 'Jo Tester' }) }),
    ]);
  });

  it('uses a link up exactly once under two concurrent submits (atomic consume)', async () => {
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, {});
    await forgot(h.client(tenantId), jo.email);
    const link = await linkFor(jo.email);
    const [a, b] = [h.client(tenantId), h.client(tenantId)];
    await openLink(a, link);
    await openLink(b, link);
    const other = 'willow-harbour-teapot-eleven';
    const results = await Promise.all([a.post('/reset-password', { newPassword: NEW_PASSWORD }), b.post('/reset-password', { newPassword: other })]);
    expect(results.map((r) => r.status).sort()).toEqual([303, 400]);
    const winner = results[0]?.status === 303 ? NEW_PASSWORD : other;
    const loser = winner === NEW_PASSWORD ? other : NEW_PASSWORD;
    expect((await h.client(tenantId).signIn(jo.email, winner)).headers.location).toBe('/');
    expect((await h.client(tenantId).signIn(jo.email, loser)).status).toBe(401);
    const outcomes = (await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.completed' })).map(
      (e) => `${e.outcome} ${String(e.details?.reason ?? '')}`,
    );
    expect(outcomes.sort()).toEqual([expect.stringMatching(/^denied link-(used|invalid)$/), 'success ']);
  });

  it('expires a link after 30 minutes under a frozen clock, also one opened in time and submitted late', async () => {
    frozen = new Date();
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, {});
    await forgot(h.client(tenantId), jo.email);
    const earlier = await linkFor(jo.email, 1);
    await forgot(h.client(tenantId), jo.email);
    const link = await linkFor(jo.email, 2);
    expect((await h.client(tenantId).get(earlier)).status, 'a new request revokes the earlier link').toBe(400);

    const opened = h.client(tenantId);
    advance(29 * 60_000);
    expect((await openLink(opened, link)).status).toBe(200);
    advance(60_000 + 1000);
    const late = await opened.post('/reset-password', { newPassword: NEW_PASSWORD });
    expect(late.status).toBe(410);
    expect(late.text).toContain('This link has expired');
    expect((await h.client(tenantId).get(link)).status).toBe(410);
    expect((await h.client(tenantId).signIn(jo.email, NEW_PASSWORD)).status).toBe(401);
  });

  it('throttles requests per address and per client address: the same answer, no mail', async () => {
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, {});
    for (let i = 0; i < 4; i += 1) expect((await forgot(h.client(tenantId, `198.51.100.${80 + i}`), jo.email)).text).toContain(SENT);
    await linkFor(jo.email, 3);

    const ines = await h.createUser(tenantId, {});
    for (let i = 0; i < 20; i += 1) await forgot(h.client(tenantId, '203.0.113.90'), `${uniqueName('probe')}@example.com`);
    const throttledAnswer = await forgot(h.client(tenantId, '203.0.113.90'), ines.email);
    expect(throttledAnswer.status).toBe(200);
    expect(throttledAnswer.text).toContain(SENT);
    await forgot(h.client(tenantId, '203.0.113.91'), ines.email);
    await linkFor(ines.email, 1);

    const denied = (await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.requested' })).filter((e) => e.outcome === 'denied');
    expect(denied.filter((e) => e.details?.reason === 'address-rate-limited').map((e) => e.actor.id)).toEqual([jo.user.id]);
    expect(denied.filter((e) => e.details?.reason === 'ip-rate-limited').map((e) => e.actor.id)).toEqual([ines.user.id]);
  });

  it('ASVS 5.0 6.4.3: asks for the second factor; a wrong code is refused and counted, a backup code is accepted and used up', async () => {
    const tenantId = await h.createTenant();
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3 }, 'test');
    const jo: FixtureUser = await h.createUser(tenantId, { totp: true });
    const secret = jo.totpSecret ?? '';
    await forgot(h.client(tenantId), jo.email);
    const browser = h.client(tenantId);
    const form = await openLink(browser, await linkFor(jo.email));
    expect(form.text).toContain('name="code"');

    const noCode = await browser.post('/reset-password', { newPassword: NEW_PASSWORD });
    expect(noCode.status).toBe(401);
    const wrong = await browser.post('/reset-password', { newPassword: NEW_PASSWORD, code: wrongCode(secret) });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That code did not work');
    expect((await h.client(tenantId).signIn(jo.email, PASSWORD)).headers.location, 'a wrong code never clears or skips the factor').toBe(
      '/sign-in/second-factor',
    );

    const backup = jo.backupCodes?.[0] ?? '';
    const done = await browser.post('/reset-password', { newPassword: NEW_PASSWORD, code: backup });
    expect(done.headers.location).toBe('/sign-in');
    const user = await h.controlPlane.users.findById(tenantId, jo.user.id);
    expect(user?.backupCodeHashes).toHaveLength((jo.backupCodes?.length ?? 0) - 1);
    expect((await h.client(tenantId).signIn(jo.email, NEW_PASSWORD, backup)).status).toBe(401);

    const failures = (await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.completed' })).filter((e) => e.outcome === 'failure');
    expect(failures.map((e) => e.details?.reason)).toEqual(['wrong-second-factor', 'wrong-second-factor']);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.completed', limit: 1 }))[0]).toMatchObject({
      outcome: 'success',
      details: { method: 'mail+backup-code' },
    });
  });

  it('counts wrong codes of a reset against the second factor’s lockout, as at sign-in', async () => {
    const tenantId = await h.createTenant();
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3 }, 'test');
    const jo = await h.createUser(tenantId, { totp: true });
    const secret = jo.totpSecret ?? '';
    await forgot(h.client(tenantId), jo.email);
    const browser = h.client(tenantId);
    await openLink(browser, await linkFor(jo.email));
    for (let i = 0; i < 3; i += 1) expect((await browser.post('/reset-password', { newPassword: NEW_PASSWORD, code: wrongCode(secret) })).status).toBe(401);
    const locked = await browser.post('/reset-password', { newPassword: NEW_PASSWORD, code: codeNow(secret) });
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('too many failed attempts');
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.lockout' }))[0]).toMatchObject({ actor: { id: jo.user.id } });
    expect((await h.client(tenantId).signIn(jo.email)).status).toBe(401);
    expect((await h.client(tenantId).signIn(jo.email, NEW_PASSWORD)).status).toBe(401);
  });

  it('lets the owner reset by mail unless the tenant turned it off on the security settings page (after re-authentication)', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    await forgot(h.client(tenantId), owner.email);
    await linkFor(owner.email);

    frozen = new Date();
    const admin = h.client(tenantId);
    expect((await admin.signIn(owner.email)).headers.location).toBe('/');
    const page = await admin.get('/settings/security');
    expect(page.text).toContain('name="ownerPasswordResetByMail" checked');
    advance(6 * 60_000);
    expect((await admin.post('/settings/security/owner-password-reset', {})).status).toBe(403);
    expect((await h.controlPlane.security.get(tenantId)).ownerPasswordResetByMail).toBe(true);
    await admin.get('/settings/security');
    expect((await admin.post('/settings/security/confirm', { currentPassword: PASSWORD })).headers.location).toBe('/settings/security');
    expect((await admin.post('/settings/security/owner-password-reset', {})).headers.location).toBe('/settings/security');
    expect((await h.controlPlane.security.get(tenantId)).ownerPasswordResetByMail).toBe(false);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'policy.owner-password-reset.changed' }))[0]).toMatchObject({
      actor: { id: owner.user.id },
      details: { allowed: false },
    });
    expect((await h.controlPlane.audit.list(tenantId, { action: 'policy.owner-password-reset.change' }))[0]).toMatchObject({ outcome: 'denied' });

    const pending = await h.client(tenantId).get(await linkFor(owner.email));
    expect(pending.status, 'a link mailed before the change no longer works').toBe(400);
    const answer = await forgot(h.client(tenantId), owner.email);
    expect(answer.text).toContain(SENT);
    const other = await h.createUser(tenantId, {});
    await forgot(h.client(tenantId), other.email);
    await linkFor(other.email);
    expect(outbox.to(owner.email)).toHaveLength(1);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.requested' })).find((e) => e.actor.id === owner.user.id)?.details).toEqual(
      {
        reason: 'owner-reset-off',
      },
    );
  });

  it('the operator’s link (`retention tenant password-reset-link`) resets an owner whose tenant keeps reset by mail off, and with --reset-two-factor a lost second factor too', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner', totp: true });
    await h.controlPlane.security.setOwnerPasswordResetByMail(tenantId, false, 'test');
    const operatorLink = async (options: { resetTwoFactor?: boolean; email?: string } = {}) => {
      const issued = await issueOperatorPasswordReset({ controlPlane: h.controlPlane, tenantId, publicUrl: 'https://portal.test', ...options });
      const url = new URL(issued.link);
      seenTokens.push(url.searchParams.get('token') ?? '');
      return { ...issued, path: `${url.pathname}${url.search}` };
    };

    // Without --reset-two-factor the page still asks for the owner's second factor.
    const first = await operatorLink();
    expect(first).toMatchObject({ email: owner.email, role: 'owner', twoFactorReset: false });
    expect(first.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    const form = await openLink(h.client(tenantId), first.path);
    expect(form.status).toBe(200);
    expect(form.text).toContain('Code from your authenticator app');

    // The owner lost the authenticator too: the next link turns 2FA off, and the earlier link stops working.
    const second = await operatorLink({ resetTwoFactor: true });
    expect(second.twoFactorReset).toBe(true);
    expect((await h.client(tenantId).get(first.path)).status).toBe(400);
    const browser = h.client(tenantId);
    const page = await openLink(browser, second.path);
    expect(page.text).not.toContain('Code from your authenticator app');
    expect((await browser.post('/reset-password', { newPassword: NEW_PASSWORD })).status).toBe(303);
    expect((await h.client(tenantId).signIn(owner.email, NEW_PASSWORD)).status).toBe(303);
    expect((await h.controlPlane.users.findById(tenantId, owner.user.id))?.totp).toBeUndefined();
    const audit = await h.controlPlane.audit.list(tenantId, {});
    expect(audit.filter((e) => e.action === 'auth.password-reset.issued' && e.actor.type === 'cli')).toHaveLength(2);
    expect(audit.find((e) => e.action === '2fa.reset')).toMatchObject({ actor: { type: 'cli' }, target: owner.email });

    // Refused: an unknown address, a deactivated user, a tenant without owner.
    await expect(operatorLink({ email: 'nobody@example.com' })).rejects.toMatchObject({ code: 'ERR_USER_NOT_FOUND' });
    const gone = await h.createUser(tenantId, {});
    await h.controlPlane.users.changeStatus(tenantId, gone.user.id, 'active', 'disabled');
    await expect(operatorLink({ email: gone.email })).rejects.toMatchObject({ code: 'ERR_USER_NOT_ACTIVE' });
    const empty = await h.createTenant();
    await expect(issueOperatorPasswordReset({ controlPlane: h.controlPlane, tenantId: empty, publicUrl: 'https://portal.test' })).rejects.toMatchObject({
      code: 'ERR_USER_NOT_FOUND',
    });
  });

  it('mails a "password changed" notice after a change on the account page too (ASVS 2.5.5)', async () => {
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, { displayName: 'Jo Tester' });
    await forgot(h.client(tenantId), jo.email);
    const link = await linkFor(jo.email);
    const client = h.client(tenantId);
    await client.signIn(jo.email);
    await client.get('/account/password');
    expect((await client.post('/account/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).headers.location).toBe('/account');
    await vi.waitFor(() => expect(outbox.to(jo.email, 'password-changed')).toHaveLength(1));
    expect(outbox.to(jo.email, 'password-changed')[0]?.data).toMatchObject({ way: 'account', displayName: 'Jo Tester' });
    expect((await h.client(tenantId).get(link)).status, 'a password change revokes unused reset links').toBe(400);
  });

  it('keeps reset tokens out of every log line, even when queueing the mail or a page fails', async () => {
    const tenantId = await h.createTenant();
    const jo = await h.createUser(tenantId, {});
    outbox.failNext = true;
    expect((await forgot(h.client(tenantId), jo.email)).text).toContain(SENT);
    await vi.waitFor(() => expect(logLines.join('')).toContain('could not queue the password reset mail'));
    await forgot(h.client(tenantId), jo.email);
    const link = await linkFor(jo.email);
    vi.spyOn(h.controlPlane.users, 'findById').mockRejectedValueOnce(new Error('the database is gone'));
    expect((await h.client(tenantId).get(link)).status).toBe(500);
    expect(logLines.join('')).toContain('portal request failed');
    const form = await openLink(h.client(tenantId), link);
    expect(form.status).toBe(200);
    const tokens = seenTokens.filter((t) => t.length === 43);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(logLines.join('\n')).not.toContain(token);
  });
});

describe('portal: forgotten password without mail', () => {
  it('shows no "Forgot password?" link and says to ask an administrator; sends nothing, issues nothing', async () => {
    const tenantId = await bare.createTenant();
    const jo = await bare.createUser(tenantId, {});
    const client = bare.client(tenantId);
    expect((await client.get('/sign-in')).text).not.toContain('/forgot-password');
    const page = await client.get('/forgot-password');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Ask your organisation');
    expect(page.text).not.toContain('name="email"');
    const posted = await client.post('/forgot-password', { email: jo.email });
    expect(posted.status).toBe(200);
    expect(posted.text).toContain('Ask your organisation');
    expect(await bare.db.collection('activationTokens').countDocuments({ tenantId })).toBe(0);
    expect(await bare.controlPlane.audit.list(tenantId, { action: 'auth.password-reset.requested' })).toEqual([]);
  });
});
