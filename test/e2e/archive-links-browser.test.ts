import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/auth/password-hashing.js';
import { NOT_IN_ARCHIVE_NOTE } from '../../src/portal/routes/archive-record-references.js';
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
 * Dead links (issue 16.1), in a browser: the owner and an administrator limited to call logs open the archive's lists
 * and detail pages, and every same-origin link those pages render answers for the user who sees it (no 404, no 403,
 * no "does not exist or is not available to you"). A reference to a record the archive does not hold, or of a type
 * the reader may not open, is plain text with a note. Screenshots `archive-links-*.png`.
 */

const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';
const CALLS_ADMIN_EMAIL = 'carl@demo-contact.example';
const CALLS_ADMIN_PASSWORD = 'harbor-quince-ember-lattice';
const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 9 * 3_600_000);
const TO = new Date(FROM.getTime() + 2 * 3_600_000);
/** One seed and one set of rates for every type, as a tenant's demo source has. */
const RATES = { 'call-logs': 20, chats: 4, contacts: 6 };
const SEED = 2026;
/** Detail pages of each type opened in the browser besides the chosen ones (every linked one is requested). */
const DETAILS_PER_TYPE = 5;
const NOT_AVAILABLE = 'does not exist or is not available to you';
const NO_CONTACTS_NOTE = 'you have no access to contacts';

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let archives: ArchiveDatabases | undefined;
let browser: TestChromium | undefined;
let exportQueue: Queue<ResultsExportJobData> | undefined;
let calls: CallLog[];
let chats: Chat[];
let contacts: Contact[];
const dbName = uniqueDbName('archive_links_e2e');
const importsDbName = uniqueDbName('archive_links_e2e_imports');
const redis = createTestRedis();
const prefix = `${uniqueName('archive-links-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

const gen = <T extends RecordType>(type: T) => [...generateRecords({ seed: SEED, tenantId, type, from: FROM, to: TO, ratesPerHour: RATES })];
const held = (id: string | undefined): boolean => id !== undefined && contacts.some((contact) => contact.id === id);
/** The contact a call refers to that the archive holds, if any. */
const heldContactOf = (call: CallLog): string | undefined => [call.from.contactId, call.to.contactId].find(held);
const detailPath = (path: '/call-logs' | '/chats' | '/contacts', id: string): string => `${path}/${encodeURIComponent(id)}`;

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Demo Contact Center' });
  for (const [email, password, role, dataTypes] of [
    [OWNER_EMAIL, OWNER_PASSWORD, 'owner', []],
    [CALLS_ADMIN_EMAIL, CALLS_ADMIN_PASSWORD, 'administrator', ['call-logs']],
  ] as const) {
    await controlPlane.users.create(tenantId, {
      email,
      displayName: email.split('@')[0] as string,
      role,
      dataTypes: [...dataTypes],
      capabilities: [],
      passwordHash: await hashPassword(password),
    });
  }

  calls = gen('call-logs');
  chats = gen('chats');
  contacts = gen('contacts');
  // The generator refers to contacts of the weeks before the window, which are not imported: point some references
  // at contacts the archive holds, so that the pages show links and notes side by side.
  const heldContact = (index: number) => contacts[index % contacts.length] as Contact;
  calls = calls.map((call, index) => {
    if (index % 3 !== 0) return call;
    if (call.from.contactId !== undefined) return { ...call, from: { ...call.from, contactId: heldContact(index).id } };
    if (call.to.contactId !== undefined) return { ...call, to: { ...call.to, contactId: heldContact(index).id } };
    return call;
  });
  chats = chats.map((chat, index) =>
    index % 2 !== 0 ? chat : { ...chat, participants: chat.participants.map((p) => (p.role === 'customer' ? { ...p, contactId: heldContact(index).id } : p)) },
  );
  contacts = contacts.map((contact, index) =>
    index === 1 ? { ...contact, mergedInto: heldContact(0).id } : index === 2 ? { ...contact, mergedInto: `${heldContact(0).id}-gone` } : contact,
  );

  archives = new ArchiveDatabases({ client: mongo, prefix: `al${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  const writer = new ArchiveWriter(await archives.forTenant(tenantId), tenantId, `${tenantId}/manifest-links.json`);
  for (const call of calls) await writer.add('call-logs', call);
  for (const chat of chats) await writer.add('chats', chat);
  for (const contact of contacts) await writer.add('contacts', contact);
  await writer.finish();
  const archive = new ArchiveStore(archives);
  await archive.ensureIndexes(tenantId);
  // The portal as it runs: with the results-export service, so the menu's Exports page answers too.
  const exportsStore = new ResultExportsStore(db);
  await exportsStore.ensureIndexes();
  exportQueue = createResultsExportQueue(redis, `${prefix}exports`);
  const resultsExport = new ResultsExportService({ exports: exportsStore, queue: exportQueue, audit: controlPlane.audit });

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

async function signedInPage(email: string, password: string): Promise<Page> {
  if (browser === undefined) throw new Error('the browser did not start');
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${baseUrl}/`);
  return page;
}

/** What a crawl saw: the pages opened in the browser, the links that did not answer, and the reference notes shown. */
interface Crawl {
  opened: string[];
  /** Every distinct same-origin link of the opened pages, as a path with its query. */
  links: string[];
  dead: string[];
  /** The text of every reference shown without a link (`.reference-missing`), with the page it is on. */
  notes: { path: string; text: string }[];
}

const DETAIL = /^\/(call-logs|chats|contacts)\/[^/?]+$/;

/**
 * Opens `start` (list pages and chosen detail pages) in the browser, collects every same-origin `<a href>` of each,
 * requests each link once with the browser's cookies (redirects followed) and opens up to {@link DETAILS_PER_TYPE}
 * further detail pages of each type among them.
 */
async function crawl(page: Page, start: string[]): Promise<Crawl> {
  const result: Crawl = { opened: [], links: [], dead: [], notes: [] };
  const queue = [...start];
  const queued = new Set(start);
  const checked = new Set<string>();
  const openedPerType = new Map<string, number>();
  while (queue.length > 0) {
    const path = queue.shift() as string;
    const response = await page.goto(`${baseUrl}${path}`);
    result.opened.push(path);
    if (response?.status() !== 200 || (await page.locator('main').innerText()).includes(NOT_AVAILABLE)) {
      result.dead.push(`${path} (opened) -> ${response?.status() ?? 'no answer'}`);
      continue;
    }
    for (const text of await page.locator('main .reference-missing').allInnerTexts()) result.notes.push({ path, text: text.replace(/\s+/g, ' ').trim() });
    const hrefs = await page.locator('a[href]').evaluateAll((anchors) => anchors.map((anchor) => (anchor as unknown as { href: string }).href));
    for (const href of hrefs) {
      const url = new URL(href);
      if (url.origin !== baseUrl) continue;
      const link = `${url.pathname}${url.search}`;
      if (checked.has(link)) continue;
      checked.add(link);
      result.links.push(link);
      const answer = await page.context().request.get(`${baseUrl}${link}`);
      const body = (answer.headers()['content-type'] ?? '').includes('text/html') ? await answer.text() : '';
      if (answer.status() >= 400 || body.includes(NOT_AVAILABLE)) result.dead.push(`${link} (on ${path}) -> ${answer.status()}`);
      const type = DETAIL.exec(link.split('?')[0] as string)?.[1];
      if (type !== undefined && !queued.has(link) && (openedPerType.get(type) ?? 0) < DETAILS_PER_TYPE) {
        openedPerType.set(type, (openedPerType.get(type) ?? 0) + 1);
        queued.add(link);
        queue.push(link);
      }
    }
  }
  return result;
}

describe('links between archived records in a browser (Chromium)', () => {
  it('the seed refers to contacts the archive holds and to contacts it does not', () => {
    const references = [...calls.flatMap((c) => [c.from.contactId, c.to.contactId]), ...chats.flatMap((c) => c.participants.map((p) => p.contactId))].filter(
      (id): id is string => id !== undefined,
    );
    expect(references.some(held)).toBe(true);
    expect(references.some((id) => !held(id))).toBe(true);
  });

  it('every link the owner sees on call, chat and contact pages answers; a contact the archive does not hold is a note', async () => {
    const page = await signedInPage(OWNER_EMAIL, OWNER_PASSWORD);
    const absent = calls.find((c) => c.from.contactId !== undefined && !held(c.from.contactId)) as CallLog;
    const present = calls.find((c) => heldContactOf(c) !== undefined) as CallLog;
    const chat = chats.find((c) => c.participants.some((p) => held(p.contactId))) as Chat;
    const chosen = [
      detailPath('/call-logs', absent.id),
      detailPath('/call-logs', present.id),
      detailPath('/chats', chat.id),
      detailPath('/contacts', (contacts[1] as Contact).id),
      detailPath('/contacts', (contacts[2] as Contact).id),
    ];
    const { opened, links, dead, notes } = await crawl(page, ['/call-logs', '/chats', '/contacts', ...chosen]);
    expect(dead).toEqual([]);
    for (const type of ['call-logs', 'chats', 'contacts']) expect(opened.filter((path) => path.startsWith(`/${type}/`)).length, type).toBeGreaterThan(2);
    expect(links).toEqual(expect.arrayContaining(['/', '/call-logs', '/chats', '/contacts', '/exports', '/audit']));
    expect(
      links.some((link) => link.startsWith('/contacts/')),
      'links to held contacts',
    ).toBe(true);

    const absentPath = detailPath('/call-logs', absent.id);
    expect(notes).toContainEqual({ path: absentPath, text: `Contact ${absent.from.contactId as string} (${NOT_IN_ARCHIVE_NOTE})` });
    expect(notes).toContainEqual({ path: detailPath('/contacts', (contacts[2] as Contact).id), text: expect.stringContaining(NOT_IN_ARCHIVE_NOTE) });
    expect(notes.every((note) => note.text.includes(`(${NOT_IN_ARCHIVE_NOTE})`))).toBe(true);

    await page.goto(`${baseUrl}${absentPath}`);
    const note = page.locator('main .reference-missing').first();
    expect(await note.isVisible()).toBe(true);
    expect(await note.locator('a').count()).toBe(0);
    await page.goto(`${baseUrl}${detailPath('/call-logs', present.id)}`);
    await page.click('main a[href^="/contacts/"]');
    expect((await page.locator('h1').innerText()).trim()).toBe(contacts.find((c) => c.id === heldContactOf(present))?.displayName);

    await page.goto(`${baseUrl}${absentPath}`);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      expect(await seriousAxeFindings(page), `axe at ${width} px`).toEqual([]);
      await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `archive-links-missing-contact-${width}.png`), fullPage: true });
    }
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 120_000);

  it('an administrator of call logs only gets no link to contacts or chats, every link answers, and references say why', async () => {
    const page = await signedInPage(CALLS_ADMIN_EMAIL, CALLS_ADMIN_PASSWORD);
    expect(await page.locator('header nav a').allInnerTexts()).toEqual(['Dashboard', 'Call logs', 'Account']);
    const present = calls.find((c) => heldContactOf(c) !== undefined) as CallLog;
    const absent = calls.find((c) => c.from.contactId !== undefined && !held(c.from.contactId)) as CallLog;
    const { opened, links, dead, notes } = await crawl(page, ['/', '/call-logs', detailPath('/call-logs', present.id), detailPath('/call-logs', absent.id)]);
    expect(dead).toEqual([]);
    expect(opened.filter((path) => path.startsWith('/call-logs/')).length).toBeGreaterThan(2);
    expect(links.filter((link) => /^\/(chats|contacts)(\/|\?|$)/.test(link))).toEqual([]);

    // whether the archive holds the contact is not said: both references read the same
    expect(notes).toContainEqual({ path: detailPath('/call-logs', present.id), text: `Contact ${heldContactOf(present) as string} (${NO_CONTACTS_NOTE})` });
    expect(notes).toContainEqual({ path: detailPath('/call-logs', absent.id), text: `Contact ${absent.from.contactId as string} (${NO_CONTACTS_NOTE})` });
    expect(notes.every((note) => note.text.includes(`(${NO_CONTACTS_NOTE})`))).toBe(true);

    await page.goto(`${baseUrl}${detailPath('/call-logs', present.id)}`);
    expect(await seriousAxeFindings(page)).toEqual([]);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, 'archive-links-no-contacts-access-1280.png'), fullPage: true });
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 120_000);
});
