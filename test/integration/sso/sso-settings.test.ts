import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { parseSsoSettingsInput } from '../../../src/sso/sso-settings.js';
import { openSsoSecret, sealSsoSecret } from '../../../src/sso/sso-settings-store.js';
import { testDestinations } from '../../support/destinations.js';
import { startTestOidcProvider, type TestOidcProvider } from '../../support/oidc-provider.js';
import {
  currentCode,
  keyring,
  PASSWORD,
  PUBLIC_HOST,
  startPortalHarness,
  type FixtureUser,
  type PortalClient,
  type PortalHarness,
} from '../portal/portal-harness.js';

const SECRET = 'provider-issued-secret-7f3a9c01d2';
const SSO_DEPS = { sso: { allowHttpLoopbackIssuer: true, execute: [client.allowInsecureRequests] } };
const RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let h: PortalHarness;
let op: TestOidcProvider;

beforeAll(async () => {
  op = await startTestOidcProvider({
    clients: [{ client_id: 'retention-portal', client_secret: SECRET, redirect_uris: [`https://sso.${PUBLIC_HOST}/sso/callback`] }],
  });
  h = await startPortalHarness({}, SSO_DEPS);
});
afterAll(async () => {
  await h?.close();
  await op?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A full form for the test provider; `version` is the one the page shows. */
const fullForm = (overrides: Record<string, string> = {}): Record<string, string> => ({
  mode: 'optional',
  preset: 'generic',
  issuer: op.issuer,
  clientId: 'retention-portal',
  clientAuthMethod: 'client_secret_basic',
  clientSecret: SECRET,
  privateKey: '',
  privateKeyId: '',
  certificate: '',
  allowedDomains: 'acme.example\nacme-group.example',
  emailClaim: 'email',
  acceptProviderMfa: 'on',
  mfaAcrValues: 'urn:test:loa:2fa',
  buttonLabel: 'Acme login',
  version: '0',
  ...overrides,
});

/** A tenant whose owner (with TOTP unless told) is signed in just now, so security settings may change. */
async function signedInOwner(options: { totp?: boolean; harness?: PortalHarness } = {}): Promise<{ tenantId: string; owner: FixtureUser; c: PortalClient }> {
  const harness = options.harness ?? h;
  const tenantId = await harness.createTenant('sso-set');
  const owner = await harness.createUser(tenantId, { role: 'owner', totp: options.totp ?? true });
  const c = harness.client(tenantId);
  const res = await c.signIn(owner.email, PASSWORD, owner.totpSecret === undefined ? undefined : currentCode(owner.totpSecret));
  expect(res.headers.location).toBe('/');
  return { tenantId, owner, c };
}

const versionOn = (html: string): string => /name="version" value="(\d+)"/.exec(html)?.[1] ?? 'none';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function rawDocument(harness: PortalHarness, tenantId: string): Promise<string> {
  return JSON.stringify(await harness.db.collection<{ _id: string }>('settings').findOne({ _id: `${tenantId}/sso` }));
}

async function auditOf(harness: PortalHarness, tenantId: string, action: string) {
  return harness.controlPlane.audit.list(tenantId, { action, limit: 20 });
}

describe('SSO settings: the owner saves them', () => {
  it('shows the form, the presets’ hints and the URIs to register; saves a full configuration checked against the provider', async () => {
    const { tenantId, owner, c } = await signedInOwner();
    const page = await c.get('/settings/security');
    expect(page.status).toBe(200);
    expect(page.text).toContain('action="/settings/security/sso"');
    expect(page.text).toContain(`https://${tenantId}.${PUBLIC_HOST}/sso/callback`);
    expect(page.text).toContain(`https://${tenantId}.${PUBLIC_HOST}/sso/signed-out`);
    for (const preset of ['Microsoft Entra ID', 'Google Workspace', 'Okta', 'Another OpenID Connect provider']) expect(page.text).toContain(preset);
    expect(page.text).toContain('https://login.microsoftonline.com/&lt;directory (tenant) ID&gt;/v2.0');
    expect(page.text).toContain('the break-glass account');
    expect(versionOn(page.text)).toBe('0');

    const saved = await c.post('/settings/security/sso', fullForm());
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/settings/security');
    const stored = await h.controlPlane.sso.get(tenantId);
    expect(stored).toMatchObject({
      mode: 'optional',
      preset: 'generic',
      issuer: op.issuer,
      clientId: 'retention-portal',
      clientAuthMethod: 'client_secret_basic',
      emailClaim: 'email',
      allowedDomains: ['acme.example', 'acme-group.example'],
      acceptProviderMfa: true,
      mfaAcrValues: ['urn:test:loa:2fa'],
      buttonLabel: 'Acme login',
      privateKey: undefined,
      version: 1,
      updatedBy: owner.user.id,
    });
    expect(openSsoSecret(keyring, tenantId, 'clientSecret', stored?.clientSecret ?? '')).toBe(SECRET);
    expect(await rawDocument(h, tenantId)).not.toContain(SECRET);

    const after = await c.get('/settings/security');
    expect(after.text).toContain('Single sign-on was saved');
    expect(after.text).toContain('(saved — leave empty to keep it)');
    expect(after.text).not.toContain(SECRET);
    expect(versionOn(after.text)).toBe('1');
    expect(after.text).toContain('value="Acme login"');

    const [changed] = await auditOf(h, tenantId, 'sso.settings.changed');
    expect(changed).toMatchObject({ actor: { type: 'user', id: owner.user.id }, outcome: 'success' });
    expect(changed?.details).toEqual({
      mode: 'optional',
      preset: 'generic',
      issuer: op.issuer,
      clientAuthMethod: 'client_secret_basic',
      allowedDomains: 2,
      acceptProviderMfa: true,
      secretChanged: true,
    });
    expect(JSON.stringify(await h.controlPlane.audit.list(tenantId, { limit: 100 }))).not.toContain(SECRET);
  });

  it('keeps the stored secret when the field is left blank; switching to a private key drops the secret, and back needs one again', async () => {
    const { tenantId, c } = await signedInOwner();
    await c.get('/settings/security');
    expect((await c.post('/settings/security/sso', fullForm())).status).toBe(303);
    const first = await h.controlPlane.sso.get(tenantId);

    expect((await c.post('/settings/security/sso', fullForm({ clientSecret: '', buttonLabel: 'Acme', version: '1' }))).status).toBe(303);
    const kept = await h.controlPlane.sso.get(tenantId);
    expect(kept?.clientSecret).toBe(first?.clientSecret);
    expect(kept?.buttonLabel).toBe('Acme');
    expect((await auditOf(h, tenantId, 'sso.settings.changed'))[0]?.details).toMatchObject({ secretChanged: false });

    const toKey = await c.post(
      '/settings/security/sso',
      fullForm({ clientAuthMethod: 'private_key_jwt', clientSecret: '', privateKey: RSA_KEY, privateKeyId: 'portal-key-1', version: '2' }),
    );
    expect(toKey.status).toBe(303);
    const keyed = await h.controlPlane.sso.get(tenantId);
    expect(keyed).toMatchObject({ clientAuthMethod: 'private_key_jwt', clientSecret: undefined, privateKeyId: 'portal-key-1', version: 3 });
    expect(openSsoSecret(keyring, tenantId, 'privateKey', keyed?.privateKey ?? '')).toBe(RSA_KEY.trim());
    const raw = await rawDocument(h, tenantId);
    expect(raw).not.toContain('PRIVATE KEY');
    expect(raw).not.toContain(SECRET);
    expect((await auditOf(h, tenantId, 'sso.settings.changed'))[0]?.details).toMatchObject({ clientAuthMethod: 'private_key_jwt', secretChanged: true });
    const page = await c.get('/settings/security');
    expect(page.text).not.toContain('BEGIN PRIVATE KEY-----\n');
    expect(page.text).toMatch(/Private key, PEM <span class="hint sso-key-state">\(saved — leave empty to keep it\)/);

    const back = await c.post('/settings/security/sso', fullForm({ clientSecret: '', version: '3' }));
    expect(back.status).toBe(400);
    expect(back.text).toContain('Enter the client secret the provider created for this portal.');
    expect((await h.controlPlane.sso.get(tenantId))?.version).toBe(3);
  });

  it('shows every problem by its field with 400, keeps the typed values but never a typed secret, and audits the failure', async () => {
    const { tenantId, owner, c } = await signedInOwner();
    await c.get('/settings/security');
    const res = await c.post(
      '/settings/security/sso',
      fullForm({
        issuer: 'ftp://idp.acme.example',
        clientId: '',
        allowedDomains: 'acme.example\nnot a domain!',
        buttonLabel: 'Typed label',
        clientSecret: 'typed-secret-1234',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('Nothing was saved: correct the fields marked below.');
    expect(res.text).toContain('Enter the issuer URL of your provider, starting with https://');
    expect(res.text).toContain('Enter the client (application) ID the provider gave this portal.');
    expect(res.text).toContain('These are not domain names: not, a, domain!.');
    expect(res.text).toContain('value="ftp://idp.acme.example"');
    expect(res.text).toContain('value="Typed label"');
    expect(res.text).not.toContain('typed-secret-1234');
    expect(await h.controlPlane.sso.get(tenantId)).toBeUndefined();
    const [failed] = await auditOf(h, tenantId, 'sso.settings.change');
    expect(failed).toMatchObject({ actor: { id: owner.user.id }, outcome: 'failure', details: { reason: 'ERR_SSO_SETTINGS_INVALID' } });
    expect(String(failed?.details?.fields).split(',').sort()).toEqual(['allowedDomains', 'clientId', 'issuer']);
    expect(JSON.stringify(failed)).not.toContain('typed-secret');
  });

  it.each([
    ['a key that is not PEM', { privateKey: 'not a key' }, 'Paste the private key as PEM'],
    ['a certificate that is not PEM', { privateKey: RSA_KEY, certificate: 'not a certificate' }, 'Paste the certificate as PEM'],
    ['no key at all', { privateKey: '' }, 'Paste the private key (PEM) whose public key or certificate you registered at the provider.'],
  ])('refuses private_key_jwt with %s', async (_name, overrides, message) => {
    const { tenantId, c } = await signedInOwner();
    await c.get('/settings/security');
    const res = await c.post('/settings/security/sso', fullForm({ clientAuthMethod: 'private_key_jwt', clientSecret: '', ...overrides }));
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
    expect(await h.controlPlane.sso.get(tenantId)).toBeUndefined();
  });

  it('requires the owner’s two-factor authentication for mode required, and saves it with', async () => {
    const without = await signedInOwner({ totp: false });
    const page = await without.c.get('/settings/security');
    expect(page.text).toContain('sso-owner-two-factor');
    const refused = await without.c.post('/settings/security/sso', fullForm({ mode: 'required' }));
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Set up two-factor authentication on your own account first');
    expect(await h.controlPlane.sso.get(without.tenantId)).toBeUndefined();
    expect((await auditOf(h, without.tenantId, 'sso.settings.change'))[0]).toMatchObject({
      outcome: 'denied',
      details: { reason: 'owner-two-factor-missing' },
    });

    const withTotp = await signedInOwner();
    await withTotp.c.get('/settings/security');
    const saved = await withTotp.c.post('/settings/security/sso', fullForm({ mode: 'required' }));
    expect(saved.status).toBe(303);
    expect((await h.controlPlane.sso.get(withTotp.tenantId))?.mode).toBe('required');
    expect((await withTotp.c.get('/settings/security')).text).toContain('keeps password and two-factor authentication as the break-glass sign-in');
  });

  it('refuses a provider that cannot be reached, with its reason, and saves mode off without asking the provider', async () => {
    const { tenantId, c } = await signedInOwner();
    await c.get('/settings/security');
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const res = await c.post('/settings/security/sso', fullForm({ issuer }));
    expect(res.status).toBe(400);
    expect(res.text).toContain('The identity provider could not be used:');
    expect(res.text).toContain(`value="${issuer}"`);
    expect(await h.controlPlane.sso.get(tenantId)).toBeUndefined();
    expect((await auditOf(h, tenantId, 'sso.settings.change'))[0]).toMatchObject({
      outcome: 'failure',
      details: { reason: 'ERR_SSO_PROVIDER_UNAVAILABLE', issuer },
    });

    const off = await c.post('/settings/security/sso', fullForm({ mode: 'off', issuer }));
    expect(off.status).toBe(303);
    expect(await h.controlPlane.sso.get(tenantId)).toMatchObject({ mode: 'off', issuer, version: 1 });
    expect((await c.get('/settings/security')).text).toContain('Single sign-on is off: everyone signs in with a password.');
  });

  it('refuses an issuer on a private address when the operator’s network policy does not allow it', async () => {
    const strict = await startPortalHarness({}, { ...SSO_DEPS, destinations: testDestinations({ network: new NetworkPolicy() }) });
    try {
      const { tenantId, c } = await signedInOwner({ harness: strict });
      await c.get('/settings/security');
      const res = await c.post('/settings/security/sso', fullForm());
      expect(res.status).toBe(400);
      expect(res.text).toContain('The identity provider could not be used:');
      expect(res.text).toContain('tenant settings may not reach the operator&#39;s own machines or networks');
      expect(await strict.controlPlane.sso.get(tenantId)).toBeUndefined();
      expect((await auditOf(strict, tenantId, 'sso.settings.change'))[0]?.details).toMatchObject({ reason: 'ERR_SSO_PROVIDER_UNAVAILABLE' });
    } finally {
      await strict.close();
    }
  });

  it('refuses a save made on a version that changed meanwhile (409), and changes nothing', async () => {
    const { tenantId, c } = await signedInOwner();
    await c.get('/settings/security');
    expect((await c.post('/settings/security/sso', fullForm())).status).toBe(303);
    const stale = await c.post('/settings/security/sso', fullForm({ buttonLabel: 'Stale tab' }));
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('changed meanwhile');
    expect(stale.text).toContain('reload the page');

    const current = await h.controlPlane.sso.get(tenantId);
    const { version: _v, updatedAt: _a, updatedBy: _b, ...record } = current ?? ({} as never);
    await h.controlPlane.sso.put(tenantId, { ...record, buttonLabel: 'Elsewhere' }, { actor: 'test', expectedVersion: 1 });
    const raced = await c.post('/settings/security/sso', fullForm({ buttonLabel: 'Mine', version: '1' }));
    expect(raced.status).toBe(409);
    expect(await h.controlPlane.sso.get(tenantId)).toMatchObject({ buttonLabel: 'Elsewhere', version: 2 });
    const conflicts = await auditOf(h, tenantId, 'sso.settings.change');
    expect(conflicts.map((e) => e.details?.reason)).toEqual(['ERR_SETTINGS_CONFLICT', 'ERR_SETTINGS_CONFLICT']);
  });

  it('refuses a change more than five minutes after sign-in (403, audited), until the owner confirms their identity', async () => {
    const { tenantId, owner, c } = await signedInOwner();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    await c.get('/settings/security');
    const res = await c.post('/settings/security/sso', fullForm());
    expect(res.status).toBe(403);
    expect(res.text).toContain('Confirm your identity first');
    expect(await h.controlPlane.sso.get(tenantId)).toBeUndefined();
    expect((await auditOf(h, tenantId, 'sso.settings.change'))[0]).toMatchObject({ outcome: 'denied', details: { reason: 'reauthentication-required' } });
    vi.setSystemTime(Date.now() + 31_000);
    await c.post('/settings/security/confirm', { currentPassword: PASSWORD, code: currentCode(owner.totpSecret ?? '') });
    expect((await c.post('/settings/security/sso', fullForm())).status).toBe(303);
  });
});

describe('SSO settings: nobody but the owner changes them', () => {
  it('shows an administrator who manages users the saved state read-only, and refuses their save (403)', async () => {
    const { tenantId, c } = await signedInOwner();
    await c.get('/settings/security');
    expect((await c.post('/settings/security/sso', fullForm())).status).toBe(303);
    const before = await h.controlPlane.sso.get(tenantId);

    const admin = await h.createUser(tenantId, { capabilities: ['manage-users'] });
    const ac = h.client(tenantId);
    await ac.signIn(admin.email);
    const page = await ac.get('/settings/security');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Only the owner changes single sign-on');
    expect(page.text).not.toContain('action="/settings/security/sso"');
    expect(page.text).toContain(op.issuer);
    expect(page.text).toContain('Sign in with Acme login');
    expect(page.text).toContain(`https://${tenantId}.${PUBLIC_HOST}/sso/callback`);

    const res = await ac.post('/settings/security/sso', fullForm({ mode: 'off', version: '1' }));
    expect(res.status).toBe(403);
    expect(res.text).toContain('ERR_FORBIDDEN');
    expect(res.text).toContain('Only the owner of your organisation can do this.');
    expect(await h.controlPlane.sso.get(tenantId)).toEqual(before);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'access.denied', limit: 1 }))[0]).toMatchObject({
      actor: { id: admin.user.id },
      target: 'POST /settings/security/sso',
    });
  });
});

describe('SSO identities on the users and account pages', () => {
  async function link(tenantId: string, user: FixtureUser): Promise<void> {
    expect(
      await h.controlPlane.ssoIdentities.link({
        tenantId,
        userId: user.user.id,
        issuer: op.issuer,
        subject: `sub-${user.user.id}`,
        linkedEmail: user.email,
        linkedAt: new Date('2031-03-04T05:06:00Z'),
      }),
    ).toBe(true);
  }

  it('lets an administrator who manages users unlink an administrator’s identity, and refuses it on the owner', async () => {
    const tenantId = await h.createTenant('sso-link');
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const admin = await h.createUser(tenantId, { capabilities: ['manage-users'] });
    const target = await h.createUser(tenantId, { dataTypes: [], capabilities: [] });
    await link(tenantId, owner);
    await link(tenantId, target);
    const ac = h.client(tenantId);
    await ac.signIn(admin.email);

    const users = await ac.get('/users');
    expect(users.text.match(/user-sso-linked/g)?.length).toBe(2);
    expect(users.text).toContain(`action="/users/${target.user.id}/sso/unlink"`);
    expect(users.text).not.toContain(`action="/users/${owner.user.id}/sso/unlink"`);

    const unlinked = await ac.post(`/users/${target.user.id}/sso/unlink`, {});
    expect(unlinked.status).toBe(303);
    expect(unlinked.headers.location).toBe('/users');
    expect(await h.controlPlane.ssoIdentities.forUser(tenantId, target.user.id)).toBeUndefined();
    const after = await ac.get('/users');
    expect(after.text).toContain(`The single sign-on identity of ${target.email} was unlinked.`);
    expect(after.text.match(/user-sso-linked/g)?.length).toBe(1);
    expect((await auditOf(h, tenantId, 'sso.unlinked'))[0]).toMatchObject({
      actor: { id: admin.user.id },
      outcome: 'success',
      target: target.email,
      details: { userId: target.user.id, issuer: op.issuer },
    });

    const again = await ac.post(`/users/${target.user.id}/sso/unlink`, {});
    expect(again.status).toBe(303);
    expect((await ac.get('/users')).text).toContain('has no linked single sign-on identity');

    const onOwner = await ac.post(`/users/${owner.user.id}/sso/unlink`, {});
    expect(onOwner.status).toBe(403);
    expect(await h.controlPlane.ssoIdentities.forUser(tenantId, owner.user.id)).toBeDefined();
    expect((await auditOf(h, tenantId, 'sso.unlinked'))[0]).toMatchObject({ outcome: 'denied', details: { reason: 'target-grants-beyond-actor' } });

    const own = h.client(tenantId);
    await link(tenantId, admin);
    await own.signIn(admin.email);
    expect((await own.post(`/users/${admin.user.id}/sso/unlink`, {})).status).toBe(403);
    expect(await h.controlPlane.ssoIdentities.forUser(tenantId, admin.user.id)).toBeDefined();
  });

  it('refuses an administrator without manage-users', async () => {
    const tenantId = await h.createTenant('sso-link');
    await h.createUser(tenantId, { role: 'owner' });
    const reader = await h.createUser(tenantId, { capabilities: ['export'] });
    const target = await h.createUser(tenantId, { dataTypes: [], capabilities: [] });
    await link(tenantId, target);
    const rc = h.client(tenantId);
    await rc.signIn(reader.email);
    expect((await rc.post(`/users/${target.user.id}/sso/unlink`, {})).status).toBe(403);
    expect(await h.controlPlane.ssoIdentities.forUser(tenantId, target.user.id)).toBeDefined();
  });

  it('shows the linked identity on the account page', async () => {
    const tenantId = await h.createTenant('sso-acct');
    await h.createUser(tenantId, { role: 'owner' });
    const user = await h.createUser(tenantId, {});
    const uc = h.client(tenantId);
    await uc.signIn(user.email);
    expect((await uc.get('/account')).text).not.toContain('id="sso-identity"');
    await link(tenantId, user);
    const page = await uc.get('/account');
    expect(page.text).toContain('id="sso-identity"');
    expect(page.text).toContain(`Signed in with ${op.issuer} as <strong>${user.email}</strong>`);
    expect(page.text).toContain('2031-03-04 05:06 UTC');

    const input = parseSsoSettingsInput(
      { mode: 'optional', issuer: op.issuer, clientId: 'retention-portal', allowedDomains: 'example.com', buttonLabel: 'Acme ID' },
      { allowHttpLoopbackIssuer: true },
    );
    await h.controlPlane.sso.put(
      tenantId,
      {
        ...input,
        clientSecret: sealSsoSecret(keyring, tenantId, 'clientSecret', SECRET),
        privateKey: undefined,
        privateKeyId: undefined,
        certificate: undefined,
      },
      { actor: 'test', expectedVersion: 0 },
    );
    expect((await uc.get('/account')).text).toContain('Signed in with Acme ID as');
  });
});

describe('SSO required: the owner’s break-glass sign-in keeps its second factor', () => {
  it('refuses to turn off the owner’s two-factor authentication while SSO is required, and allows it once SSO is optional', async () => {
    const { tenantId, owner, c } = await signedInOwner();
    await c.get('/settings/security');
    expect((await c.post('/settings/security/sso', fullForm({ mode: 'required' }))).status).toBe(303);

    const account = await c.get('/account');
    expect(account.text).toContain('two-factor-break-glass');
    expect(account.text).not.toContain('action="/account/two-factor/disable"');
    const refused = await c.post('/account/two-factor/disable', { currentPassword: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('ERR_TWO_FACTOR_ENFORCED');
    expect(refused.text).toContain('break-glass sign-in');
    expect((await h.controlPlane.users.findById(tenantId, owner.user.id))?.totp).toBeDefined();
    expect((await auditOf(h, tenantId, '2fa.disable'))[0]).toMatchObject({ outcome: 'denied', details: { reason: 'sso-required-break-glass' } });

    expect((await c.post('/settings/security/sso', fullForm({ mode: 'optional', clientSecret: '', version: '1' }))).status).toBe(303);
    const disabled = await c.post('/account/two-factor/disable', { currentPassword: PASSWORD });
    expect(disabled.headers.location).toBe('/account');
    expect((await h.controlPlane.users.findById(tenantId, owner.user.id))?.totp).toBeUndefined();
  });
});
