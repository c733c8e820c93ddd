import { generateKeyPairSync } from 'node:crypto';
import * as client from 'openid-client';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { testDestinations } from '../../support/destinations.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSsoSecret } from '../../../src/sso/sso-settings-store.js';
import { parseSsoSettingsInput } from '../../../src/sso/sso-settings.js';
import { keyring, PASSWORD, PUBLIC_HOST, currentCode, startPortalHarness, type PortalClient, type PortalHarness } from '../portal/portal-harness.js';
import { startTestOidcProvider, tamperJwtSignature, type TestOidcAccount, type TestOidcProvider, type TestOidcSignIn } from '../../support/oidc-provider.js';

const SECRET = 'portal-client-secret-0123456789';
const DOMAIN = 'acme.example';
const SSO_DEPS = { sso: { allowHttpLoopbackIssuer: true, execute: [client.allowInsecureRequests] } };

let h: PortalHarness;
/** A second portal whose relying party runs 10 minutes ahead (expired tokens) and whose clock the test moves. */
let skewed: PortalHarness;
let clockOffsetMs = 0;
/** The main portal's clock offset (the relying party's token checks keep the real time). */
let portalOffsetMs = 0;
let op: TestOidcProvider;
/** Another provider with the same client: its tokens have the wrong issuer. */
let otherOp: TestOidcProvider;
let tenantId: string;
let skewedTenant: string;
let jwtTenant: string;
const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let ownerSecret = '';

const base = (tenant: string) => `https://${tenant}.${PUBLIC_HOST}`;
let accountSeq = 0;

/** A provider account with an address of the allowed domain (verified unless told). */
function account(overrides: Partial<TestOidcAccount> = {}): TestOidcAccount {
  accountSeq += 1;
  const acc: TestOidcAccount = {
    sub: `sub-${accountSeq}-${Math.random().toString(36).slice(2, 8)}`,
    email: `user${accountSeq}-${Date.now()}@${DOMAIN}`,
    email_verified: true,
    name: 'SSO User',
    amr: ['pwd'],
    ...overrides,
  };
  op.addAccount(acc);
  otherOp.addAccount(acc);
  return acc;
}

async function saveSso(harness: PortalHarness, tenant: string, form: Record<string, unknown>): Promise<void> {
  const current = await harness.controlPlane.sso.get(tenant);
  const input = parseSsoSettingsInput(
    { preset: 'generic', issuer: op.issuer, clientId: 'portal', allowedDomains: DOMAIN, ...form },
    { allowHttpLoopbackIssuer: true },
  );
  await harness.controlPlane.sso.put(
    tenant,
    { ...input, clientSecret: sealSsoSecret(keyring, tenant, 'clientSecret', SECRET), privateKey: undefined, privateKeyId: undefined, certificate: undefined },
    { actor: 'test', expectedVersion: current?.version ?? 0 },
  );
}

/** Starts SSO in the portal, answers the provider's page, and follows the redirect back into the portal. */
async function ssoSignIn(c: PortalClient, answer: TestOidcSignIn, path = '/sso/start') {
  const start = await c.get(path);
  expect(start.status).toBe(303);
  const authorizationUrl = new URL(String(start.headers.location));
  const callback = await op.signIn(authorizationUrl, answer);
  const res = await c.get(callback.pathname + callback.search);
  return { start, authorizationUrl, callback, res };
}

async function lastLogin(harness: PortalHarness, tenant: string) {
  const entries = await harness.controlPlane.audit.list(tenant, { limit: 20 });
  return entries.find((e) => e.action === 'auth.login');
}

async function signedIn(c: PortalClient): Promise<boolean> {
  const res = await c.get('/account');
  return res.status === 200;
}

