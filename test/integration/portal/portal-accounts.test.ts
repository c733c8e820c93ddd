import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../../src/auth/password-hashing.js';
import { isCommonPassword } from '../../../src/auth/password-policy.js';
import { hasErrorCode } from '../../../src/errors.js';
import { issueOwnerActivation } from '../../../src/portal/owner-activation.js';
import { currentCode, PASSWORD, PUBLIC_HOST, startPortalHarness, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;

beforeAll(async () => {
  h = await startPortalHarness();
});
afterAll(async () => h.close());
afterEach(() => {
  vi.useRealTimers();
});

const NEW_PASSWORD = 'quiet-orchard-lantern-sixty';
const pathOf = (link: string): string => new URL(link).pathname;

describe('portal: owner activation', () => {
  it('activates the owner through a one-time link on the tenant’s host, never a default password', async () => {
    const tenantId = await h.createTenant();
    const { link, expiresAt } = await issueOwnerActivation({ controlPlane: h.controlPlane, tenantId, publicUrl: `https://${PUBLIC_HOST}` });
    expect(link).toMatch(new RegExp(`^https://${tenantId}\\.${PUBLIC_HOST.replace('.', '\\.')}/activate/[A-Za-z0-9_-]{43}$`));
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(71 * 3_600_000);
    const client = h.client(tenantId);
    const form = await client.get(pathOf(link));
    expect(form.status).toBe(200);
    expect(form.text).toContain('You are the owner');
    const weak = await client.post(pathOf(link), { email: 'owner@acme.example', displayName: 'Olga Owner', password: 'password1234' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('commonly used passwords');
    const done = await client.post(pathOf(link), { email: 'Owner@Acme.example', displayName: 'Olga Owner', password: NEW_PASSWORD });
    expect(done.headers.location).toBe('/sign-in');
    const owner = await h.controlPlane.users.findOwner(tenantId);
    expect(owner).toMatchObject({ email: 'owner@acme.example', role: 'owner', status: 'active' });
    expect(owner?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect((await client.get(pathOf(link))).status).toBe(400);
    expect((await client.post(pathOf(link), { email: 'x@acme.example', displayName: 'X', password: NEW_PASSWORD })).status).toBe(400);
    expect((await client.signIn('owner@acme.example', NEW_PASSWORD)).headers.location).toBe('/');
    expect((await h.controlPlane.audit.list(tenantId, { action: 'user.owner.activated' }))[0]).toMatchObject({ target: 'owner@acme.example' });
    await expect(issueOwnerActivation({ controlPlane: h.controlPlane, tenantId, publicUrl: `https://${PUBLIC_HOST}` })).rejects.toSatisfy((err: unknown) =>
      hasErrorCode(err, 'ERR_OWNER_EXISTS'),
    );
  });

  it('refuses an expired activation link (410) and a tampered one (400)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-06-01T00:00:00Z'));
    const tenantId = await h.createTenant();
    const { link } = await issueOwnerActivation({ controlPlane: h.controlPlane, tenantId, publicUrl: `https://${PUBLIC_HOST}`, expiresInSeconds: 3600 });
    const client = h.client(tenantId);
    const tampered = `${pathOf(link).slice(0, -1)}${pathOf(link).endsWith('A') ? 'B' : 'A'}`;
    expect((await client.get(tampered)).status).toBe(400);
    vi.setSystemTime(new Date('2031-06-01T01:00:01Z'));
    const expired = await client.get(pathOf(link));
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('expired');
  });

  it('serves the default tenant on PUBLIC_URL itself and puts its link there', async () => {
    const { link } = await issueOwnerActivation({
      controlPlane: h.controlPlane,
      tenantId: await h.createTenant(),
      publicUrl: 'http://localhost:3000',
      defaultTenant: 'nothing-here',
    });
    expect(link).toMatch(/^http:\/\/[a-z0-9-]+\.localhost:3000\/activate\//);
  });
});

describe('portal: invitations', () => {
  it('invites an administrator by an expiring single-use link, granting only what the inviter holds', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    await client.get('/users');
    const created = await client.post('/users/invitations', {
      email: 'ines@acme.example',
      displayName: 'Ines Invited',
      capabilities: ['read-audit'],
      dataTypes: ['chats'],
    });
    expect(created.status).toBe(200);
    const link = /id="invitation-link">([^<]+)</.exec(created.text)?.[1] ?? '';
    expect(link).toMatch(new RegExp(`^https://${tenantId}\\.portal\\.test/invitation/`));
    const invited = await h.controlPlane.users.findByEmail(tenantId, 'ines@acme.example');
    expect(invited).toMatchObject({ status: 'invited', capabilities: ['read-audit'], dataTypes: ['chats'], passwordHash: undefined });
    expect((await h.controlPlane.audit.list(tenantId, { action: 'user.invitation.created' }))[0]).toMatchObject({
      actor: { id: owner.user.id },
      target: 'ines@acme.example',
    });

    const guest = h.client(tenantId);
    expect((await guest.get(pathOf(link))).text).toContain('ines@acme.example');
    expect((await guest.post(pathOf(link), { password: NEW_PASSWORD })).headers.location).toBe('/sign-in');
    expect((await guest.post(pathOf(link), { password: NEW_PASSWORD })).status).toBe(400);
    expect((await guest.signIn('ines@acme.example', NEW_PASSWORD)).headers.location).toBe('/');
    expect((await guest.get('/audit')).status).toBe(200);
    expect((await guest.get('/users')).status).toBe(403);
    expect((await guest.get('/settings/security')).status).toBe(403);
  });

  it.each([
    ['a user without manage-users', [] as string[], { email: 'a@acme.example', displayName: 'A' }, 403],
    ['a capability the inviter does not hold', ['manage-users'], { email: 'b@acme.example', displayName: 'B', capabilities: ['configure-retention'] }, 403],
    ['an unknown capability', ['manage-users'], { email: 'c@acme.example', displayName: 'C', capabilities: ['root'] }, 403],
    ['a bad email', ['manage-users'], { email: 'not-an-email', displayName: 'D' }, 400],
    ['an empty name', ['manage-users'], { email: 'e@acme.example', displayName: '' }, 400],
  ])('refuses an invitation from %s', async (_case, capabilities, form, status) => {
    const tenantId = await h.createTenant();
    const actor = await h.createUser(tenantId, { capabilities: capabilities as never });
    const client = h.client(tenantId);
    await client.signIn(actor.email);
    await client.get('/');
    expect((await client.post('/users/invitations', form)).status).toBe(status);
    expect((await h.controlPlane.users.list(tenantId)).filter((u) => u.status === 'invited')).toEqual([]);
  });

  it('refuses an expired invitation link', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-07-01T00:00:00Z'));
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    await client.get('/users');
    const link =
      /id="invitation-link">([^<]+)</.exec((await client.post('/users/invitations', { email: 'late@acme.example', displayName: 'Late' })).text)?.[1] ?? '';
    vi.setSystemTime(new Date('2031-07-04T00:00:01Z'));
    expect((await h.client(tenantId).get(pathOf(link))).status).toBe(410);
  });
});

