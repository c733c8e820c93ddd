import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SIGN_IN_FAILED_MESSAGE } from '../../../src/portal/routes/sign-in-routes.js';
import { currentCode, PASSWORD, PUBLIC_HOST, startPortalHarness, type FixtureUser, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;
let tenantId: string;
let owner: FixtureUser;

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant();
  owner = await h.createUser(tenantId, { role: 'owner' });
});
afterAll(async () => h.close());
afterEach(() => {
  vi.useRealTimers();
});

const escaped = (text: string): string => text.replace(/'/g, '&#39;').replace(/"/g, '&#34;');

describe('portal: health, tenant and headers', () => {
  it('/healthz answers without a tenant or session; /readyz checks Redis and MongoDB', async () => {
    const client = h.client('nobody');
    const health = await client.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers['set-cookie']).toBeUndefined();
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { redis: 'ok', mongodb: 'ok' } });
  });

  it.each([
    ['an unknown tenant subdomain', 'nosuch-tenant'],
    ['two labels in front of the public host', `x.${'acme'}`],
  ])('answers 404 for %s', async (_case, label) => {
    const res = await h.client(label).get('/sign-in');
    expect(res.status).toBe(404);
    expect(res.text).toContain('ERR_TENANT_UNKNOWN');
  });

  it('sends a strict CSP (script only from the portal, none inline), HSTS of a year, no-referrer and nosniff (ASVS 14.4, 5.0 3.4.1)', async () => {
    const res = await h.client(tenantId).get('/sign-in');
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).not.toMatch(/style="|\son[a-z]+=/);
    expect(res.text.match(/<script\b[^>]*>[\s\S]*?<\/script>/g)).toEqual(['<script type="module" src="/assets/password-fields.js"></script>']);
  });

  it('never stores a page (no-store, no ETag to revalidate with); assets keep their ETag', async () => {
    const page = await h.client(tenantId).get('/sign-in');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers.etag).toBeUndefined();
    const asset = await h.client(tenantId).get('/assets/password-fields.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.etag).toMatch(/^W\/"/);
  });

  it('says DENY in X-Frame-Options, as CSP frame-ancestors says none (issue 10.12)', async () => {
    const res = await h.client(tenantId).get('/sign-in');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });

  it('sets the session cookie as __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ without Domain (ASVS 3.4.1-3.4.5)', async () => {
    const res = await h.client(tenantId).get('/sign-in');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-retention\.sid=/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it('uses a session id of at least 128 bits (ASVS 3.2.2, 5.0 7.2.3)', async () => {
    const client = h.client(tenantId);
    await client.get('/sign-in');
    const sid =
      decodeURIComponent(client.cookie ?? '')
        .replace(/^s:/, '')
        .split('.')[0] ?? '';
    expect(Buffer.from(sid, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
  });
});

describe('portal: sign-in', () => {
  it('signs in with email and password, shows the home page, and audits the sign-in (ASVS 2.4.1)', async () => {
    const client = h.client(tenantId);
    const res = await client.signIn(owner.email.toUpperCase());
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const home = await client.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Welcome, Jo Tester');
    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'auth.login', limit: 1 });
    expect(entry).toMatchObject({ action: 'auth.login', outcome: 'success', actor: { type: 'user', id: owner.user.id }, userAgent: 'portal-test' });
    expect(entry?.ip).toMatch(/127\.0\.0\.1/);
  });

  it('returns to the page asked for while signed out (issue 16.4), also through the second factor, and only to a page of the portal', async () => {
    const client = h.client(tenantId);
    const asked = await client.get('/chats?channel=web&q=refund');
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe('/sign-in');
    expect((await client.signIn(owner.email)).headers.location).toBe('/chats?channel=web&q=refund');
    // Used once: the next sign-in of the same browser goes home.
    await client.post('/sign-out', {});
    expect((await client.signIn(owner.email)).headers.location).toBe('/');

    const withCode = await h.createUser(tenantId, { totp: true });
    const second = h.client(tenantId);
    await second.get('/audit?action=auth.login');
    const afterPassword = await second.post('/sign-in', { email: withCode.email, password: PASSWORD });
    expect(afterPassword.headers.location).toBe('/sign-in/second-factor');
    await second.get('/sign-in/second-factor');
    const done = await second.post('/sign-in/second-factor', { code: currentCode(withCode.totpSecret ?? '') });
    expect(done.headers.location).toBe('/audit?action=auth.login');

    // What the browser fetches by itself while signed out (a favicon) is not a page to return to.
    const favicon = h.client(tenantId);
    await favicon.get('/favicon.ico', { 'Sec-Fetch-Dest': 'image' });
    expect((await favicon.signIn(owner.email)).headers.location).toBe('/');

    // Paths browsers read as another host never become the target.
    for (const path of ['//evil.example/x', '/%2F%2Fevil.example', '/\\evil.example']) {
      const browser = h.client(tenantId);
      await browser.get(path);
      const location = String((await browser.signIn(owner.email)).headers.location);
      expect(location.startsWith('/'), path).toBe(true);
      expect(location.startsWith('//'), path).toBe(false);
      expect(location, path).not.toContain('\\');
    }
  });

  it('rejects a session fixation: the session id from before sign-in is not valid after it (ASVS 3.2.1)', async () => {
    const client = h.client(tenantId);
    await client.get('/sign-in');
    const before = client.cookie;
    await client.signIn(owner.email);
    expect(client.cookie).not.toBe(before);
    const attacker = h.client(tenantId);
    attacker.cookie = before;
    const res = await attacker.get('/');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/sign-in');
  });

  it.each([
    ['a wrong password', (email: string) => ({ email, password: 'wrong-password-for-sure' })],
    ['an unknown account', () => ({ email: 'nobody@example.com', password: PASSWORD })],
    ['an empty email', () => ({ email: '', password: PASSWORD })],
    ['an empty password', (email: string) => ({ email, password: '' })],
    ['a malformed email', () => ({ email: 'not an email', password: PASSWORD })],
  ])('answers %s with the one same message and status (no account enumeration, ASVS 2.2.1)', async (_case, form) => {
    const res = await h.client(tenantId).post('/sign-in', form(owner.email));
    expect(res.status).toBe(401);
    expect(res.text).toContain(escaped(SIGN_IN_FAILED_MESSAGE));
  });

  it('refuses a sign-in without a valid CSRF token (ASVS 4.2.2)', async () => {
    const client = h.client(tenantId);
    await client.get('/sign-in');
    const real = client.csrf ?? '';
    expect(real).toMatch(/^[0-9a-f]{64}$/);
    const lastFlipped = `${real.slice(0, -1)}${real.endsWith('0') ? '1' : '0'}`;
    for (const csrf of [false, 'forged-token', lastFlipped, real.toUpperCase(), `${real}0`] as const) {
      const res = await client.post('/sign-in', { email: owner.email, password: PASSWORD }, { csrf });
      expect(res.status).toBe(403);
      expect(res.text).toContain('ERR_CSRF_INVALID');
    }
    expect((await client.post('/sign-in', { email: owner.email, password: PASSWORD }, { csrf: real })).status).toBe(303);
  });

  it('locks an account after the policy threshold for its duration, with the same message, and audits the lockout (ASVS 2.2.1)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-03-01T10:00:00Z'));
    const victim = await h.createUser(tenantId, {});
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3, lockoutMinutes: 15 }, 'test');
    const client = h.client(tenantId, '198.51.100.20');
    for (let i = 0; i < 3; i += 1) expect((await client.post('/sign-in', { email: victim.email, password: 'not-the-password' })).status).toBe(401);
    const locked = await client.signIn(victim.email);
    expect(locked.status).toBe(401);
    expect(locked.text).toContain(escaped(SIGN_IN_FAILED_MESSAGE));
    const lockouts = await h.controlPlane.audit.list(tenantId, { action: 'auth.lockout' });
    expect(lockouts[0]).toMatchObject({ outcome: 'denied', actor: { id: victim.user.id }, ip: '198.51.100.20' });
    vi.setSystemTime(new Date('2031-03-01T10:16:00Z'));
    expect((await client.signIn(victim.email)).headers.location).toBe('/');
    await h.controlPlane.security.setPasswordPolicy(tenantId, {}, 'test');
  });
});