beforeAll(async () => {
  h = await startPortalHarness({}, { ...SSO_DEPS, now: () => new Date(Date.now() + portalOffsetMs) });
  skewed = await startPortalHarness(
    {},
    { ...SSO_DEPS, sso: { ...SSO_DEPS.sso, clientMetadata: { [client.clockSkew]: 600 } }, now: () => new Date(Date.now() + clockOffsetMs) },
  );
  tenantId = await h.createTenant('sso');
  skewedTenant = await skewed.createTenant('ssoskew');
  jwtTenant = await h.createTenant('ssojwt');
  const portalClient = {
    client_id: 'portal',
    client_secret: SECRET,
    redirect_uris: [`${base(tenantId)}/sso/callback`, `${base(skewedTenant)}/sso/callback`],
    post_logout_redirect_uris: [`${base(tenantId)}/sso/signed-out`],
  };
  const publicJwk = { ...clientKey.publicKey.export({ format: 'jwk' }), kid: 'portal-key-1', alg: 'ES256', use: 'sig' };
  op = await startTestOidcProvider({
    clients: [
      portalClient,
      { ...portalClient, client_id: 'other-app', client_secret: 'other-secret-0123456789' },
      {
        client_id: 'jwt-portal',
        redirect_uris: [`${base(jwtTenant)}/sso/callback`],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk] },
      },
    ],
  });
  otherOp = await startTestOidcProvider({ clients: [portalClient] });
  ownerSecret = (await h.createUser(tenantId, { role: 'owner', email: `owner@${DOMAIN}`, totp: true })).totpSecret as string;
  await saveSso(h, tenantId, { mode: 'optional' });
  await saveSso(skewed, skewedTenant, { mode: 'optional' });
});

afterAll(async () => {
  await op?.close();
  await otherOp?.close();
  await h?.close();
  await skewed?.close();
});