describe('portal: password change', () => {
  it('needs the current password, refuses policy violations, and ends the user’s other sessions (ASVS 3.3.3)', async () => {
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    const here = h.client(tenantId);
    const elsewhere = h.client(tenantId);
    await here.signIn(user.email);
    await elsewhere.signIn(user.email);
    await here.get('/account/password');
    expect((await here.post('/account/password', { currentPassword: 'wrong', newPassword: NEW_PASSWORD })).status).toBe(403);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'password.change' }))[0]).toMatchObject({ outcome: 'denied' });
    const res = await here.post('/account/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.headers.location).toBe('/account');
    expect((await here.get('/account')).status).toBe(200);
    expect((await elsewhere.get('/')).status).toBe(303);
    expect((await h.client(tenantId).signIn(user.email, NEW_PASSWORD)).headers.location).toBe('/');
    expect((await h.controlPlane.audit.list(tenantId, { action: 'password.changed' }))[0]).toMatchObject({ details: { otherSessionsEnded: 1 } });
  });

  it.each([
    ['too short', 'short-pass', 'at least 12 characters'],
    ['common', 'password123456', 'commonly used'],
    ['containing the tenant name', 'acme-support-is-great', 'does not contain'],
    ['repetitive', 'aaaaaaaaaaaaaaaa', 'repeated or consecutive'],
    ['empty', '', 'Enter a password'],
  ])('refuses a new password that is %s (ASVS 2.1.1, 2.1.7)', async (_case, newPassword, message) => {
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    const client = h.client(tenantId);
    await client.signIn(user.email);
    await client.get('/account/password');
    const res = await client.post('/account/password', { currentPassword: PASSWORD, newPassword });
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
  });

  it('accepts 128 and more characters without truncation (ASVS 2.1.2, 2.1.3)', async () => {
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    const client = h.client(tenantId);
    await client.signIn(user.email);
    await client.get('/account/password');
    const long = `${'correct horse battery staple '.repeat(6)}end`;
    expect((await client.post('/account/password', { currentPassword: PASSWORD, newPassword: long })).headers.location).toBe('/account');
    expect((await h.client(tenantId).signIn(user.email, long.slice(0, -1))).status).toBe(401);
    expect((await h.client(tenantId).signIn(user.email, long)).headers.location).toBe('/');
  });

  it('refuses a reused password only when the tenant turned history on (off by default, ASVS 2.1.10)', async () => {
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    const client = h.client(tenantId);
    await client.signIn(user.email);
    await client.get('/account/password');
    expect((await client.post('/account/password', { currentPassword: PASSWORD, newPassword: PASSWORD })).status).toBe(303);
    await h.controlPlane.security.setPasswordPolicy(tenantId, { passwordHistory: 3 }, 'test');
    await client.get('/account/password');
    const reused = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: PASSWORD });
    expect(reused.status).toBe(400);
    expect(reused.text).toContain('have not used');
  });

  it('sends a user with an expired password (opt-in expiry) to the password page only', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-08-01T00:00:00Z'));
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    await h.controlPlane.security.setPasswordPolicy(tenantId, { expiryDays: 90 }, 'test');
    vi.setSystemTime(new Date('2031-10-31T00:00:00Z'));
    const client = h.client(tenantId);
    await client.signIn(user.email);
    expect((await client.get('/')).headers.location).toBe('/account/password');
    expect((await client.get('/account/password')).text).toContain('has expired');
  });
});

