import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateTotp } from '../../../src/auth/totp.js';
import { normalizeBackupCode } from '../../../src/auth/backup-codes.js';
import { currentCode, startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;
let tenantId: string;

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant();
});
afterAll(async () => h.close());
afterEach(() => {
  vi.useRealTimers();
});

const T0 = new Date('2031-05-05T12:00:10Z').getTime();
const at = (ms: number): void => {
  vi.setSystemTime(ms);
};

async function secondFactor(client: PortalClient, email: string, code: string) {
  await client.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
  await client.get('/sign-in/second-factor');
  return client.post('/sign-in/second-factor', { code });
}

describe('portal: TOTP enrolment', () => {
  it('enrols with a server-rendered QR code and the key in groups, confirmed by a code; then shows ten backup codes once (ASVS 2.8.1, 2.6.2)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0);
    const { email, user } = await h.createUser(tenantId, {});
    const client = h.client(tenantId);
    await client.signIn(email);
    const page = await client.get('/account/two-factor/setup');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<img class="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/);
    const key = /id="manual-key">([A-Z2-7 ]+)</.exec(page.text)?.[1] ?? '';
    expect(key).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    const stored = await h.controlPlane.users.findById(tenantId, user.id);
    expect(stored?.pendingTotpSecret).toMatch(/^v1\.test\./);
    expect(stored?.pendingTotpSecret).not.toContain(key.replace(/ /g, ''));
    expect((await client.get('/account/two-factor/setup')).text).toContain(key);

    const wrong = await client.post('/account/two-factor/setup', { code: '000000' === currentCode(key) ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect((await h.controlPlane.users.findById(tenantId, user.id))?.totp).toBeUndefined();

    const done = await client.post('/account/two-factor/setup', { code: generateTotp(key.replace(/ /g, ''), { now: Date.now() }) });
    expect(done.status).toBe(200);
    expect(done.headers['cache-control']).toBe('no-store');
    const codes = [...done.text.matchAll(/<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})<\/code><\/li>/g)].map((m) => m[1] ?? '');
    expect(codes).toHaveLength(10);
    const enrolled = await h.controlPlane.users.findById(tenantId, user.id);
    expect(enrolled?.totp).toBeDefined();
    expect(enrolled?.backupCodeHashes).toHaveLength(10);
    for (const hash of enrolled?.backupCodeHashes ?? []) expect(hash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(enrolled)).not.toContain(normalizeBackupCode(codes[0] ?? ''));
    const account = await client.get('/account');
    expect(account.text).not.toContain(codes[0]);
    const audit = await h.controlPlane.audit.list(tenantId, { action: '2fa.enabled' });
    expect(audit[0]).toMatchObject({ actor: { id: user.id }, outcome: 'success' });
  });
});

