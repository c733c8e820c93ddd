import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { principalOf } from '../../src/access/principal.js';
import { hashPassword } from '../../src/auth/password-hashing.js';
import { generateTotp } from '../../src/auth/totp.js';
import type { CallLog } from '../../src/records/call-log-schema.js';
import type { Chat } from '../../src/records/chat-schema.js';
import type { Contact } from '../../src/records/contact-schema.js';
import { generateRecords } from '../../src/records/demo-generator.js';
import type { RecordType } from '../../src/records/record-type.js';
import { ResultExportsStore } from '../../src/results-export/result-exports-store.js';
import { createResultsExportQueue, type ResultsExportJobData } from '../../src/results-export/results-export-queue.js';
import { ResultsExportService } from '../../src/results-export/results-export-service.js';
import { ArchiveDatabases } from '../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../src/store/archive/archive-writer.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { seriousAxeFindings } from '../support/axe-findings.js';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';

/**
 * Layout and accessibility of every page type (issue: portal UX), at a desktop width and a phone width: no page is
 * wider than the window, the owner's menu is one line on a desktop and folds behind "Menu" (a `<details>`, no
 * JavaScript) on a phone, tables scroll inside their own box, forms are one column on a phone, every page has a skip
 * link and marks its menu item, and axe-core finds nothing serious or critical. The filters of the lists and the audit
 * log fold behind "Filters" on a phone until one is set, and every date field reads the same. Screenshots
 * `<page>-<width>.png`.
 */

const WIDE = 1280;
const PHONE = 390;
const WIDTHS = [WIDE, PHONE] as const;
/** The menu's toggle: the summary of a <details>, so that it opens and closes without JavaScript. */
const MENU_TOGGLE = 'header details.menu > summary.menu-toggle';
/** The toggle of a list's filters, a <details> too. */
const FILTERS_TOGGLE = 'main details.filters-toggle > summary';
const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';
const ADMIN_EMAIL = 'cora@demo-contact.example';
const ADMIN_PASSWORD = 'lantern-orchid-basalt-meadow';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 8 * HOUR_MS);
const TO = new Date(FROM.getTime() + 2 * HOUR_MS);
/** Twelve addresses of the kind that made the Emails column 888 px wide. */
const LONG_EMAILS = Array.from({ length: 12 }, (_, i) => ({
  type: 'work' as const,
  value: `customer.relations.escalations.team-${i + 1}+archive-retention@subsidiary-${i + 1}.international-holdings.example.com`,
}));
/** Audit details the way a settings change writes them: one long JSON value without a space, and a long address. */
const LONG_DETAILS = {
  changed: JSON.stringify({
    schedule: { cron: '*/15 * * * *', timezone: 'Europe/Amsterdam' },
    target: { kind: 'sftp', host: 'sftp-archive-primary.eu-west-1.retention.internal.example.net', port: 2222, root: '/srv/retention/drops/tenant' },
    files: { format: 'ndjson', gzip: true, maxRecords: 50000, maxBytes: 104857600 },
    dataTypes: ['call-logs', 'chats', 'contacts'],
  }).replace(/ /g, ''),
  source: 'https://export-api.contact-platform.example.com/v2/tenants/demo-contact-center/exports?cursor=eyJwYWdlIjoxMjM0NTY3ODkwfQ',
  note: 'settings saved after a successful connection test with the pinned host key',
};

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let archives: ArchiveDatabases | undefined;
let browser: TestChromium | undefined;