describe('portal: security settings', () => {
  it('shows history and expiry off by default with the reasons, and audits a policy change', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const page = await client.get('/settings/security');
    expect(page.text).toContain('name="passwordHistory" type="number" min="0" max="24" value="0"');
    expect(page.text).toContain('name="expiryDays" type="number" min="0" max="3650" value="0"');
    expect(page.text).toContain('ASVS 2.1.10');
    expect(page.text).toContain('NIST SP 800-63B');
    const saved = await client.post('/settings/password-policy', {
      minLength: '14',
      lockoutThreshold: '5',
      lockoutMinutes: '30',
      passwordHistory: '0',
      expiryDays: '0',
      blockedWords: 'widgetco\n',
    });
    expect(saved.headers.location).toBe('/settings/security');
    expect((await h.controlPlane.security.get(tenantId)).passwordPolicy).toMatchObject({ minLength: 14, lockoutThreshold: 5, blockedWords: ['widgetco'] });
    expect((await h.controlPlane.audit.list(tenantId, { action: 'policy.password.changed' }))[0]).toMatchObject({
      actor: { id: owner.user.id },
      details: { minLength: 14 },
    });
  });

  it.each([
    ['a minimum length under 8', { minLength: '6' }],
    ['a minimum length under the operator’s floor of 12 (issue 10.12)', { minLength: '10' }],
    ['a minimum length over 128', { minLength: '200' }],
    ['a lockout threshold over 100', { lockoutThreshold: '500' }],
    ['a non-number', { lockoutMinutes: 'soon' }],
    ['a negative history', { passwordHistory: '-1' }],
  ])('refuses a policy with %s', async (_case, fields) => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    await client.get('/settings/security');
    const res = await client.post('/settings/password-policy', {
      minLength: '12',
      lockoutThreshold: '10',
      lockoutMinutes: '15',
      passwordHistory: '0',
      expiryDays: '0',
      blockedWords: '',
      ...fields,
    });
    expect(res.status).toBe(400);
    // What is wrong with the value typed and what is accepted, never the validator's own words.
    expect(res.text).toMatch(/is not accepted; enter a whole number from \d+ to \d+\.|each word needs 4 to 64 characters|is too short; it must be at least/);
    expect(res.text).not.toMatch(/Invalid input|expected (?:number|string)|Too (?:small|big)/);
  });

  it('applies the IP allowlist (CIDR v4 and v6) at sign-in and on every request; saving one that excludes oneself needs confirmation', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const office = h.client(tenantId, '203.0.113.7');
    const home = h.client(tenantId, '198.51.100.9');
    const v6 = h.client(tenantId, '2001:db8:1::42');
    await office.signIn(owner.email);
    await home.signIn(owner.email);
    await office.get('/settings/security');
    const unconfirmed = await office.post('/settings/ip-allowlist', { allowlist: '198.51.100.0/24\n2001:db8::/32' });
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.text).toContain('does not include your address');
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual([]);
    const saved = await office.post('/settings/ip-allowlist', { allowlist: '198.51.100.0/24\n2001:db8::/32\n203.0.113.7' });
    expect(saved.headers.location).toBe('/settings/security');
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual(['198.51.100.0/24', '2001:db8::/32', '203.0.113.7/32']);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'allowlist.changed' }))[0]).toMatchObject({
      details: { entries: 3, excludesOwnAddress: false },
    });
    expect((await home.get('/')).status).toBe(200);
    expect((await v6.signIn(owner.email)).headers.location).toBe('/');

    await office.get('/settings/security');
    expect((await office.post('/settings/ip-allowlist', { allowlist: '198.51.100.0/24', confirmExclusion: 'yes' })).status).toBe(303);
    const blocked = await office.get('/');
    expect(blocked.status).toBe(403);
    expect(blocked.text).toContain('ERR_IP_NOT_ALLOWED');
    const outsider = h.client(tenantId, '192.0.2.1');
    expect((await outsider.post('/sign-in', { email: owner.email, password: PASSWORD }, { csrf: 'none' })).status).toBe(403);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.login', limit: 1 }))[0]).toMatchObject({
      outcome: 'denied',
      ip: '192.0.2.1',
      details: { reason: 'ip-allowlist' },
    });
  });

  it.each([['10.0.0.1/8'], ['300.1.1.1'], ['2001:db8::/129'], ['fe80::1%eth0'], ['example.com']])(
    'refuses the allowlist entry %j with its line',
    async (entry) => {
      const tenantId = await h.createTenant();
      const owner = await h.createUser(tenantId, { role: 'owner' });
      const client = h.client(tenantId);
      await client.signIn(owner.email);
      await client.get('/settings/security');
      const res = await client.post('/settings/ip-allowlist', { allowlist: `127.0.0.1\n${entry}` });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Line 2:');
    },
  );
});

