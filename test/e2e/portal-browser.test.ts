import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { BrowserContext, Page } from 'playwright-core';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateTotp } from '../../src/auth/totp.js';
import { issueOwnerActivation } from '../../src/portal/owner-activation.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';

const ARTIFACTS = TEST_ARTIFACTS_DIR;
const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';

/** The portal's clock runs ahead of the real one by this much; the test moves it to reach the next TOTP step. */
let clockOffsetMs = 0;
const portalNow = (): number => Date.now() + clockOffsetMs;

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let dbName: string;
let context: BrowserContext;
let browser: TestChromium | undefined;
const redis = createTestRedis();
const prefix = `${uniqueName('portal-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('portal_e2e');
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Demo Contact Center' });
  portal = await startBrowserTestPortal({ controlPlane, redis, db, tenantId, redisPrefix: prefix, now: () => new Date(portalNow()) });
  baseUrl = portal.baseUrl;

  browser = await launchTestChromium();
  context = browser.context;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

async function signInWithPassword(page: Page): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', OWNER_EMAIL);
  await page.fill('#password', OWNER_PASSWORD);
  await page.click('button:has-text("Sign in")');
}

async function signOut(page: Page): Promise<void> {
  await page.click('header button:has-text("Sign out")');
  await page.waitForURL(`${baseUrl}/sign-in`);
  expect(await page.locator('.notice').innerText()).toContain('You have signed out');
}

describe('portal in a browser (Chromium)', () => {
  it('activates an owner, enrols 2FA from the manual key, signs in with a code, signs out, signs in with a backup code', async () => {
    const { link } = await issueOwnerActivation({ controlPlane, tenantId, publicUrl: baseUrl, defaultTenant: tenantId });
    const page = await context.newPage();

    await page.goto(link);
    expect((await page.locator('h1').innerText()).trim()).toBe('Activate your organisation');
    await page.fill('#email', OWNER_EMAIL);
    await page.fill('#displayName', 'Olga Owner');
    await page.fill('#password', OWNER_PASSWORD);
    await page.click('button:has-text("Create my account")');
    await page.waitForURL(`${baseUrl}/sign-in`);
    expect(await page.locator('.notice').innerText()).toContain('Your account is ready');
    await page.screenshot({ path: join(ARTIFACTS, 'portal-sign-in.png'), fullPage: true });

    await signInWithPassword(page);
    await page.waitForURL(`${baseUrl}/`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Welcome, Olga Owner');
    await page.click('nav a:has-text("Account")');
    await page.click('a:has-text("Set up two-factor authentication")');
    await page.waitForURL(`${baseUrl}/account/two-factor/setup`);
    const qrLoaded = await page.locator('img.qr').evaluate((img) => {
      const image = img as unknown as { complete: boolean; naturalWidth: number };
      return image.complete && image.naturalWidth > 0;
    });
    expect(qrLoaded).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'portal-two-factor-enrolment.png'), fullPage: true });
    const key = (await page.locator('#manual-key').innerText()).replace(/\s/g, '');
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    await page.fill('#code', generateTotp(key, { now: portalNow() }));
    await page.click('button:has-text("Turn on")');
    expect((await page.locator('h1').innerText()).trim()).toBe('Your backup codes');
    const backupCodes = (await page.locator('#backup-codes code').allInnerTexts()).map((c) => c.trim());
    expect(backupCodes).toHaveLength(10);
    await page.click('a:has-text("I have saved my codes")');
    await signOut(page);

    clockOffsetMs += 30_000;
    await signInWithPassword(page);
    await page.waitForURL(`${baseUrl}/sign-in/second-factor`);
    await page.fill('#code', generateTotp(key, { now: portalNow() }));
    await page.click('button:has-text("Verify")');
    await page.waitForURL(`${baseUrl}/`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Welcome, Olga Owner');
    await signOut(page);

    await signInWithPassword(page);
    await page.waitForURL(`${baseUrl}/sign-in/second-factor`);
    await page.fill('#code', backupCodes[0] ?? '');
    await page.click('button:has-text("Verify")');
    await page.waitForURL(`${baseUrl}/`);
    expect((await page.locator('header .who').innerText()).trim()).toBe(OWNER_EMAIL);
    await page.goto(`${baseUrl}/account`);
    expect(await page.locator('body').innerText()).toContain('Backup codes left: 9 of 10');

    expect(browser?.cspViolations).toEqual([]);
  }, 60_000);
});