describe('portal: audit actors are principals, never typed text (issue 10.8)', () => {
  it('records a sign-in with an unknown email as the anonymous actor, with the email masked in the details', async () => {
    const known = await h.createUser(tenantId, {});
    const typed = known.user.id;
    const client = h.client(tenantId, '198.51.100.41');
    expect((await client.post('/sign-in', { email: typed, password: 'whatever-it-is' })).status).toBe(401);
    expect((await client.post('/sign-in', { email: 'mallory@evil.example', password: 'whatever-it-is' })).status).toBe(401);
    const entries = await h.controlPlane.audit.list(tenantId, { action: 'auth.login', limit: 2 });
    for (const entry of entries) {
      expect(entry.actor).toEqual({ type: 'anonymous', id: 'anonymous' });
      expect(entry.details).toMatchObject({ reason: 'unknown-account' });
    }
    const emails = entries.map((e) => String(e.details?.email));
    expect(emails).toContain('m•••@e•••.example');
    expect(emails.join(' ')).not.toContain(typed);
    expect(await h.controlPlane.audit.list(tenantId, { actorId: known.user.id })).toEqual([]);
  });

  it('records a refused (throttled) sign-in of a known account with the account’s id, of an unknown one as anonymous', async () => {
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3, lockoutMinutes: 15 }, 'test');
    const victim = await h.createUser(tenantId, {});
    for (const email of [victim.email, 'nobody-here@example.com']) {
      for (let i = 0; i < 4; i += 1) await h.client(tenantId, '198.51.100.42').post('/sign-in', { email, password: 'not-the-password' });
    }
    const denied = await h.controlPlane.audit.list(tenantId, { action: 'auth.login' });
    const refusals = denied.filter((e) => e.outcome === 'denied' && e.details?.reason === 'account-locked');
    expect(refusals.map((e) => e.actor)).toEqual(
      expect.arrayContaining([
        { type: 'user', id: victim.user.id },
        { type: 'anonymous', id: 'anonymous' },
      ]),
    );
    expect(denied.every((e) => e.actor.type !== 'user' || e.actor.id === victim.user.id || !e.actor.id.includes('@'))).toBe(true);
    await h.controlPlane.security.setPasswordPolicy(tenantId, {}, 'test');
  });
});