describe('portal: a common (breached) password at sign-in (ASVS 2.1.7)', () => {
  it('signs in but reaches only the password page until the password is changed', async () => {
    const tenantId = await h.createTenant();
    const common = 'password1234';
    expect(isCommonPassword(common)).toBe(true);
    const user = await h.createUser(tenantId, {});
    await h.controlPlane.users.rehashPassword(tenantId, user.user.id, await hashPassword(common));
    const client = h.client(tenantId);
    const signedIn = await client.signIn(user.email, common);
    expect(signedIn.headers.location).toBe('/account/password');
    const page = await client.get('/account/password');
    expect(page.status).toBe(200);
    expect(page.text).toContain('password-common');
    for (const path of ['/', '/account', '/users']) expect((await client.get(path)).headers.location, path).toBe('/account/password');
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.login', limit: 1 }))[0]?.details).toMatchObject({
      passwordChangeRequired: 'common-password',
    });
    expect((await client.post('/account/password', { currentPassword: common, newPassword: 'granite-lantern-orbit-meadow' })).headers.location).toBe(
      '/account',
    );
    expect((await client.get('/')).status).toBe(200);
  });

  it('lets a password that is not on the list go straight home', async () => {
    const tenantId = await h.createTenant();
    const user = await h.createUser(tenantId, {});
    expect((await h.client(tenantId).signIn(user.email)).headers.location).toBe('/');
  });
});