describe('signing in through the provider', () => {
  it('links an invited administrator by the verified address at first use, then by subject; audited', async () => {
    const acc = account();
    const { user } = await h.createUser(tenantId, { email: acc.email, capabilities: ['read-audit'] });
    const c = h.client(tenantId);
    const page = await c.get('/sign-in');
    expect(page.text).toContain('href="/sso/start"');
    expect(page.text).toContain('Sign in with your identity provider');

    const { authorizationUrl, res } = await ssoSignIn(c, { sub: acc.sub });
    expect(authorizationUrl.origin).toBe(op.issuer);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(authorizationUrl.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${base(tenantId)}/sso/callback`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(await signedIn(c)).toBe(true);

    const identity = await h.controlPlane.ssoIdentities.forUser(tenantId, user.id);
    expect(identity).toMatchObject({ issuer: op.issuer, subject: acc.sub, linkedEmail: acc.email });
    const audit = await h.controlPlane.audit.list(tenantId, { limit: 20 });
    expect(audit.find((e) => e.action === 'sso.linked')).toMatchObject({ actor: { type: 'user', id: user.id }, outcome: 'success' });
    expect(audit.find((e) => e.action === 'auth.login')).toMatchObject({ outcome: 'success', details: { method: 'sso', issuer: op.issuer } });
    expect(JSON.stringify(audit)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);

    // The provider's address changes: the link is by subject, so the same administrator signs in.
    op.addAccount({ ...acc, email: `renamed-${acc.email}` });
    const again = h.client(tenantId);
    expect((await ssoSignIn(again, { sub: acc.sub })).res.headers.location).toBe('/');
    expect(await signedIn(again)).toBe(true);
  });

  it('activates an invited user who signs in with the invited address', async () => {
    const acc = account();
    const invited = await h.controlPlane.users.create(tenantId, { email: acc.email, displayName: 'Invitee', role: 'administrator' });
    expect(invited.status).toBe('invited');
    const c = h.client(tenantId);
    expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/');
    const after = await h.controlPlane.users.findById(tenantId, invited.id);
    expect(after).toMatchObject({ status: 'active', passwordHash: undefined });
    expect(after?.emailVerifiedAt).toBeInstanceOf(Date);
  });

  it('returns to the page asked for before signing in', async () => {
    const acc = account();
    await h.createUser(tenantId, { email: acc.email });
    const c = h.client(tenantId);
    expect((await c.get('/account/sessions')).headers.location).toBe('/sign-in');
    const { res } = await ssoSignIn(c, { sub: acc.sub });
    expect(res.headers.location).toBe('/account/sessions');
  });

  it('asks for the portal’s own second factor of an enrolled user unless the provider’s MFA is accepted and shown', async () => {
    const acc = account({ amr: ['pwd'] });
    const fixture = await h.createUser(tenantId, { email: acc.email, totp: true });
    const c = h.client(tenantId);
    expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/sign-in/second-factor');
    expect(await signedIn(c)).toBe(false);
    await c.get('/sign-in/second-factor');
    const done = await c.post('/sign-in/second-factor', { code: currentCode(fixture.totpSecret as string) });
    // The probe above asked for /account while signed out: the sign-in returns there.
    expect(done.headers.location).toBe('/account');
    expect((await lastLogin(h, tenantId))?.details).toMatchObject({ method: 'sso+totp' });

    // MFA at the provider, but the tenant does not accept it yet: still the portal's factor.
    const mfaAcc = account({ amr: ['pwd', 'otp'] });
    await h.createUser(tenantId, { email: mfaAcc.email, totp: true });
    expect((await ssoSignIn(h.client(tenantId), { sub: mfaAcc.sub })).res.headers.location).toBe('/sign-in/second-factor');

    await saveSso(h, tenantId, { mode: 'optional', acceptProviderMfa: 'on', mfaAcrValues: 'urn:example:mfa' });
    try {
      const withMfa = h.client(tenantId);
      expect((await ssoSignIn(withMfa, { sub: mfaAcc.sub })).res.headers.location).toBe('/');
      expect((await lastLogin(h, tenantId))?.details).toMatchObject({ method: 'sso+mfa' });
      const byAcr = h.client(tenantId);
      expect((await ssoSignIn(byAcr, { sub: acc.sub, amr: ['pwd'], acr: 'urn:example:mfa' })).res.headers.location).toBe('/');
      // A single factor at the provider: the portal's own factor is asked for.
      expect((await ssoSignIn(h.client(tenantId), { sub: mfaAcc.sub, amr: ['pwd'] })).res.headers.location).toBe('/sign-in/second-factor');
    } finally {
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });
});

describe('a tenant that requires two-factor authentication', () => {
  it('accepts the provider’s MFA as the second factor when the tenant does; a single factor leads to enrolment', async () => {
    const acc = account();
    await h.createUser(tenantId, { email: acc.email });
    await h.controlPlane.security.setRequireTwoFactor(tenantId, true, 'test');
    await saveSso(h, tenantId, { mode: 'optional', acceptProviderMfa: 'on' });
    try {
      const withMfa = h.client(tenantId);
      expect((await ssoSignIn(withMfa, { sub: acc.sub, amr: ['pwd', 'mfa'] })).res.headers.location).toBe('/');
      expect((await withMfa.get('/account')).status).toBe(200);
      const single = h.client(tenantId);
      expect((await ssoSignIn(single, { sub: acc.sub, amr: ['pwd'] })).res.headers.location).toBe('/');
      const gated = await single.get('/account');
      expect(gated.status).toBe(303);
      expect(gated.headers.location).toBe('/account/two-factor/setup');
    } finally {
      await h.controlPlane.security.setRequireTwoFactor(tenantId, false, 'test');
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });
});

describe('the portal’s credential at the provider', () => {
  it('signs in with private_key_jwt (the sealed private key signs the client assertion)', async () => {
    const input = parseSsoSettingsInput(
      { mode: 'optional', preset: 'generic', issuer: op.issuer, clientId: 'jwt-portal', clientAuthMethod: 'private_key_jwt', allowedDomains: DOMAIN },
      { allowHttpLoopbackIssuer: true },
    );
    const pem = clientKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await h.controlPlane.sso.put(
      jwtTenant,
      {
        ...input,
        clientSecret: undefined,
        privateKey: sealSsoSecret(keyring, jwtTenant, 'privateKey', pem),
        privateKeyId: 'portal-key-1',
        certificate: undefined,
      },
      { actor: 'test', expectedVersion: 0 },
    );
    const acc = account();
    await h.createUser(jwtTenant, { email: acc.email });
    const c = h.client(jwtTenant);
    const start = await c.get('/sso/start');
    const callback = await op.signIn(String(start.headers.location), { sub: acc.sub });
    expect((await c.get(callback.pathname + callback.search)).headers.location).toBe('/');
    expect(await signedIn(c)).toBe(true);
  });

  it('never reaches a provider on the operator’s own network unless the operator allows it', async () => {
    const guarded = await startPortalHarness({}, { ...SSO_DEPS, destinations: testDestinations({ network: new NetworkPolicy() }) });
    try {
      const tenant = await guarded.createTenant('ssoguard');
      await saveSso(guarded, tenant, { mode: 'optional' });
      const c = guarded.client(tenant);
      const res = await c.get('/sso/start');
      expect(res.status).toBe(303);
      expect((await c.get('/sign-in')).text).toContain('could not be reached');
      expect((await lastLogin(guarded, tenant))?.details).toMatchObject({ method: 'sso', reason: 'provider-unreachable' });
    } finally {
      await guarded.close();
    }
  });
});

describe('refusals', () => {
  /** Runs a refused sign-in and checks it left the browser signed out, on the sign-in page, with the audited reason. */
  async function expectRefused(c: PortalClient, res: { status: number; headers: Record<string, string> }, reason: string, harness = h, tenant = tenantId) {
    // Back on the sign-in page (not left on the callback URL), with the message, signed out.
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/sign-in');
    const page = await c.get('/sign-in');
    expect(page.text).toMatch(/role="alert"|notice-error/);
    expect(await signedIn(c)).toBe(false);
    const entry = await lastLogin(harness, tenant);
    expect(entry).toMatchObject({ outcome: expect.stringMatching(/failure|denied/), details: { method: 'sso', reason } });
    expect(JSON.stringify(entry)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  }

  async function linkedUser() {
    const acc = account();
    const fixture = await h.createUser(tenantId, { email: acc.email });
    return { acc, fixture };
  }

  it.each([
    ['a token of another issuer', 'wrong-issuer', async (nonce: string, sub: string) => otherOp.mintIdToken({ clientId: 'portal', sub, nonce })],
    ['a token for another client (audience)', 'wrong-audience', async (nonce: string, sub: string) => op.mintIdToken({ clientId: 'other-app', sub, nonce })],
    ['a token without the nonce', 'nonce-mismatch', async (_nonce: string, sub: string) => op.mintIdToken({ clientId: 'portal', sub })],
    [
      'a token with another nonce',
      'nonce-mismatch',
      async (_nonce: string, sub: string) => op.mintIdToken({ clientId: 'portal', sub, nonce: 'not-the-nonce' }),
    ],
    [
      'a token with a bad signature',
      'bad-signature',
      async (nonce: string, sub: string) => tamperJwtSignature(await op.mintIdToken({ clientId: 'portal', sub, nonce })),
    ],
  ])('refuses %s', async (_what, reason, token) => {
    const { acc } = await linkedUser();
    const c = h.client(tenantId);
    const start = await c.get('/sso/start');
    const authorizationUrl = new URL(String(start.headers.location));
    const idToken = await (token as (nonce: string, sub: string) => Promise<string>)(authorizationUrl.searchParams.get('nonce') as string, acc.sub);
    op.interceptNextTokenResponse((body) => ({ ...body, id_token: String(idToken) }));
    const callback = await op.signIn(authorizationUrl, { sub: acc.sub });
    await expectRefused(c, await c.get(callback.pathname + callback.search), reason);
  });

  it('refuses an expired token', async () => {
    const acc = account();
    await skewed.createUser(skewedTenant, { email: acc.email });
    op.setIdTokenTtl(60);
    try {
      const c = skewed.client(skewedTenant);
      const start = await c.get('/sso/start');
      const callback = await op.signIn(String(start.headers.location), { sub: acc.sub });
      await expectRefused(c, await c.get(callback.pathname + callback.search), 'token-expired', skewed, skewedTenant);
    } finally {
      op.setIdTokenTtl(300);
    }
  });

  it('refuses a replayed callback (state used up) and a callback without a sign-in started', async () => {
    const { acc } = await linkedUser();
    const c = h.client(tenantId);
    const { callback, res } = await ssoSignIn(c, { sub: acc.sub });
    expect(res.headers.location).toBe('/');
    const attacker = h.client(tenantId);
    await expectRefused(attacker, await attacker.get(callback.pathname + callback.search), 'state-unknown');
    // The same browser, signed out, replaying its own callback.
    await c.post('/sign-out', {});
    await expectRefused(c, await c.get(callback.pathname + callback.search), 'state-unknown');
  });

  it('refuses a callback whose state is not the one sent', async () => {
    const { acc } = await linkedUser();
    const c = h.client(tenantId);
    const start = await c.get('/sso/start');
    const url = new URL(String(start.headers.location));
    url.searchParams.set('state', 'forged-state-value-0123456789');
    const callback = await op.signIn(url, { sub: acc.sub });
    await expectRefused(c, await c.get(callback.pathname + callback.search), 'state-mismatch');
  });

  it('refuses an address the provider did not verify, a domain not allowed and an unknown subject', async () => {
    const unverified = account({ email_verified: false });
    await h.createUser(tenantId, { email: unverified.email });
    const c1 = h.client(tenantId);
    await expectRefused(c1, (await ssoSignIn(c1, { sub: unverified.sub })).res, 'email-unverified');

    const foreign = account({ email: `someone-${Date.now()}@elsewhere.example` });
    await h.createUser(tenantId, { email: foreign.email });
    const c2 = h.client(tenantId);
    await expectRefused(c2, (await ssoSignIn(c2, { sub: foreign.sub })).res, 'domain-not-allowed');

    const stranger = account();
    const c3 = h.client(tenantId);
    await expectRefused(c3, (await ssoSignIn(c3, { sub: stranger.sub })).res, 'unknown-subject');
    expect((await lastLogin(h, tenantId))?.details?.email).not.toBe(stranger.email);
  });

  it('refuses a deactivated administrator, linked or not', async () => {
    const { acc, fixture } = await linkedUser();
    const c = h.client(tenantId);
    expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/');
    await h.controlPlane.users.changeStatus(tenantId, fixture.user.id, 'active', 'disabled');
    expect(await signedIn(c)).toBe(false);
    const c2 = h.client(tenantId);
    await expectRefused(c2, (await ssoSignIn(c2, { sub: acc.sub })).res, 'user-inactive');

    const never = account();
    const neverUser = await h.createUser(tenantId, { email: never.email });
    await h.controlPlane.users.changeStatus(tenantId, neverUser.user.id, 'active', 'disabled');
    const c3 = h.client(tenantId);
    await expectRefused(c3, (await ssoSignIn(c3, { sub: never.sub })).res, 'user-inactive');
    expect(await h.controlPlane.ssoIdentities.forUser(tenantId, neverUser.user.id)).toBeUndefined();
  });

  it('refuses a second provider identity for a linked administrator', async () => {
    const { acc } = await linkedUser();
    expect((await ssoSignIn(h.client(tenantId), { sub: acc.sub })).res.headers.location).toBe('/');
    const twin = account({ email: acc.email });
    const c = h.client(tenantId);
    await expectRefused(c, (await ssoSignIn(c, { sub: twin.sub })).res, 'identity-mismatch');
  });

  it('holds the allowed domains at every sign-in, linked or not', async () => {
    const { acc } = await linkedUser();
    expect((await ssoSignIn(h.client(tenantId), { sub: acc.sub })).res.headers.location).toBe('/');
    op.addAccount({ ...acc, email: acc.email.replace(`@${DOMAIN}`, '@moved.example') });
    const c = h.client(tenantId);
    await expectRefused(c, (await ssoSignIn(c, { sub: acc.sub })).res, 'domain-not-allowed');
  });

  it('moves a linked administrator to a new provider by the verified address once the tenant changed issuer', async () => {
    const { acc, fixture } = await linkedUser();
    expect((await ssoSignIn(h.client(tenantId), { sub: acc.sub })).res.headers.location).toBe('/');
    await saveSso(h, tenantId, { mode: 'optional', issuer: otherOp.issuer });
    try {
      const c = h.client(tenantId);
      const start = await c.get('/sso/start');
      expect(new URL(String(start.headers.location)).origin).toBe(otherOp.issuer);
      const callback = await otherOp.signIn(String(start.headers.location), { sub: acc.sub });
      expect((await c.get(callback.pathname + callback.search)).headers.location).toBe('/');
      expect(await h.controlPlane.ssoIdentities.forUser(tenantId, fixture.user.id)).toMatchObject({ issuer: otherOp.issuer });
      const audit = await h.controlPlane.audit.list(tenantId, { limit: 10 });
      expect(audit.find((e) => e.action === 'sso.unlinked')).toMatchObject({ details: { issuer: op.issuer, reason: 'provider-changed' } });
    } finally {
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });

  it('refuses the provider’s error response (the user cancelled)', async () => {
    const { acc } = await linkedUser();
    const c = h.client(tenantId);
    const { res } = await ssoSignIn(c, { sub: acc.sub, deny: true });
    await expectRefused(c, res, 'provider-error');
    expect((await lastLogin(h, tenantId))?.details?.error).toBe('access_denied');
  });

  it('refuses a callback after the settings changed, and a start while SSO is off', async () => {
    const { acc } = await linkedUser();
    const c = h.client(tenantId);
    const start = await c.get('/sso/start');
    await saveSso(h, tenantId, { mode: 'optional', buttonLabel: 'Acme login' });
    const callback = await op.signIn(String(start.headers.location), { sub: acc.sub });
    await expectRefused(c, await c.get(callback.pathname + callback.search), 'sign-in-expired');
    expect((await c.get('/sign-in')).text).toContain('Sign in with Acme login');

    await saveSso(h, tenantId, { mode: 'off' });
    try {
      const offClient = h.client(tenantId);
      const off = await offClient.get('/sso/start');
      expect(off.headers.location).toBe('/sign-in');
      expect((await offClient.get('/sign-in')).text).toContain('Single sign-on is not turned on');
      expect((await h.client(tenantId).get('/sign-in')).text).not.toContain('/sso/start');
    } finally {
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });
});

describe('required mode', () => {
  it('refuses passwords to everyone but the owner, who keeps password and second factor', async () => {
    const admin = await h.createUser(tenantId, { email: `pw-admin-${Date.now()}@${DOMAIN}` });
    await saveSso(h, tenantId, { mode: 'required' });
    try {
      const page = await h.client(tenantId).get('/sign-in');
      expect(page.text).toContain("Owner's emergency sign-in");
      const c = h.client(tenantId);
      const refused = await c.signIn(admin.email, PASSWORD);
      expect(refused.status).toBe(401);
      expect(await signedIn(c)).toBe(false);
      const audit = await h.controlPlane.audit.list(tenantId, { limit: 5 });
      expect(audit.find((e) => e.action === 'auth.login')).toMatchObject({ outcome: 'denied', details: { reason: 'sso-required' } });
      // The same answer as a wrong password: nobody learns whose address is the owner's.
      const wrong = await h.client(tenantId).signIn(`owner@${DOMAIN}`, 'not-the-password-at-all');
      const message = (text: string) => /role="alert">([^<]*)</.exec(text)?.[1];
      expect(wrong.status).toBe(401);
      expect(message(wrong.text)).toBe(message(refused.text));
      expect(message(refused.text)).toContain('Sign-in failed');

      const breakGlass = h.client(tenantId);
      const first = await breakGlass.post('/sign-in', { email: `owner@${DOMAIN}`, password: PASSWORD });
      expect(first.headers.location).toBe('/sign-in/second-factor');
      await breakGlass.get('/sign-in/second-factor');
      expect((await breakGlass.post('/sign-in/second-factor', { code: currentCode(ownerSecret) })).headers.location).toBe('/');
      expect(await signedIn(breakGlass)).toBe(true);
    } finally {
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });
});

describe('invitations while single sign-on is on', () => {
  it('offer the provider; while it is required, it is the only way to accept', async () => {
    const acc = account();
    const invited = await h.controlPlane.users.create(tenantId, { email: acc.email, displayName: 'Invitee', role: 'administrator' });
    const { token } = await h.controlPlane.activationTokens.issue(tenantId, {
      purpose: 'invitation',
      subject: invited.id,
      createdBy: 'test',
      expiresInSeconds: 3600,
    });
    const optional = await h.client(tenantId).get(`/invitation/${token}`);
    expect(optional.text).toContain('href="/sso/start"');
    expect(optional.text).toContain('name="password"');
    await saveSso(h, tenantId, { mode: 'required' });
    try {
      const c = h.client(tenantId);
      const page = await c.get(`/invitation/${token}`);
      expect(page.text).toContain('href="/sso/start"');
      expect(page.text).not.toContain('name="password"');
      const refused = await c.post(`/invitation/${token}`, { password: 'a-perfectly-good-long-passphrase-42' });
      expect(refused.status).toBe(400);
      expect((await h.controlPlane.users.findById(tenantId, invited.id))?.status).toBe('invited');
      expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/');
      expect((await h.controlPlane.users.findById(tenantId, invited.id))?.status).toBe('active');
    } finally {
      await saveSso(h, tenantId, { mode: 'optional' });
    }
  });
});

describe('sessions', () => {
  it('signs out here and at the provider (RP-initiated logout)', async () => {
    const acc = account();
    await h.createUser(tenantId, { email: acc.email });
    const c = h.client(tenantId);
    const browser = op.browser();
    const start = await c.get('/sso/start');
    const callback = await browser.signIn(String(start.headers.location), { sub: acc.sub });
    expect((await c.get(callback.pathname + callback.search)).headers.location).toBe('/');
    await c.get('/account');
    const out = await c.post('/sign-out', {});
    // A page of the portal (a form may not redirect off the origin under CSP form-action 'self') that moves on by itself.
    expect(out.status).toBe(200);
    expect(out.text).toContain('You have signed out of Retention');
    expect(out.text).not.toContain('action="/sign-out"');
    const refresh = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(out.text)?.[1];
    expect(refresh).toBeDefined();
    const logout = new URL((refresh ?? '').replaceAll('&amp;', '&'));
    expect(out.text).toContain(`href="${refresh}"`);
    expect(logout.origin).toBe(op.issuer);
    expect(logout.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${base(tenantId)}/sso/signed-out`);
    expect(await signedIn(c)).toBe(false);
    const back = await browser.signOut(logout);
    expect(back.href.startsWith(`${base(tenantId)}/sso/signed-out`)).toBe(true);
    const page = await c.get(back.pathname + back.search);
    expect(page.status).toBe(200);
    expect(page.text).toContain('signed out');
    // The provider's session is gone: the next sign-in shows its page again (a fresh sign-in is answered).
    const again = await c.get('/sso/start');
    const next = await browser.signIn(String(again.headers.location), { sub: acc.sub });
    expect(next.searchParams.get('code')).toBeTruthy();
  });

  it('ends an SSO session at the idle timeout like any other', async () => {
    const acc = account();
    await skewed.createUser(skewedTenant, { email: acc.email });
    const c = skewed.client(skewedTenant);
    op.setIdTokenTtl(3600);
    try {
      const start = await c.get('/sso/start');
      const callback = await op.signIn(String(start.headers.location), { sub: acc.sub });
      expect((await c.get(callback.pathname + callback.search)).headers.location).toBe('/');
    } finally {
      op.setIdTokenTtl(300);
    }
    expect(await signedIn(c)).toBe(true);
    clockOffsetMs = 31 * 60_000;
    try {
      expect(await signedIn(c)).toBe(false);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('confirms the identity of a signed-in user through the provider, only as the same user', async () => {
    const acc = account();
    const fixture = await h.createUser(tenantId, { email: acc.email });
    const c = h.client(tenantId);
    expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/');
    const { authorizationUrl, res } = await ssoSignIn(c, { sub: acc.sub }, '/account/sso/reauthenticate?returnTo=/account/sessions');
    expect(authorizationUrl.searchParams.get('prompt')).toBe('login');
    expect(authorizationUrl.searchParams.get('max_age')).toBe('0');
    expect(res.headers.location).toBe('/account/sessions');
    const audit = await h.controlPlane.audit.list(tenantId, { limit: 5 });
    expect(audit.find((e) => e.action === 'auth.reauthenticated')).toMatchObject({
      actor: { id: fixture.user.id },
      outcome: 'success',
      details: { method: 'sso' },
    });

    const other = account();
    await h.createUser(tenantId, { email: other.email });
    expect((await ssoSignIn(h.client(tenantId), { sub: other.sub })).res.headers.location).toBe('/');
    const mixed = await ssoSignIn(c, { sub: other.sub }, '/account/sso/reauthenticate');
    expect(mixed.res.headers.location).toBe('/account');
    expect((await lastLogin(h, tenantId))?.details).toMatchObject({ reason: 'reauthentication-other-user' });
    expect(await signedIn(c)).toBe(true);
  });

  it('lets a user without a password confirm their identity only through the provider', async () => {
    const acc = account();
    const invited = await h.controlPlane.users.create(tenantId, { email: acc.email, displayName: 'Provider only', role: 'administrator' });
    const c = h.client(tenantId);
    expect((await ssoSignIn(c, { sub: acc.sub })).res.headers.location).toBe('/');
    expect((await h.controlPlane.users.findById(tenantId, invited.id))?.passwordHash).toBeUndefined();
    expect((await c.get('/account')).text).toContain('href="/account/sso/reauthenticate?returnTo=/account"');
    portalOffsetMs = 6 * 60_000;
    try {
      await c.get('/account/sessions');
      const refused = await c.post('/account/sessions/sign-out-others', {});
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('confirm your identity there first');
      const audit = await h.controlPlane.audit.list(tenantId, { limit: 5 });
      expect(audit.find((e) => e.action === 'session.revoke')).toMatchObject({ outcome: 'denied', details: { reason: 'provider-confirmation-required' } });
      expect((await ssoSignIn(c, { sub: acc.sub }, '/account/sso/reauthenticate?returnTo=/account/sessions')).res.headers.location).toBe('/account/sessions');
      await c.get('/account/sessions');
      const done = await c.post('/account/sessions/sign-out-others', {});
      expect(done.status).toBe(303);
    } finally {
      portalOffsetMs = 0;
    }
  });
});