/** A new tab of the test browser, at the desktop width. */
async function newPage(): Promise<Page> {
  if (browser === undefined) throw new Error('the browser did not start');
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: WIDE, height: 900 });
  return page;
}
let exportQueue: Queue<ResultsExportJobData> | undefined;
let calls: CallLog[];
let chats: Chat[];
let manyEmails: Contact;
let exportId: string;
const dbName = uniqueDbName('portal_layout_e2e');
const importsDbName = uniqueDbName('portal_layout_e2e_imports');
const redis = createTestRedis();
const prefix = `${uniqueName('portal-layout-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

const gen = <T extends RecordType>(type: T, perHour: number, seed: number) => [
  ...generateRecords({ seed, tenantId, type, from: FROM, to: TO, ratesPerHour: { [type]: perHour } }),
];

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Demo Contact Center' });
  const owner = await controlPlane.users.create(tenantId, {
    email: OWNER_EMAIL,
    displayName: 'Olga Owner',
    role: 'owner',
    dataTypes: [],
    capabilities: [],
    passwordHash: await hashPassword(OWNER_PASSWORD),
  });
  await controlPlane.users.create(tenantId, {
    email: ADMIN_EMAIL,
    displayName: 'Cora Chats',
    role: 'administrator',
    dataTypes: ['chats'],
    capabilities: [],
    passwordHash: await hashPassword(ADMIN_PASSWORD),
  });

  archives = new ArchiveDatabases({ client: mongo, prefix: `pl${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  calls = gen('call-logs', 10, 31);
  chats = gen('chats', 6, 32);
  const [first, ...contacts] = gen('contacts', 8, 33);
  if (first === undefined) throw new Error('the demo generator made no contact');
  manyEmails = { ...first, displayName: 'Customer Relations International Holdings', emails: LONG_EMAILS };
  const writer = new ArchiveWriter(await archives.forTenant(tenantId), tenantId, `${tenantId}/manifest-layout.json`);
  for (const call of calls) await writer.add('call-logs', call);
  for (const chat of chats) await writer.add('chats', chat);
  for (const contact of [manyEmails, ...contacts]) await writer.add('contacts', contact);
  await writer.finish();
  const archive = new ArchiveStore(archives);
  await archive.ensureIndexes(tenantId);
  await seedRuns();
  await controlPlane.audit.append(tenantId, {
    actor: { type: 'user', id: owner.id },
    action: 'settings.retention.updated',
    outcome: 'success',
    target: 'settings/retention',
    ip: '2001:db8:85a3:1234:5678:8a2e:370:7334',
    details: LONG_DETAILS,
  });

  const exportsStore = new ResultExportsStore(db);
  await exportsStore.ensureIndexes();
  exportQueue = createResultsExportQueue(redis, `${prefix}exports`);
  const resultsExport = new ResultsExportService({ exports: exportsStore, queue: exportQueue, audit: controlPlane.audit });
  exportId = (await resultsExport.request(principalOf(owner), { type: 'contacts', format: 'csv', filter: {} })).id;

  portal = await startBrowserTestPortal({
    controlPlane,
    redis,
    db,
    tenantId,
    redisPrefix: prefix,
    archive,
    archiveImports: new ArchiveImportsStore(mongo.db(importsDbName)),
    resultsExport,
  });
  baseUrl = portal.baseUrl;
  browser = await launchTestChromium();
}, 60_000);

/** Retention settings and three runs (delivered, failed, running) for the jobs pages and the dashboard. */
async function seedRuns(): Promise<void> {
  await controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'online',
      dataTypes: ['call-logs', 'chats', 'contacts'],
      schedule: { cron: '*/15 * * * *', timezone: 'UTC' },
      source: { kind: 'demo', seed: 1 },
      target: { kind: 'local', directory: '/srv/drop' },
    },
    { actor: 'test' },
  );
  const windows = { 'call-logs': { from: new Date(TO.getTime() - HOUR_MS), to: TO }, chats: { from: new Date(TO.getTime() - HOUR_MS), to: TO } };
  const run = (id: string, at: Date, chunkCount: number) =>
    controlPlane.runs.createIfAbsent({ id, tenantId, trigger: 'schedule', windows, previous: null, chunkCount, createdAt: at });
  await run('run-done', new Date(TO.getTime() - 3 * HOUR_MS), 2);
  await controlPlane.runs.markDone(tenantId, 'run-done', {
    manifest: { runId: 'run-done', path: `${tenantId}/2026/11/21/manifest-run-done.json`, sha256: 'c'.repeat(64) },
    files: [],
    totals: {
      'call-logs': { records: calls.length, rejected: 1, files: 1, bytes: 48_211 },
      chats: { records: chats.length, rejected: 0, files: 1, bytes: 91_004 },
    },
  });
  await run('run-failed', new Date(TO.getTime() - 2 * HOUR_MS), 2);
  await controlPlane.runs.recordChunkDone(tenantId, 'run-failed', { type: 'chats', index: 0, records: 7, rejected: 0, bytes: 20_480 });
  await controlPlane.runs.markFailed(tenantId, 'run-failed', {
    code: 'ERR_SFTP_UNREACHABLE',
    message: 'the SFTP server sftp-archive-primary.eu-west-1.retention.internal.example.net:22 did not answer within 20 s',
  });
  await run('run-running', new Date(TO.getTime() - HOUR_MS), 4);
  await controlPlane.runs.recordChunkDone(tenantId, 'run-running', { type: 'call-logs', index: 0, records: 600, rejected: 0, bytes: 512_000 });
}

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await exportQueue?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  if (archives) await (await archives.forTenant(tenantId)).dropDatabase();
  await archives?.close();
  await mongo?.db(importsDbName).dropDatabase();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