describe('portal: security settings need a fresh authentication (ASVS 3.7.1, issue 10.7)', () => {
  const SIX_MINUTES = 6 * 60_000;
  const later = (ms: number): void => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + ms);
  };
  afterEach(() => {
    vi.useRealTimers();
  });

  const CHANGES: [string, string, Record<string, string>][] = [
    [
      'password policy',
      '/settings/password-policy',
      { minLength: '16', lockoutThreshold: '10', lockoutMinutes: '15', passwordHistory: '0', expiryDays: '0', blockedWords: '' },
    ],
    ['2FA enforcement', '/settings/two-factor-enforcement', { requireTwoFactor: 'on' }],
    ['IP allowlist', '/settings/ip-allowlist', { allowlist: '0.0.0.0/0\n::/0' }],
  ];

  it.each(CHANGES)('refuses a %s change more than five minutes after sign-in, audited, and changes nothing', async (_name, path, form) => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const before = await h.controlPlane.security.get(tenantId);
    later(SIX_MINUTES);
    await client.get('/settings/security');
    const res = await client.post(path, form);
    expect(res.status).toBe(403);
    expect(res.text).toContain('Confirm your identity first');
    expect(res.text).toContain('action="/settings/security/confirm"');
    expect(await h.controlPlane.security.get(tenantId)).toEqual(before);
    const denied = (await h.controlPlane.audit.list(tenantId, { limit: 5 })).find((e) => e.outcome === 'denied');
    expect(denied).toMatchObject({ actor: { type: 'user', id: owner.user.id }, details: { reason: 'reauthentication-required' } });
  });

  it('lets a change through for five minutes after a confirmation with password and code, not after', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner', totp: true });
    const client = h.client(tenantId);
    await client.signIn(owner.email, PASSWORD, currentCode(owner.totpSecret ?? ''));
    later(SIX_MINUTES);
    const page = await client.get('/settings/security');
    expect(page.text).toContain('name="code"');
    expect((await client.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status).toBe(403);
    expect((await client.post('/settings/security/confirm', { currentPassword: PASSWORD })).status).toBe(403);
    expect(
      (await client.post('/settings/security/confirm', { currentPassword: 'wrong-password-here', code: currentCode(owner.totpSecret ?? '') })).status,
    ).toBe(403);
    later(31_000);
    const confirmed = await client.post('/settings/security/confirm', { currentPassword: PASSWORD, code: currentCode(owner.totpSecret ?? '') });
    expect(confirmed.headers.location).toBe('/settings/security');
    expect((await client.get('/settings/security')).text).toContain('reauth-fresh');
    expect((await client.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status).toBe(303);
    expect((await h.controlPlane.security.get(tenantId)).requireTwoFactor).toBe(true);
    later(SIX_MINUTES);
    await client.get('/settings/security');
    expect((await client.post('/settings/two-factor-enforcement', {})).status).toBe(403);
    expect((await h.controlPlane.security.get(tenantId)).requireTwoFactor).toBe(true);
    const confirmations = await h.controlPlane.audit.list(tenantId, { action: 'auth.reauthenticated' });
    expect(confirmations.map((e) => e.outcome).sort()).toEqual(['denied', 'denied', 'success']);
    expect(confirmations.find((e) => e.outcome === 'success')?.details).toEqual({ method: 'password+totp' });
  });

  it('counts wrong codes at the confirmation against the second factor’s lockout', async () => {
    const tenantId = await h.createTenant();
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3 }, 'test');
    const owner = await h.createUser(tenantId, { role: 'owner', totp: true });
    const client = h.client(tenantId, '198.51.100.77');
    await client.signIn(owner.email, PASSWORD, currentCode(owner.totpSecret ?? ''));
    await client.get('/settings/security');
    const wrong = (): string => (currentCode(owner.totpSecret ?? '') === '999999' ? '888888' : '999999');
    for (let i = 0; i < 3; i += 1) expect((await client.post('/settings/security/confirm', { currentPassword: PASSWORD, code: wrong() })).status).toBe(403);
    expect(await h.portal.services.throttle.check({ tenantId, account: owner.email })).toMatchObject({ allowed: false, reason: 'account-locked' });
  });
});

describe('portal: audit log', () => {
  it('lists entries with actor, address, user agent and outcome, filters by action in the URL, and exports CEF', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    await h.client(tenantId).post('/sign-in', { email: owner.email, password: 'wrong|pass=word' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const page = await client.get('/audit?action=auth.login');
    expect(page.status).toBe(200);
    expect(page.text).toContain('wrong-password');
    expect(page.text).not.toContain('auth.logout');
    const cef = await client.get('/audit.cef?action=auth.login');
    expect(cef.headers['content-type']).toMatch(/text\/plain/);
    const lines = cef.text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^CEF:0\|Retention\|Retention Portal\|0\.0\.0\|auth\.login\|auth\.login failure\|5\|rt=\d+ act=auth\.login outcome=failure /);
    expect(cef.text).not.toContain('wrong|pass');
    expect((await h.controlPlane.audit.verifyChain(tenantId)).intact).toBe(true);
  });
});
