import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SmtpMailTransport } from '../../src/mail/smtp-mail-transport.js';
import { issueOwnerActivation } from '../../src/portal/owner-activation.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { startMailFixture, type MailFixture } from '../integration/mail/mail-fixture.js';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { uniqueDbName } from '../support/mongo.js';
import { pollUntil } from '../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp-server.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';

/**
 * A forgotten password reset in Chromium from the link in a message really received: the real outbox, a real mail
 * worker and the test SMTP server (STARTTLS, its own certificate), on a portal served for the browser.
 */

const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_NAME = 'Olga Owner';
const OLD_PASSWORD = 'granite-pelican-saffron-tunnel';
const NEW_PASSWORD = 'harbour-quiver-maple-thistle';
const TENANT_NAME = 'Demo Contact Center';

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let dbName: string;
let browser: TestChromium | undefined;
let smtp: TestSmtpServer | undefined;
let fx: MailFixture | undefined;
const redis = createTestRedis();
const prefix = `${uniqueName('reset-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('reset_e2e');
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: TENANT_NAME });

  smtp = await startTestSmtpServer();
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 }, { tenants: { get: (id) => controlPlane.tenants.get(id) }, portalUrlOf: () => baseUrl });
  fx.startWorker(new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca }));
  portal = await startBrowserTestPortal({ controlPlane, redis, db, tenantId, redisPrefix: prefix, mail: fx.outbox });
  baseUrl = portal.baseUrl;

  browser = await launchTestChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await fx?.close();
  await smtp?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

/** Waits for the one message to `to` with that subject on the SMTP server. */
async function receivedMail(to: string, subject: string): Promise<ReceivedMail> {
  const matching = await pollUntil(
    `"${subject}" received for ${to}`,
    async () => (smtp?.received ?? []).filter((m) => m.subject === subject && m.recipients.includes(to)),
    (list) => list.length > 0,
    15_000,
  );
  expect(matching).toHaveLength(1);
  const mail = matching[0] as ReceivedMail;
  expect(mail.recipients).toEqual([to]);
  expect(mail.headers.get('to')).toBe(to);
  expect(mail.secure).toBe(true);
  return mail;
}

async function signIn(page: Page, password: string): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', OWNER_EMAIL);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
}

describe('password reset in a browser (Chromium)', () => {
  it('resets a forgotten password from the mailed link, then signs in with the new password only', async () => {
    const { link: activation } = await issueOwnerActivation({ controlPlane, tenantId, publicUrl: baseUrl, defaultTenant: tenantId });
    const page = await (browser as TestChromium).context.newPage();
    await page.goto(activation);
    await page.fill('#email', OWNER_EMAIL);
    await page.fill('#displayName', OWNER_NAME);
    await page.fill('#password', OLD_PASSWORD);
    await page.click('button:has-text("Create my account")');
    await page.waitForURL(`${baseUrl}/sign-in`);

    await page.click('a:has-text("Forgot password?")');
    await page.waitForURL(`${baseUrl}/forgot-password`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Forgot your password?');
    await page.fill('#email', OWNER_EMAIL);
    await page.click('button:has-text("Send me a link")');
    expect(await page.locator('.notice').innerText()).toContain('If an account exists for that address, we have sent a link to it.');

    const resetMail = await receivedMail(OWNER_EMAIL, `Reset your Retention password for ${TENANT_NAME}`);
    expect(resetMail.text).toContain(`Hello ${OWNER_NAME},`);
    const escapedBase = baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const link = new RegExp(`${escapedBase}/reset-password\\?token=[A-Za-z0-9_-]+`).exec(resetMail.text)?.[0];
    expect(link, resetMail.text).toBeDefined();

    await page.goto(link ?? '');
    await page.waitForURL(`${baseUrl}/reset-password`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Reset your password');
    expect(await page.locator('body').innerText()).toContain(OWNER_EMAIL);
    expect(await page.locator('#code').count(), 'no second factor asked without 2FA').toBe(0);
    await page.fill('#newPassword', NEW_PASSWORD);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, 'portal-password-reset.png'), fullPage: true });
    await page.click('button:has-text("Change password")');
    await page.waitForURL(`${baseUrl}/sign-in`);
    expect(await page.locator('.notice').innerText()).toContain('Sign in with your new password');

    const changedMail = await receivedMail(OWNER_EMAIL, `Your Retention password for ${TENANT_NAME} was changed`);
    expect(changedMail.text).toContain(`Hello ${OWNER_NAME},`);
    expect(changedMail.text).not.toContain(NEW_PASSWORD);

    await signIn(page, OLD_PASSWORD);
    await page.waitForURL(`${baseUrl}/sign-in`);
    expect(await page.locator('.notice-error').count(), 'the old password is refused').toBe(1);

    await signIn(page, NEW_PASSWORD);
    await page.waitForURL(`${baseUrl}/`);
    expect((await page.locator('h1').innerText()).trim()).toBe(`Welcome, ${OWNER_NAME}`);

    expect(browser?.cspViolations).toEqual([]);
  }, 30_000);
});
