import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/auth/password-hashing.js';
import { sealSsoSecret } from '../../src/sso/sso-settings-store.js';
import { parseSsoSettingsInput } from '../../src/sso/sso-settings.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { BROWSER_TEST_KEYRING, startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { testDestinations } from '../support/destinations.js';
import { uniqueDbName } from '../support/mongo.js';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';

/**
 * Single sign-on in Chromium against a real OpenID provider on loopback: an administrator opens a deep link while
 * signed out, signs in through the provider's own page and lands on the page asked for; signing out ends the session
 * at the provider too (RP-initiated logout) and comes back to the portal.
 */

const SECRET = 'browser-portal-client-secret-0123456789';
const DOMAIN = 'acme.example';
const LABEL = 'Acme Identity';
const ADMIN = { sub: 'sub-browser-admin', email: `ada@${DOMAIN}`, email_verified: true, name: 'Ada Admin' };
const DEEP_LINK = '/audit?action=auth.login';

let portal: BrowserTestPortal | undefined;
let op: TestOidcProvider | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let dbName: string;
let browser: TestChromium | undefined;
const redis = createTestRedis();
const prefix = `${uniqueName('sso-e2e')}:`;
const tenantId = `sso-${uniqueName('t').slice(2, 8)}`;

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('sso_e2e');
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Acme Support' });
  const passwordHash = await hashPassword('granite-pelican-saffron-tunnel');
  await controlPlane.users.create(tenantId, { email: `owner@${DOMAIN}`, displayName: 'Olga Owner', role: 'owner', passwordHash });
  await controlPlane.users.create(tenantId, {
    email: ADMIN.email,
    displayName: ADMIN.name,
    role: 'administrator',
    capabilities: ['read-audit'],
    passwordHash,
  });

  portal = await startBrowserTestPortal({
    controlPlane,
    redis,
    db,
    tenantId,
    redisPrefix: prefix,
    sso: { allowHttpLoopbackIssuer: true, execute: [client.allowInsecureRequests] },
    destinations: testDestinations(),
  });
  baseUrl = portal.baseUrl;
  op = await startTestOidcProvider({
    clients: [
      {
        client_id: 'portal',
        client_secret: SECRET,
        redirect_uris: [`${baseUrl}/sso/callback`],
        post_logout_redirect_uris: [`${baseUrl}/sso/signed-out`],
      },
    ],
    accounts: [ADMIN],
  });
  const input = parseSsoSettingsInput(
    { preset: 'generic', mode: 'optional', issuer: op.issuer, clientId: 'portal', allowedDomains: DOMAIN, buttonLabel: LABEL },
    { allowHttpLoopbackIssuer: true },
  );
  await controlPlane.sso.put(
    tenantId,
    {
      ...input,
      clientSecret: sealSsoSecret(BROWSER_TEST_KEYRING, tenantId, 'clientSecret', SECRET),
      privateKey: undefined,
      privateKeyId: undefined,
      certificate: undefined,
    },
    { actor: 'test', expectedVersion: 0 },
  );
  browser = await launchTestChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await op?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

describe('single sign-on in a browser (Chromium)', () => {
  it('signs in through the provider onto the page asked for, then signs out here and at the provider', async () => {
    const page = await (browser as TestChromium).context.newPage();
    await page.goto(`${baseUrl}${DEEP_LINK}`);
    await page.waitForURL(`${baseUrl}/sign-in`);
    const ssoButton = page.locator(`a:has-text("Sign in with ${LABEL}")`);
    expect(await ssoButton.getAttribute('href')).toBe('/sso/start');

    await ssoButton.click();
    await page.waitForURL((url) => url.origin === op?.issuer && url.pathname.startsWith('/interaction/'));
    await page.fill('input[name="sub"]', ADMIN.sub);
    await page.click('button[value="login"]');

    await page.waitForURL(`${baseUrl}${DEEP_LINK}`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Audit log');
    expect(await page.locator('.who').innerText()).toBe(ADMIN.email);
    expect(await page.locator('main').innerText()).toContain('auth.login');
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, 'portal-sso-signed-in.png'), fullPage: true });
    const [login] = await controlPlane.audit.list(tenantId, { action: 'auth.login', limit: 1 });
    expect(login).toMatchObject({ outcome: 'success', details: { method: 'sso' } });

    await page.click('button:has-text("Sign out")');
    // The portal's own page moves on to the provider's logout page, which asks before ending its session.
    await page.waitForURL((url) => url.origin === op?.issuer);
    await page.click('button:has-text("Sign out")');
    await page.waitForURL((url) => url.href.startsWith(`${baseUrl}/sso/signed-out`));
    expect(await page.locator('.notice').innerText()).toContain('You have signed out, here and at your identity provider.');
    expect(await page.locator('form.signout').count(), 'no longer signed in').toBe(0);

    await page.goto(`${baseUrl}${DEEP_LINK}`);
    await page.waitForURL(`${baseUrl}/sign-in`);
    // The provider's session is gone too: its sign-in page is shown again.
    await page.locator(`a:has-text("Sign in with ${LABEL}")`).click();
    await page.waitForURL((url) => url.origin === op?.issuer && url.pathname.startsWith('/interaction/'));
    expect(await page.locator('input[name="sub"]').count()).toBe(1);

    expect(browser?.cspViolations).toEqual([]);
  }, 30_000);
});