describe('portal: second factor at sign-in', () => {
  it('asks for the code after the password, with a new session id after each step (ASVS 3.2.1)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0 + 60_000);
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await client.get('/sign-in');
    const anonymous = client.cookie;
    const afterPassword = await client.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
    expect(afterPassword.headers.location).toBe('/sign-in/second-factor');
    const halfway = client.cookie;
    expect(halfway).not.toBe(anonymous);
    expect((await client.get('/')).headers.location).toBe('/sign-in');
    await client.get('/sign-in/second-factor');
    const res = await client.post('/sign-in/second-factor', { code: currentCode(totpSecret) });
    expect(res.headers.location).toBe('/');
    expect(client.cookie).not.toBe(halfway);
    expect((await client.get('/')).status).toBe(200);
  });

  it.each([
    ['one step behind', -30_000, true],
    ['one step ahead', 30_000, true],
    ['two steps behind', -60_000, false],
    ['two steps ahead', 60_000, false],
  ])('accepts a code %s only within one step of drift: %s (RFC 6238, ASVS 5.0 6.5.5)', async (_case, offset, accepted) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0 + 120_000);
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const code = generateTotp(totpSecret, { now: Date.now() + offset });
    const res = await secondFactor(h.client(tenantId), email, code);
    expect(res.status).toBe(accepted ? 303 : 401);
  });

  it('refuses a code of an already used time step and audits the replay (ASVS 2.8.4, 2.8.5)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0 + 180_000);
    const { email, user, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const code = currentCode(totpSecret);
    expect((await secondFactor(h.client(tenantId), email, code)).headers.location).toBe('/');
    at(T0 + 185_000);
    const replay = await secondFactor(h.client(tenantId), email, code);
    expect(replay.status).toBe(401);
    const audit = await h.controlPlane.audit.list(tenantId, { action: '2fa.totp.replay' });
    expect(audit[0]).toMatchObject({ actor: { id: user.id }, outcome: 'denied' });
    at(T0 + 211_000);
    expect((await secondFactor(h.client(tenantId), email, currentCode(totpSecret))).headers.location).toBe('/');
  });

  it('accepts the same code for exactly one of two concurrent sign-ins (conditional update of the last step: ASVS 2.8.4)', async () => {
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const [first, second] = [h.client(tenantId), h.client(tenantId)];
    for (const c of [first, second]) {
      await c.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
      await c.get('/sign-in/second-factor');
    }
    const code = currentCode(totpSecret);
    const results = await Promise.all([first, second].map((c) => c.post('/sign-in/second-factor', { code })));
    expect(results.map((r) => r.status).sort()).toEqual([303, 401]);
  });

  it('accepts a backup code once and refuses it the second time (ASVS 2.6.1, 5.0 6.5.1)', async () => {
    const { email, user, backupCodes = [] } = await h.createUser(tenantId, { totp: true });
    const code = (backupCodes[0] ?? '').toLowerCase().replace('-', ' ');
    expect((await secondFactor(h.client(tenantId), email, code)).headers.location).toBe('/');
    expect((await h.controlPlane.users.findById(tenantId, user.id))?.backupCodeHashes).toHaveLength(backupCodes.length - 1);
    const again = await secondFactor(h.client(tenantId), email, backupCodes[0] ?? '');
    expect(again.status).toBe(401);
    expect((await h.controlPlane.audit.list(tenantId, { action: '2fa.backup-code.used' }))[0]).toMatchObject({
      actor: { id: user.id },
      details: { remaining: backupCodes.length - 1 },
    });
  });

  it.each([['12345'], ['abcdef'], ['ZZZZZ-ZZZZZ'], [''], ['1'.repeat(64)]])('refuses the bad second factor %j and counts it as a failure', async (code) => {
    const { email, user } = await h.createUser(tenantId, { totp: true });
    const res = await secondFactor(h.client(tenantId), email, code);
    expect(res.status).toBe(401);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'auth.second-factor', limit: 1 }))[0]).toMatchObject({
      actor: { id: user.id },
      outcome: 'failure',
    });
  });

  it('locks the account after repeated wrong second factors (the throttle counts them: ASVS 2.2.1)', async () => {
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3 }, 'test');
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await client.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
    await client.get('/sign-in/second-factor');
    for (let i = 0; i < 3; i += 1) await client.post('/sign-in/second-factor', { code: '999999' === currentCode(totpSecret) ? '888888' : '999999' });
    const res = await client.post('/sign-in/second-factor', { code: currentCode(totpSecret) });
    expect(res.status).toBe(401);
    expect((await h.client(tenantId).signIn(email)).status).toBe(401);
    await h.controlPlane.security.setPasswordPolicy(tenantId, {}, 'test');
  });

  it('counts wrong codes on their own: entering the correct password again between them never resets the count (issue 10.2)', async () => {
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 5 }, 'test');
    const { user, email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const wrong = (): string => (currentCode(totpSecret) === '999999' ? '888888' : '999999');
    let lockedAt: number | undefined;
    for (let round = 0; round < 30 && lockedAt === undefined; round += 1) {
      const client = h.client(tenantId, '198.51.100.31');
      const password = await client.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
      if (password.headers.location !== '/sign-in/second-factor') {
        lockedAt = round;
        break;
      }
      await client.get('/sign-in/second-factor');
      const refused = await client.post('/sign-in/second-factor', { code: wrong() });
      expect(refused.status, `round ${round}: ${refused.headers.location ?? refused.text.slice(0, 200)}`).toBe(401);
    }
    expect(lockedAt, 'five wrong codes lock the account, however often the password is entered correctly').toBe(5);
    expect((await h.client(tenantId).post('/sign-in', { email, password: 'amber-tractor-violin-harbour' })).status).toBe(401);
    expect((await secondFactor(h.client(tenantId), email, currentCode(totpSecret))).headers.location).not.toBe('/');
    const lockouts = await h.controlPlane.audit.list(tenantId, { action: 'auth.lockout' });
    expect(lockouts).toEqual(expect.arrayContaining([expect.objectContaining({ actor: { type: 'user', id: user.id }, outcome: 'denied' })]));
    await h.controlPlane.security.setPasswordPolicy(tenantId, {}, 'test');
  });

  it('clears wrong codes only with a complete sign-in, and wrong passwords do not add to them (issue 10.2)', async () => {
    await h.controlPlane.security.setPasswordPolicy(tenantId, { lockoutThreshold: 3 }, 'test');
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const wrong = (): string => (currentCode(totpSecret) === '999999' ? '888888' : '999999');
    const client = h.client(tenantId, '198.51.100.32');
    for (let i = 0; i < 2; i += 1) expect((await secondFactor(client, email, wrong())).status).toBe(401);
    for (let i = 0; i < 2; i += 1) expect((await h.client(tenantId).post('/sign-in', { email, password: 'not-it' })).status).toBe(401);
    expect((await h.client(tenantId).post('/sign-in', { email, password: 'amber-tractor-violin-harbour' })).headers.location).toBe('/sign-in/second-factor');
    vi.useFakeTimers({ toFake: ['Date'] });
    at(Date.now() + 31_000);
    expect((await secondFactor(h.client(tenantId), email, currentCode(totpSecret))).headers.location).toBe('/');
    for (let i = 0; i < 2; i += 1) expect((await secondFactor(client, email, wrong())).status).toBe(401);
    expect((await h.client(tenantId).post('/sign-in', { email, password: 'amber-tractor-violin-harbour' })).headers.location).toBe('/sign-in/second-factor');
    await h.controlPlane.security.setPasswordPolicy(tenantId, {}, 'test');
  });

  it('expires a half-finished sign-in after five minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0 + 400_000);
    const { email, totpSecret = '' } = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await client.post('/sign-in', { email, password: 'amber-tractor-violin-harbour' });
    await client.get('/sign-in/second-factor');
    at(T0 + 400_000 + 5 * 60_000 + 1000);
    const res = await client.post('/sign-in/second-factor', { code: currentCode(totpSecret) });
    expect(res.headers.location).toBe('/sign-in');
  });
});