/** One page of the portal to check: its artifact name, its path, and the menu item it belongs to (none: no menu or no item). */
interface PageCase {
  name: string;
  /** Where to go; absent: the page the browser shows (the answer to a form). */
  path?: string;
  current?: string;
  /** The status the page answers with (default 200). */
  status?: number;
}

const firstHref = async (page: Page, selector: string): Promise<string> => {
  const href = await page.locator(selector).first().getAttribute('href');
  if (href === null) throw new Error(`no link ${selector} on ${page.url()}`);
  return href;
};

async function menuIsOpen(page: Page): Promise<boolean> {
  return page.locator('header nav.nav').isVisible();
}

/** Opens the menu when it is folded (phone width), so that its links and "Sign out" can be clicked. */
async function openMenu(page: Page): Promise<void> {
  if (!(await menuIsOpen(page))) await page.click(MENU_TOGGLE);
}

async function signIn(page: Page, email: string, password: string, landing = '/'): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${baseUrl}${landing}`);
}

async function signOut(page: Page): Promise<void> {
  await openMenu(page);
  await page.click('header button:has-text("Sign out")');
  await page.waitForURL(`${baseUrl}/sign-in`);
}

/** The few parts of the DOM the in-page checks read (the tests compile without TypeScript's DOM library). */
interface PageBox {
  top: number;
  bottom: number;
  right: number;
  width: number;
  height: number;
}
interface PageElement {
  tagName: string;
  className: string;
  textContent: string | null;
  classList: { contains(name: string): boolean };
  closest(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): PageBox;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
interface PageDocument {
  documentElement: { clientWidth: number; scrollWidth: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getElementById(id: string): PageElement | null;
}

/** The page's width as the browser lays it out, and the elements that stick out past the window's right edge. */
async function overflow(page: Page): Promise<{ scrollWidth: number; offenders: string[] }> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: PageDocument }).document;
    const width = doc.documentElement.clientWidth;
    const offenders: string[] = [];
    for (const element of Array.from(doc.querySelectorAll('body *'))) {
      if (element.closest('.table-scroll') !== null && !element.classList.contains('table-scroll')) continue;
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 1) {
        const classes = element.className ? `.${String(element.className).trim().replace(/\s+/g, '.')}` : '';
        offenders.push(`${element.tagName.toLowerCase()}${classes} (right ${Math.round(box.right)})`);
      }
    }
    return { scrollWidth: doc.documentElement.scrollWidth, offenders: offenders.slice(0, 8) };
  });
}

/** Tables outside a scroll box, scroll boxes the keyboard cannot reach, no skip link, and forms in several columns on a phone. */
async function layoutProblems(page: Page, width: number): Promise<string[]> {
  return page.evaluate((phone) => {
    const doc = (globalThis as unknown as { document: PageDocument }).document;
    const problems: string[] = [];
    for (const table of Array.from(doc.querySelectorAll('main table'))) {
      const box = table.closest('.table-scroll');
      if (box === null) problems.push(`a table (${table.querySelector('th')?.textContent?.trim() ?? ''}…) is not inside a .table-scroll box`);
      else if (box.getAttribute('tabindex') !== '0' || !(box.getAttribute('aria-label') ?? box.getAttribute('aria-labelledby')))
        problems.push('a .table-scroll box is not focusable or has no label');
    }
    const skip = doc.querySelector('body > a.skip-link');
    if (skip === null || skip.getAttribute('href') !== '#main' || doc.getElementById('main')?.tagName !== 'MAIN')
      problems.push('no skip link to <main id="main"> first in the body');
    if (phone) {
      for (const form of Array.from(doc.querySelectorAll('main form'))) {
        const fields = Array.from(form.querySelectorAll('input, select, textarea'))
          .filter((field) => !['hidden', 'checkbox', 'radio'].includes(field.getAttribute('type') ?? ''))
          .map((field) => field.getBoundingClientRect())
          .filter((box) => box.width > 0 && box.height > 0);
        fields.forEach((below, i) => {
          const above = fields[i - 1];
          if (above !== undefined && below.top < above.bottom - 1) problems.push(`form ${form.getAttribute('action') ?? ''} has fields side by side`);
        });
      }
    }
    return [...new Set(problems)];
  }, width === PHONE);
}

/**
 * Checks the page shown at both widths (overflow, menu, tables, forms, skip link, axe) and saves its screenshots.
 * Findings are soft: one run reports every page's problems.
 */
async function checkPage(page: Page, pageCase: PageCase, signedIn: boolean): Promise<void> {
  if (pageCase.path !== undefined) {
    const response = await page.goto(`${baseUrl}${pageCase.path}`);
    expect.soft(response?.status(), `${pageCase.name}: status`).toBe(pageCase.status ?? 200);
  }
  if (signedIn) {
    const current = await page.locator('header nav.nav a[aria-current="page"]').allInnerTexts();
    expect.soft(current, `${pageCase.name}: the menu item marked aria-current="page"`).toEqual(pageCase.current === undefined ? [] : [pageCase.current]);
  }
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const { scrollWidth, offenders } = await overflow(page);
    expect.soft(scrollWidth, `${pageCase.name} at ${width} px is ${scrollWidth} px wide; sticking out: ${offenders.join(', ')}`).toBeLessThanOrEqual(width);
    expect.soft(await layoutProblems(page, width), `${pageCase.name} at ${width} px`).toEqual([]);
    if (signedIn && width === WIDE) {
      const nav = await page.locator('header nav.nav').boundingBox();
      const link = await page.locator('header nav.nav a').first().boundingBox();
      expect.soft(nav !== null && link !== null && nav.height < link.height * 1.5, `${pageCase.name}: the menu is one line at ${WIDE} px`).toBe(true);
      expect.soft(await page.locator('header button:has-text("Sign out")').isVisible(), `${pageCase.name}: "Sign out" shows at ${WIDE} px`).toBe(true);
    }
    if (signedIn && width === PHONE) {
      expect.soft(await menuIsOpen(page), `${pageCase.name}: the menu is folded at ${PHONE} px`).toBe(false);
      expect.soft(await page.locator(MENU_TOGGLE).isVisible(), `${pageCase.name}: the Menu toggle shows at ${PHONE} px`).toBe(true);
    }
    expect.soft(await seriousAxeFindings(page), `${pageCase.name} at ${width} px: axe`).toEqual([]);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `${pageCase.name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: WIDE, height: 900 });
}

