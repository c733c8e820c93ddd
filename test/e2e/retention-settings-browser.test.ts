import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/auth/password-hashing.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { TEST_LOCAL_TARGET_BASE_DIR, testDestinations } from '../support/destinations.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';

/**
 * The Retention settings page in Chromium (issue 16.8 and 16.9): one section per concern, only the chosen source's and
 * target's fields once retention-settings.js runs, all of them (each group saying its kind) without JavaScript, a
 * refused save that says in words what is wrong, axe-core clean at 1280 and 390 px, no CSP violation. Screenshots
 * `retention-settings-<state>-<width>.png`.
 */

const WIDTHS = [1280, 390] as const;
const OWNER_EMAIL = 'olga@retention-settings.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';
const HEADINGS = ['Mode and data types', 'Schedule', 'Source', 'Target (destination)', 'Files', 'Online archive', 'Alerts'];
/** Each group of kind-specific fields, and a field in it. */
const GROUPS = {
  demo: { group: '#source-demo-fields', field: '#source-seed' },
  http: { group: '#source-http-fields', field: '#source-url' },
  sftp: { group: '#target-sftp-fields', field: '#target-host' },
  local: { group: '#target-local-fields', field: '#target-directory' },
} as const;
type Kind = keyof typeof GROUPS;

let portal: BrowserTestPortal | undefined;
let browser: TestChromium | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let scratch: string;
const dbName = uniqueDbName('retention_settings_e2e');
const redis = createTestRedis();
const prefix = `${uniqueName('retset-e2e')}:`;
const tenantId = `rs-${uniqueName('t').slice(2, 8)}`;
/** Uncaught errors and failed loads of the portal's own assets, on every page. */
const pageProblems: string[] = [];

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Retention Settings Ltd' });
  await controlPlane.users.create(tenantId, {
    email: OWNER_EMAIL,
    displayName: 'Olga Owner',
    role: 'owner',
    dataTypes: [],
    capabilities: [],
    passwordHash: await hashPassword(OWNER_PASSWORD),
  });
  scratch = await mkdtemp(join(TEST_LOCAL_TARGET_BASE_DIR, 'retention-settings-e2e-'));
  portal = await startBrowserTestPortal({ controlPlane, redis, db, tenantId, redisPrefix: prefix, destinations: testDestinations() });
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
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  if (browser === undefined) throw new Error('Chromium did not start');
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: WIDTHS[0], height: 900 });
  page.on('pageerror', (err) => pageProblems.push(`${page.url()}: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // A refused form answers 400, which Chromium logs too: only failed loads of the portal's own assets count.
    if (/^Failed to load resource/.test(message.text()) && !new URL(message.location().url).pathname.startsWith('/assets/')) return;
    pageProblems.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

/** Signs the owner in, unless the browser's session already is (the tests share one browser profile). */
async function signIn(page: Page): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  if ((await page.locator('#email').count()) === 0) return;
  await page.fill('#email', OWNER_EMAIL);
  await page.fill('#password', OWNER_PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${baseUrl}/`);
}

/** Presses "Save retention settings" and waits for the page the save redirects to. */
async function save(page: Page): Promise<void> {
  const saved = page.waitForResponse((res) => res.request().method() === 'GET' && new URL(res.url()).pathname === '/settings/retention');
  await page.click('button:has-text("Save retention settings")');
  await saved;
  await page.waitForLoadState();
}

/** Axe's serious and critical findings on the page, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).setLegacyMode(true).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact ?? ''}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/** Which kinds' groups (and a field of each) the reader sees. */
async function visibleKinds(page: Page): Promise<Kind[]> {
  const kinds: Kind[] = [];
  for (const [kind, { group, field }] of Object.entries(GROUPS) as [Kind, (typeof GROUPS)[Kind]][]) {
    const shown = await page.locator(group).isVisible();
    expect(await page.locator(field).isVisible(), `${field} shows exactly when its group ${group} does`).toBe(shown);
    if (shown) kinds.push(kind);
  }
  return kinds;
}

/** The page's width as laid out, against the window's. */
const pageWidth = (page: Page): Promise<number> =>
  page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);