describe('portal: changing the second factor', () => {
  it('regenerates backup codes only after re-authentication; the old ones stop working (ASVS 3.7.1, 5.0 7.5.1)', async () => {
    const { email, backupCodes = [] } = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await secondFactor(client, email, backupCodes[0] ?? '');
    await client.get('/account');
    const refused = await client.post('/account/backup-codes', { currentPassword: 'not my password' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('ERR_REAUTH_FAILED');
    const fresh = await client.post('/account/backup-codes', { currentPassword: 'amber-tractor-violin-harbour' });
    expect(fresh.status).toBe(200);
    const codes = [...fresh.text.matchAll(/<code>([0-9A-Z]{5}-[0-9A-Z]{5})<\/code>/g)].map((m) => m[1] ?? '');
    expect(codes).toHaveLength(10);
    expect((await secondFactor(h.client(tenantId), email, backupCodes[1] ?? '')).status).toBe(401);
    expect((await secondFactor(h.client(tenantId), email, codes[0] ?? '')).headers.location).toBe('/');
  });

  it('turns 2FA off only after re-authentication (ASVS 2.8.6, 5.0 7.5.1)', async () => {
    const { email, user, backupCodes = [] } = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await secondFactor(client, email, backupCodes[0] ?? '');
    await client.get('/account');
    expect((await client.post('/account/two-factor/disable', { currentPassword: '' })).status).toBe(403);
    expect((await h.controlPlane.users.findById(tenantId, user.id))?.totp).toBeDefined();
    expect((await client.post('/account/two-factor/disable', { currentPassword: 'amber-tractor-violin-harbour' })).headers.location).toBe('/account');
    const after = await h.controlPlane.users.findById(tenantId, user.id);
    expect(after?.totp).toBeUndefined();
    expect(after?.backupCodeHashes).toEqual([]);
    expect((await h.controlPlane.audit.list(tenantId, { action: '2fa.disabled' }))[0]).toMatchObject({ actor: { id: user.id } });
  });

  it('lets an administrator who manages users reset another user’s 2FA and ends that user’s sessions', async () => {
    const admin = await h.createUser(tenantId, { capabilities: ['manage-users'] });
    const target = await h.createUser(tenantId, { totp: true });
    const targetClient = h.client(tenantId);
    await secondFactor(targetClient, target.email, target.backupCodes?.[0] ?? '');
    const client = h.client(tenantId);
    await client.signIn(admin.email);
    await client.get('/users');
    expect((await client.post(`/users/${target.user.id}/reset-two-factor`, { currentPassword: 'wrong' })).status).toBe(403);
    const res = await client.post(`/users/${target.user.id}/reset-two-factor`, { currentPassword: 'amber-tractor-violin-harbour' });
    expect(res.headers.location).toBe('/users');
    expect((await h.controlPlane.users.findById(tenantId, target.user.id))?.totp).toBeUndefined();
    expect((await targetClient.get('/')).status).toBe(303);
    expect((await h.controlPlane.audit.list(tenantId, { action: '2fa.reset' }))[0]).toMatchObject({
      actor: { id: admin.user.id },
      target: target.email,
      outcome: 'success',
    });
  });

  it.each([
    ['without the manage-users permission', [] as const, 'administrator', 403],
    ['of the owner by a non-owner', ['manage-users'] as const, 'owner', 403],
  ])('refuses a 2FA reset %s (ASVS 4.1.3)', async (_case, capabilities, targetRole, status) => {
    const actor = await h.createUser(tenantId, { capabilities: [...capabilities] });
    const target =
      targetRole === 'owner'
        ? ((await h.controlPlane.users.findOwner(tenantId)) ?? (await h.createUser(tenantId, { role: 'owner', totp: true })).user)
        : (await h.createUser(tenantId, { totp: true })).user;
    const client = h.client(tenantId);
    await client.signIn(actor.email);
    await client.get('/');
    const res = await client.post(`/users/${target.id}/reset-two-factor`, { currentPassword: 'amber-tractor-violin-harbour' });
    expect(res.status).toBe(status);
  });

  it('refuses a 2FA reset of a user of another tenant (ASVS 4.2.1)', async () => {
    const other = await h.createTenant('other');
    const foreign = await h.createUser(other, { totp: true });
    const admin = await h.createUser(tenantId, { capabilities: ['manage-users'] });
    const client = h.client(tenantId);
    await client.signIn(admin.email);
    await client.get('/');
    expect((await client.post(`/users/${foreign.user.id}/reset-two-factor`, { currentPassword: 'amber-tractor-violin-harbour' })).status).toBe(404);
    expect((await h.controlPlane.users.findById(other, foreign.user.id))?.totp).toBeDefined();
  });
});

describe('portal: tenant-wide 2FA enforcement', () => {
  it('takes a user without 2FA to enrolment at the next request and lets them reach nothing else; 2FA cannot be turned off (ASVS 4.3.1)', async () => {
    const enforced = await h.createTenant('strict');
    const owner = await h.createUser(enforced, { role: 'owner', totp: true });
    const member = await h.createUser(enforced, { capabilities: ['manage-users'] });
    const memberClient = h.client(enforced);
    await memberClient.signIn(member.email);
    expect((await memberClient.get('/')).status).toBe(200);

    const ownerClient = h.client(enforced);
    await secondFactor(ownerClient, owner.email, owner.backupCodes?.[0] ?? '');
    await ownerClient.get('/settings/security');
    expect((await ownerClient.post('/settings/two-factor-enforcement', { requireTwoFactor: 'on' })).status).toBe(303);
    expect((await h.controlPlane.audit.list(enforced, { action: 'policy.two-factor.changed' }))[0]).toMatchObject({ details: { required: true } });

    for (const path of ['/', '/account', '/settings/security', '/account/sessions']) {
      const res = await memberClient.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.location).toBe('/account/two-factor/setup');
    }
    const setup = await memberClient.get('/account/two-factor/setup');
    expect(setup.status).toBe(200);
    expect((await memberClient.post('/settings/ip-allowlist', { allowlist: '10.0.0.0/8', confirmExclusion: 'yes' })).status).toBe(403);

    await ownerClient.get('/account');
    const disable = await ownerClient.post('/account/two-factor/disable', { currentPassword: 'amber-tractor-violin-harbour' });
    expect(disable.status).toBe(403);
    expect(disable.text).toContain('ERR_TWO_FACTOR_ENFORCED');
  });
});
