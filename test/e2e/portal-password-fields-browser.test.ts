import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueOwnerActivation } from '../../src/portal/owner-activation.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';

const OWNER_EMAIL = 'olga@pw-fields.example';
const OWNER_PASSWORD = 'granite heron saffron tunnel lantern';
const MIN_LENGTH = 14;

let portal: BrowserTestPortal | undefined;
let browser: TestChromium | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let dbName: string;
const redis = createTestRedis();
const prefix = `${uniqueName('pw-e2e')}:`;
const tenantId = `pw-${uniqueName('t').slice(2, 8)}`;
/** Uncaught errors and console errors of every page (a CSP refusal is also a console error). */
const pageProblems: string[] = [];

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('pw_e2e');
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Password Fields Ltd' });
  await controlPlane.security.setPasswordPolicy(tenantId, { minLength: MIN_LENGTH, blockedWords: ['pelican'] }, 'test');
  portal = await startBrowserTestPortal({ controlPlane, redis, db, tenantId, redisPrefix: prefix });
  baseUrl = portal.baseUrl;
  browser = await launchTestChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

async function newPage(): Promise<Page> {
  if (browser === undefined) throw new Error('Chromium did not start');
  const page = await browser.context.newPage();
  page.on('pageerror', (err) => pageProblems.push(`${page.url()}: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    // Pages answered with 400 or 401 (a refused form, a failed sign-in) and the missing favicon are logged too: only
    // failed loads of our own assets count.
    if (/^Failed to load resource/.test(message.text()) && !new URL(message.location().url).pathname.startsWith('/assets/')) return;
    pageProblems.push(`${page.url()}: ${message.text()} (${message.location().url})`);
  });
  return page;
}

/** Fills the password field and waits until the meter says `text` (the list of common passwords loads lazily). */
async function meterAfter(page: Page, field: string, password: string, text: string): Promise<{ text: string; score: string | null }> {
  await page.fill(field, password);
  const meter = page.locator(`${field}-strength`);
  await meter.locator('.strength-text', { hasText: text }).waitFor({ timeout: 5_000 });
  return { text: await meter.locator('.strength-text').innerText(), score: await meter.getAttribute('data-score') };
}

const typeOf = (page: Page, field: string): Promise<string | null> => page.locator(field).getAttribute('type');

describe('password fields in a browser (Chromium)', () => {
  it('ASVS 2.1.8: the meter on owner activation follows the typing and the tenant policy', async () => {
    const { link } = await issueOwnerActivation({ controlPlane, tenantId, publicUrl: baseUrl, defaultTenant: tenantId });
    const page = await newPage();
    await page.goto(link);
    expect(await page.locator('#password-strength').isVisible()).toBe(true);
    expect(await page.locator('#password-requirements').innerText()).toContain(`At least ${MIN_LENGTH} characters.`);

    await page.locator('#password').pressSequentially('lantern');
    const short = await meterAfter(page, '#password', 'lantern', 'Too short');
    expect(short.text).toContain(`at least ${MIN_LENGTH} characters (7 so far)`);
    expect(short.score).toBe('0');

    const common = await meterAfter(page, '#password', 'passwordpassword', 'Common password');
    expect(common.score).toBe('0');
    expect((await meterAfter(page, '#password', '!Password1234!!', 'Common password')).score).toBe('0');

    await page.fill('#displayName', 'Olga Owner');
    expect((await meterAfter(page, '#password', 'olga-ferry-lantern-orbit', 'Easy to guess')).text).toContain('"olga"');
    expect((await meterAfter(page, '#password', 'my-pelican-lantern-orbit', 'Easy to guess')).text).toContain('"pelican"');

    expect((await meterAfter(page, '#password', 'sunflowergarden', 'Weak')).score).toBe('1');
    const strong = await meterAfter(page, '#password', OWNER_PASSWORD, 'Strong');
    expect(strong.score).toBe('4');
    expect(strong.text).not.toMatch(/digit|symbol|capital/i);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, 'portal-password-meter.png'), fullPage: true });

    await page.fill('#email', OWNER_EMAIL);
    await page.click('button:has-text("Create my account")');
    await page.waitForURL(`${baseUrl}/sign-in`);
    await page.close();
  }, 60_000);

  it('ASVS 2.1.12: "Show password" switches the type and back, by mouse and keyboard, and sends nothing', async () => {
    const page = await newPage();
    const requests: Request[] = [];
    await page.goto(`${baseUrl}/sign-in`);
    page.on('request', (request) => requests.push(request));
    const toggle = page.locator('button.show-password[aria-controls="password"]');
    expect(await toggle.isVisible()).toBe(true);
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');

    await page.fill('#email', OWNER_EMAIL);
    await page.fill('#password', OWNER_PASSWORD);
    await toggle.click();
    expect(await typeOf(page, '#password')).toBe('text');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await page.inputValue('#password')).toBe(OWNER_PASSWORD);
    await toggle.click();
    expect(await typeOf(page, '#password')).toBe('password');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');

    await toggle.focus();
    await page.keyboard.press('Space');
    expect(await typeOf(page, '#password')).toBe('text');
    await page.keyboard.press('Enter');
    expect(await typeOf(page, '#password')).toBe('password');
    expect(requests.map((r) => r.url())).toEqual([]);

    await toggle.click();
    await page.click('button:has-text("Sign in")');
    await page.waitForURL(`${baseUrl}/`);
    const sent = requests.filter((r) => r.postData()?.includes(encodeURIComponent(OWNER_PASSWORD).replace(/%20/g, '+')));
    expect(sent.map((r) => `${r.method()} ${new URL(r.url()).pathname}`)).toEqual(['POST /sign-in']);

    await page.goto(`${baseUrl}/account/password`);
    expect(await page.locator('#currentPassword-strength').count()).toBe(0);
    expect(await page.locator('button.show-password').count()).toBe(2);
    await page.fill('#currentPassword', OWNER_PASSWORD);
    await page.click('button.show-password[aria-controls="currentPassword"]');
    expect(await typeOf(page, '#currentPassword')).toBe('text');
    expect((await meterAfter(page, '#newPassword', 'olga-ferry-lantern-orbit', 'Easy to guess')).text).toContain('"olga"');
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, 'portal-password-change.png'), fullPage: true });
    // A listener added after the script's own sees the type the form is submitted with, and keeps the page.
    await page.locator('#currentPassword').evaluate((element) => {
      type Submit = { preventDefault(): void };
      const input = element as unknown as {
        type: string;
        form: { dataset: Record<string, string>; addEventListener(type: 'submit', listener: (event: Submit) => void): void };
      };
      input.form.addEventListener('submit', (event) => {
        event.preventDefault();
        input.form.dataset.typeAtSubmit = input.type;
      });
    });
    await page.fill('#newPassword', 'quiet orchard lantern sixty');
    await page.click('button:has-text("Change password")');
    await page.locator('form[data-type-at-submit]').waitFor();
    expect(await page.locator('form[data-type-at-submit]').getAttribute('data-type-at-submit')).toBe('password');
    await page.close();
  }, 60_000);

  it('forms work without JavaScript: no toggle or meter, the requirements as text, the server names the problem', async () => {
    const invited = await controlPlane.users.create(tenantId, { email: 'ines@pw-fields.example', displayName: 'Ines Invited', role: 'administrator' });
    const { token } = await controlPlane.activationTokens.issue(tenantId, { purpose: 'invitation', subject: invited.id, createdBy: 'test' });
    const page = await newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.goto(`${baseUrl}/invitation/${token}`);
    expect(await page.locator('button.show-password').isVisible()).toBe(false);
    expect(await page.locator('#password-strength').isVisible()).toBe(false);
    expect(await page.locator('#password-requirements').innerText()).toContain(`At least ${MIN_LENGTH} characters.`);
    await page.fill('#password', 'my-pelican-lantern-orbit');
    await page.click('button:has-text("Create my account")');
    await page.waitForLoadState();
    expect(await page.locator('.notice-error').innerText()).toContain('does not contain "pelican"');

    await cdp.send('Emulation.setScriptExecutionDisabled', { value: false });
    await page.goto(`${baseUrl}/invitation/${token}`);
    expect(await page.locator('button.show-password').isVisible()).toBe(true);
    expect((await meterAfter(page, '#password', 'ines-lantern-orbit-zebra', 'Easy to guess')).text).toContain('"ines"');
    await page.close();
  }, 60_000);

  it('reports no CSP violation and no script error on any page', () => {
    expect(browser?.cspViolations).toEqual([]);
    expect(pageProblems).toEqual([]);
  });
});