/** At both widths: nothing wider than the window, axe clean, a screenshot. Findings are soft, so one run reports all. */
async function checkWidths(page: Page, state: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    expect.soft(await pageWidth(page), `${state} at ${width} px fits the window`).toBeLessThanOrEqual(width);
    expect.soft(await seriousViolations(page), `${state} at ${width} px: axe`).toEqual([]);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `retention-settings-${state}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: WIDTHS[0], height: 900 });
}

describe('Retention settings in a browser (Chromium, 1280 and 390 px)', () => {
  it('shows one section per concern and only the chosen kinds of source and target, following the choice', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${baseUrl}/settings/retention`);
    expect(await page.locator('main h2').allInnerTexts()).toEqual(HEADINGS);
    expect(await visibleKinds(page)).toEqual(['demo', 'sftp']);
    await checkWidths(page, 'demo-sftp');

    await page.selectOption('#source-kind', 'http');
    expect(await visibleKinds(page)).toEqual(['http', 'sftp']);
    await page.selectOption('#target-kind', 'local');
    expect(await visibleKinds(page)).toEqual(['http', 'local']);
    await checkWidths(page, 'http-local');
    await page.selectOption('#source-kind', 'demo');
    expect(await visibleKinds(page)).toEqual(['demo', 'local']);

    // What was typed in a hidden group stays there, and the server ignores it: the save keeps only the chosen kinds.
    await page.fill('#source-seed', '42');
    await page.selectOption('#target-kind', 'sftp');
    await page.fill('#target-port', 'not a port');
    await page.selectOption('#target-kind', 'local');
    await page.fill('#target-directory', join(scratch, 'with-js'));
    await save(page);
    expect(await page.locator('.notice-success').innerText()).toContain('The retention settings were saved');
    expect(await visibleKinds(page)).toEqual(['demo', 'local']);
    const saved = await controlPlane.settings.requireRetention(tenantId);
    expect(saved.value.source).toMatchObject({ kind: 'demo', seed: 42 });
    expect(saved.value.target).toEqual({ kind: 'local', directory: join(scratch, 'with-js') });
    await page.close();
  }, 120_000);

  it('says in words what is wrong with a refused save, next to each field and above the form', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${baseUrl}/settings/retention`);
    await page.fill('#schedule-cron', 'every day');
    await page.fill('#files-max-bytes', '10');
    await page.selectOption('#target-kind', 'local');
    await page.fill('#target-directory', 'relative/dir');
    await page.click('button:has-text("Save retention settings")');
    await page.locator('.problem-summary').waitFor();
    const summary = await page.locator('.problem-summary').innerText();
    expect(summary).toContain('Cron expression: "every day" is not accepted; enter five fields separated by spaces');
    expect(summary).toContain('At most this many bytes per file: "10" is not accepted; enter a whole number from 1024 to 4294967296');
    expect(summary).toContain('Local directory: "relative/dir" is not accepted; enter an absolute directory path');
    expect(summary).not.toMatch(/Invalid input|expected|Too (big|small)/);
    expect(await page.locator('#schedule-cron').getAttribute('aria-describedby')).toBe('schedule-cron-error');
    expect(await page.locator('#schedule-cron-error').innerText()).toContain('Cron expression: "every day" is not accepted');
    expect(await visibleKinds(page)).toEqual(['demo', 'local']);
    await checkWidths(page, 'refused');
    await page.click('.problem-summary a:has-text("Local directory")');
    expect(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).toBe('#target-directory');
    await page.close();
  }, 120_000);

  it('works without JavaScript: every group shows, saying its kind, and the form saves', async () => {
    const page = await newPage();
    await signIn(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.goto(`${baseUrl}/settings/retention`);
    expect(await page.locator('main h2').allInnerTexts()).toEqual(HEADINGS);
    expect(await visibleKinds(page)).toEqual(['demo', 'http', 'sftp', 'local']);
    expect(await page.locator('#source-http-fields > legend').innerText()).toContain('(used when "Where records come from" is');
    expect(await page.locator('#target-sftp-fields > legend').innerText()).toContain('(used when "Where drops are delivered" is "SFTP server")');

    await page.selectOption('#source-kind', 'http');
    await page.fill('#source-url', 'https://export.example.com/api');
    await page.fill('#source-token', 'typed-token-Wq5');
    await page.fill('#target-host', 'bad host!');
    await page.selectOption('#target-kind', 'local');
    await page.fill('#target-directory', join(scratch, 'without-js'));
    await save(page);
    expect(await page.locator('.notice-success').innerText()).toContain('The retention settings were saved');
    const saved = await controlPlane.settings.requireRetention(tenantId);
    expect(saved.value.source).toMatchObject({ kind: 'http', baseUrl: 'https://export.example.com/api', pageSize: 500 });
    expect(saved.value.target).toEqual({ kind: 'local', directory: join(scratch, 'without-js') });
    expect(await visibleKinds(page)).toEqual(['demo', 'http', 'sftp', 'local']);

    // axe runs as a script in the page: it is let in once the page has loaded without the page's own scripts.
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: false });
    expect(await visibleKinds(page)).toEqual(['demo', 'http', 'sftp', 'local']);
    await checkWidths(page, 'no-javascript');
    await page.close();
  }, 120_000);

  it('reports no CSP violation and no script error on any page', () => {
    expect(browser?.cspViolations).toEqual([]);
    expect(pageProblems).toEqual([]);
  });
});