describe('portal: the per-client sign-in throttle (issue 10.10)', () => {
  it.each(['not-an-address', 'fe80::1%eth0'])('puts a client address it cannot parse (%s) into one bucket, never none', async (ip) => {
    const throttle = h.portal.services.throttle;
    const policy = { lockoutThreshold: 1000, lockoutMinutes: 1 };
    const other = await h.createTenant('bucket');
    for (let i = 0; i < 50; i += 1) await throttle.recordFailure({ tenantId: other, account: `a${i}@example.com`, ip }, policy);
    const decision = await throttle.check({ tenantId: other, account: 'fresh@example.com', ip: 'yet-another-unparsable' });
    expect(decision).toMatchObject({ allowed: false, reason: 'ip-rate-limited' });
    expect((await throttle.check({ tenantId: other, account: 'fresh@example.com', ip: '192.0.2.50' })).allowed).toBe(true);
  });
});

describe('portal: session lifetime', () => {
  it.each([
    ['idle for more than 30 minutes', [29 * 60_000, 31 * 60_000]],
    ['past the 12-hour absolute timeout although active', [20 * 60_000, 20 * 60_000, 20 * 60_000, 11 * 3_600_000]],
  ])('ends a session %s (ASVS 3.3.2)', async (_case, steps) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let now = new Date('2031-04-01T08:00:00Z').getTime();
    vi.setSystemTime(now);
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    for (const [i, step] of steps.entries()) {
      now += step;
      vi.setSystemTime(now);
      const res = await client.get('/');
      if (i < steps.length - 1) expect(res.status).toBe(200);
      else {
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/sign-in');
      }
    }
    const page = await client.get('/sign-in');
    expect(page.text).toContain('Your session has ended');
  });

  it('writes a session’s last use at most once a minute, and still ends it by its idle timeout, never later', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = new Date('2031-04-02T08:00:00Z').getTime();
    vi.setSystemTime(start);
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const sid = decodeURIComponent(client.cookie as string)
      .slice('s:'.length)
      .split('.')[0] as string;
    const [key] = await h.redis.keys(`*sess:${sid}`);
    const stored = async () => {
      const json = await h.redis.get(key as string);
      return { lastSeenAt: (JSON.parse(json as string) as { lastSeenAt: number }).lastSeenAt };
    };
    expect((await stored()).lastSeenAt).toBe(start);
    const at = async (offsetMs: number, status: number) => {
      vi.setSystemTime(start + offsetMs);
      expect((await client.get('/')).status).toBe(status);
    };
    await at(30_000, 200);
    expect((await stored()).lastSeenAt).toBe(start); // not saved again within the minute (no Redis write)
    await at(61_000, 200);
    expect((await stored()).lastSeenAt).toBe(start + 61_000);
    await at(61_000 + 45_000, 200);
    expect((await stored()).lastSeenAt).toBe(start + 61_000);
    // idle since the last recorded use: ended at 30 minutes after it, although the last request was later
    await at(61_000 + 30 * 60_000 + 1_000, 303);
  });

  it('signs out: the old session id no longer works (ASVS 3.3.1)', async () => {
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const signedIn = client.cookie;
    await client.get('/');
    const res = await client.post('/sign-out', {});
    expect(res.headers.location).toBe('/sign-in');
    const replay = h.client(tenantId);
    replay.cookie = signedIn;
    expect((await replay.get('/')).status).toBe(303);
  });

  it('lists one’s own sessions and ends one or all others (ASVS 3.3.4)', async () => {
    const user = await h.createUser(tenantId, {});
    const laptop = h.client(tenantId, '192.0.2.10');
    const phone = h.client(tenantId, '192.0.2.11');
    const tablet = h.client(tenantId, '192.0.2.12');
    for (const c of [laptop, phone, tablet]) await c.signIn(user.email);
    const page = await laptop.get('/account/sessions');
    expect(page.status).toBe(200);
    for (const ip of ['192.0.2.10', '192.0.2.11', '192.0.2.12']) expect(page.text).toContain(ip);
    expect(page.text).not.toContain(
      decodeURIComponent(laptop.cookie ?? '')
        .replace(/^s:/, '')
        .split('.')[0],
    );
    const handles = [...page.text.matchAll(/action="\/account\/sessions\/([^/"]+)\/sign-out"/g)].map((m) => m[1]);
    expect(handles).toHaveLength(3);
    const phoneRow = page.text.split('<tr>').find((row) => row.includes('192.0.2.11')) ?? '';
    const phoneHandle = /sessions\/([^/"]+)\/sign-out/.exec(phoneRow)?.[1] ?? '';
    expect((await laptop.post(`/account/sessions/${phoneHandle}/sign-out`, {})).status).toBe(303);
    expect((await phone.get('/')).status).toBe(303);
    expect((await tablet.get('/')).status).toBe(200);
    await laptop.get('/account/sessions');
    await laptop.post('/account/sessions/sign-out-others', {});
    expect((await tablet.get('/')).status).toBe(303);
    expect((await laptop.get('/')).status).toBe(200);
  });

  it('ends other sessions only after a recent sign-in or the password (ASVS 3.3.4: having re-entered login credentials)', async () => {
    const user = await h.createUser(tenantId, {});
    const laptop = h.client(tenantId, '192.0.2.61');
    const phone = h.client(tenantId, '192.0.2.62');
    await laptop.signIn(user.email);
    await phone.signIn(user.email);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const page = await laptop.get('/account/sessions');
    expect(page.text).toContain('sessions-password-hint');
    expect(page.text).toContain('name="currentPassword"');
    const refused = await laptop.post('/account/sessions/sign-out-others', {});
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('ERR_REAUTH_FAILED');
    expect((await phone.get('/')).status).toBe(200);
    const phoneRow = (await laptop.get('/account/sessions')).text.split('<tr>').find((row) => row.includes('192.0.2.62')) ?? '';
    const phoneHandle = /sessions\/([^/"]+)\/sign-out/.exec(phoneRow)?.[1] ?? '';
    expect(phoneHandle).not.toBe('');
    expect((await laptop.post(`/account/sessions/${phoneHandle}/sign-out`, { currentPassword: 'not-it-at-all' })).status).toBe(403);
    expect((await phone.get('/')).status).toBe(200);
    expect((await laptop.post('/account/sessions/sign-out-others', { currentPassword: PASSWORD })).status).toBe(303);
    expect((await phone.get('/')).headers.location).toBe('/sign-in');
    const denied = await h.controlPlane.audit.list(tenantId, { action: 'session.revoke' });
    expect(denied.filter((e) => e.outcome === 'denied').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses to end a session of another user by its handle (ASVS 4.2.1)', async () => {
    const alice = await h.createUser(tenantId, {});
    const bob = await h.createUser(tenantId, {});
    const a = h.client(tenantId);
    const b = h.client(tenantId);
    await a.signIn(alice.email);
    await b.signIn(bob.email);
    const bobHandle = /sessions\/([^/"]+)\/sign-out/.exec((await b.get('/account/sessions')).text)?.[1] ?? '';
    await a.get('/account/sessions');
    const res = await a.post(`/account/sessions/${bobHandle}/sign-out`, {});
    expect(res.status).toBe(404);
    expect((await b.get('/')).status).toBe(200);
  });

  it('does not use a session on another tenant’s host', async () => {
    const other = await h.createTenant('other');
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const elsewhere = h.client(other);
    elsewhere.cookie = client.cookie;
    expect((await elsewhere.get('/')).status).toBe(303);
  });
});

describe('portal: plain-http demo mode', () => {
  it('names the cookie retention.sid without Secure when SESSION_COOKIE_SECURE is false', async () => {
    const demo = await startPortalHarness({ cookieSecure: false, publicUrl: 'http://localhost:3000', defaultTenant: 'demo' });
    try {
      await demo.controlPlane.tenants.create({ id: 'demo', displayName: 'Demo' });
      const res = await (await import('supertest')).default(demo.app).get('/sign-in').set('Host', 'localhost:3000');
      expect(res.status).toBe(200);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/^retention\.sid=/);
      expect(cookie).not.toMatch(/Secure/);
      expect(String(res.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
      expect(PUBLIC_HOST).toBe('portal.test');
    } finally {
      await demo.close();
    }
  });

  it('serves DEFAULT_TENANT only on PUBLIC_URL’s host: any other Host header gets 404 (DNS rebinding, issue 10.9)', async () => {
    const demo = await startPortalHarness({ cookieSecure: false, publicUrl: 'http://localhost:3000', defaultTenant: 'demo' });
    try {
      await demo.controlPlane.tenants.create({ id: 'demo', displayName: 'Demo' });
      const supertest = (await import('supertest')).default;
      expect((await supertest(demo.app).get('/sign-in').set('Host', 'localhost:3000')).status).toBe(200);
      for (const host of ['rebind.attacker.example', '127.0.0.1:3000', 'localhost.attacker.example', '192.168.1.20']) {
        const res = await supertest(demo.app).get('/sign-in').set('Host', host);
        expect(res.status, host).toBe(404);
        expect(res.text).toContain('ERR_TENANT_UNKNOWN');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
    } finally {
      await demo.close();
    }
  });
});