describe('portal layout and accessibility in a browser (Chromium, 1280 and 390 px)', () => {
  it('every page of the owner fits both widths, with a one-line menu on a desktop and a folding one on a phone', async () => {
    const page = await newPage();
    await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
    await page.goto(`${baseUrl}/call-logs`);
    const callHref = await firstHref(page, 'main a[href^="/call-logs/"]');
    await page.goto(`${baseUrl}/chats`);
    const chatHref = await firstHref(page, 'main a[href^="/chats/"]');
    const contactHref = `/contacts/${encodeURIComponent(manyEmails.id)}`;
    const cases: PageCase[] = [
      { name: 'dashboard', path: '/', current: 'Dashboard' },
      { name: 'call-logs', path: '/call-logs', current: 'Call logs' },
      { name: 'call-log', path: callHref, current: 'Call logs' },
      { name: 'chats', path: '/chats', current: 'Chats' },
      { name: 'chat', path: chatHref, current: 'Chats' },
      { name: 'contacts', path: '/contacts', current: 'Contacts' },
      { name: 'contact', path: contactHref, current: 'Contacts' },
      { name: 'exports', path: '/exports', current: 'Exports' },
      { name: 'export', path: `/exports/${exportId}`, current: 'Exports' },
      { name: 'account', path: '/account', current: 'Account' },
      { name: 'sessions', path: '/account/sessions', current: 'Account' },
      { name: 'password', path: '/account/password', current: 'Account' },
      { name: 'two-factor-setup', path: '/account/two-factor/setup', current: 'Account' },
      { name: 'users', path: '/users', current: 'Users' },
      { name: 'outbox', path: '/outbox', current: 'Outbox' },
      { name: 'security', path: '/settings/security', current: 'Security' },
      { name: 'jobs', path: '/jobs', current: 'Jobs' },
      { name: 'job', path: '/jobs/run-failed', current: 'Jobs' },
      { name: 'retention', path: '/settings/retention', current: 'Retention' },
      { name: 'audit', path: '/audit', current: 'Audit log' },
      { name: 'not-found', path: '/no-such-page', status: 404 },
    ];
    for (const pageCase of cases) await checkPage(page, pageCase, true);

    await page.goto(`${baseUrl}/contacts`);
    const emails = await page.locator('main table tbody tr', { hasText: manyEmails.displayName }).locator('td.emails').boundingBox();
    expect.soft(emails !== null && emails.width <= 360, `the Emails column is ${emails?.width ?? 0} px wide`).toBe(true);
    const contactsBox = await page
      .locator('main .table-scroll')
      .first()
      .evaluate((box) => {
        const { scrollWidth, clientWidth } = box as unknown as { scrollWidth: number; clientWidth: number };
        return { scroll: scrollWidth, client: clientWidth };
      });
    expect.soft(contactsBox.scroll, 'the contacts table fits its box at 1280 px').toBeLessThanOrEqual(contactsBox.client);
    await page.goto(`${baseUrl}/audit`);
    const details = await page.locator('main table tbody tr', { hasText: 'settings.retention.updated' }).locator('td.details').boundingBox();
    expect.soft(details !== null && details.width >= 200, `audit details are ${details?.width ?? 0} px wide (not letter by letter)`).toBe(true);

    await page.setViewportSize({ width: PHONE, height: 900 });
    await page.goto(`${baseUrl}/`);
    expect(await menuIsOpen(page)).toBe(false);
    await page.click(MENU_TOGGLE);
    expect(await menuIsOpen(page)).toBe(true);
    expect(await page.locator('header nav.nav a[aria-current="page"]').innerText()).toBe('Dashboard');
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `dashboard-menu-${PHONE}.png`), fullPage: true });
    await page.click('header nav.nav a:has-text("Audit log")');
    await page.waitForURL(`${baseUrl}/audit`);
    expect(await menuIsOpen(page)).toBe(false);
    const { scrollWidth } = await overflow(page);
    expect(scrollWidth).toBeLessThanOrEqual(PHONE);
    await signOut(page);
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 120_000);

  it('a chats-only administrator sees a shorter menu and the same layout; sign-in, second factor and backup codes fit too', async () => {
    const page = await newPage();
    await checkPage(page, { name: 'sign-in', path: '/sign-in' }, false);
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(await page.locator('header nav.nav a').allInnerTexts()).toEqual(['Dashboard', 'Chats', 'Account']);
    await page.goto(`${baseUrl}/chats`);
    const chatHref = await firstHref(page, 'main a[href^="/chats/"]');
    const cases: PageCase[] = [
      { name: 'admin-dashboard', path: '/', current: 'Dashboard' },
      { name: 'admin-chats', path: '/chats', current: 'Chats' },
      { name: 'admin-chat', path: chatHref, current: 'Chats' },
      { name: 'admin-account', path: '/account', current: 'Account' },
      { name: 'admin-forbidden', path: '/call-logs', status: 403 },
    ];
    for (const pageCase of cases) await checkPage(page, pageCase, true);

    await page.goto(`${baseUrl}/account/two-factor/setup`);
    const key = (await page.locator('#manual-key').innerText()).replace(/\s/g, '');
    await page.fill('#code', generateTotp(key));
    await page.click('button:has-text("Turn on")');
    expect((await page.locator('h1').innerText()).trim()).toBe('Your backup codes');
    await checkPage(page, { name: 'backup-codes', current: 'Account' }, true);
    await signOut(page);
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/sign-in/second-factor');
    await checkPage(page, { name: 'second-factor', path: '/sign-in/second-factor' }, false);
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 90_000);

  it('on a phone the filters of the lists and the audit log fold behind "Filters" until one is set; on a desktop they always show', async () => {
    await browser?.context.clearCookies();
    const page = await newPage();
    await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
    const lists = [
      { name: 'call-logs', path: '/call-logs', filtered: '/call-logs?direction=inbound' },
      { name: 'chats', path: '/chats', filtered: '/chats?channel=whatsapp' },
      { name: 'contacts', path: '/contacts', filtered: '/contacts?tag=vip' },
      { name: 'audit', path: '/audit', filtered: '/audit?action=auth.login' },
    ];
    for (const list of lists) {
      const form = page.locator(`main details.filters-toggle > form[action="${list.path}"]`);
      await page.setViewportSize({ width: WIDE, height: 900 });
      await page.goto(`${baseUrl}${list.path}`);
      expect.soft(await form.isVisible(), `${list.name}: the filters show at ${WIDE} px`).toBe(true);
      expect.soft(await page.locator(FILTERS_TOGGLE).isVisible(), `${list.name}: no "Filters" toggle at ${WIDE} px`).toBe(false);

      await page.setViewportSize({ width: PHONE, height: 900 });
      await page.goto(`${baseUrl}${list.path}`);
      expect.soft(await page.locator(FILTERS_TOGGLE).innerText(), `${list.name}: the toggle`).toBe('Filters');
      expect.soft(await form.isVisible(), `${list.name}: the filters are folded at ${PHONE} px without a filter`).toBe(false);
      const results = await page.locator('main .table-scroll').first().boundingBox();
      expect.soft(results !== null && results.y < 900 - 100, `${list.name}: the results start at ${results?.y ?? '?'} px, in the first screen`).toBe(true);
      await page.click(FILTERS_TOGGLE);
      expect.soft(await form.isVisible(), `${list.name}: "Filters" opens them`).toBe(true);
      expect.soft(await layoutProblems(page, PHONE), `${list.name} with its filters open`).toEqual([]);
      expect.soft(await seriousAxeFindings(page), `${list.name} with its filters open: axe`).toEqual([]);
      await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `${list.name}-filters-open-${PHONE}.png`), fullPage: true });

      await page.goto(`${baseUrl}${list.filtered}`);
      expect.soft(await form.isVisible(), `${list.name}: a filter set keeps them open at ${PHONE} px`).toBe(true);
    }

    await page.setViewportSize({ width: PHONE, height: 900 });
    await page.goto(`${baseUrl}/audit`);
    await page.click(FILTERS_TOGGLE);
    await page.fill('#from', '2026-02-30');
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/audit' && url.searchParams.get('from') === '2026-02-30'),
      page.click('main form[action="/audit"] button[type="submit"]'),
    ]);
    expect(await page.locator('main [role="alert"]').innerText()).toContain('from: a UTC date such as 2026-11-01');
    expect(await page.locator('#from').isVisible(), 'the refused filter stays open to be corrected').toBe(true);
    expect(await page.locator('#from').inputValue()).toBe('2026-02-30');
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 90_000);

  it('every date field of the portal says its format the same way', async () => {
    await browser?.context.clearCookies();
    const page = await newPage();
    await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
    const fields: string[] = [];
    for (const path of ['/call-logs', '/chats', '/audit', '/jobs']) {
      await page.goto(`${baseUrl}${path}`);
      for (const field of await page.locator('main input[name="from"]:not([type="hidden"]), main input[name="to"]:not([type="hidden"])').all()) {
        const id = (await field.getAttribute('id')) ?? '';
        const label = (await page.locator(`label[for="${id}"]`).innerText()).trim();
        const description = (await field.getAttribute('aria-describedby')) ?? '';
        fields.push(`${path} ${await field.getAttribute('name')}: ${label} [${await field.getAttribute('placeholder')}]`);
        expect.soft(description !== '' && (await page.locator(`#${description}`).isVisible()), `${path} ${id}: a visible hint describes it`).toBe(true);
      }
    }
    expect(fields).toEqual(
      ['/call-logs', '/chats', '/audit', '/jobs'].flatMap((path) => [
        `${path} from: From (YYYY-MM-DD) [YYYY-MM-DD]`,
        `${path} to: To (YYYY-MM-DD) [YYYY-MM-DD]`,
      ]),
    );
    await page.close();
  }, 60_000);
});
