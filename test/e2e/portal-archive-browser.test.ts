import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { BrowserContext, Page } from 'playwright-core';
import { startBrowserTestPortal, type BrowserTestPortal } from '../support/browser-test-portal.js';
import { launchTestChromium, TEST_ARTIFACTS_DIR, type TestChromium } from '../support/test-chromium.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/auth/password-hashing.js';
import type { CallLog } from '../../src/records/call-log-schema.js';
import type { Chat } from '../../src/records/chat-schema.js';
import { generateRecords } from '../../src/records/demo-generator.js';
import type { RecordType } from '../../src/records/record-type.js';
import { ArchiveDatabases } from '../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../src/store/archive/archive-writer.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';

const ARTIFACTS = TEST_ARTIFACTS_DIR;
const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';
const ADMIN_EMAIL = 'cora@demo-contact.example';
const ADMIN_PASSWORD = 'lantern-orchid-basalt-meadow';
const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 8 * 3_600_000);
const TO = new Date(FROM.getTime() + 2 * 3_600_000);

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let dbName: string;
let archives: ArchiveDatabases;
const importsDbName = uniqueDbName('portal_e2e_imports');
let context: BrowserContext;
let browser: TestChromium | undefined;
let chats: Chat[];
let calls: CallLog[];
const redis = createTestRedis();
const prefix = `${uniqueName('portal-archive-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

const gen = <T extends RecordType>(type: T, perHour: number, seed: number) => [
  ...generateRecords({ seed, tenantId, type, from: FROM, to: TO, ratesPerHour: { [type]: perHour } }),
];

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('portal_archive_e2e');
  const db = mongo.db(dbName);
  controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  await controlPlane.tenants.create({ id: tenantId, displayName: 'Demo Contact Center' });
  await controlPlane.users.create(tenantId, {
    email: OWNER_EMAIL,
    displayName: 'Olga Owner',
    role: 'owner',
    dataTypes: [],
    capabilities: [],
    passwordHash: await hashPassword(OWNER_PASSWORD),
  });

  archives = new ArchiveDatabases({ client: mongo, prefix: `pe${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  chats = gen('chats', 6, 21);
  calls = gen('call-logs', 10, 22);
  const writer = new ArchiveWriter(await archives.forTenant(tenantId), tenantId, `${tenantId}/manifest-e2e.json`);
  for (const chat of chats) await writer.add('chats', chat);
  for (const call of calls) await writer.add('call-logs', call);
  await writer.finish();
  const archive = new ArchiveStore(archives);
  await archive.ensureIndexes(tenantId);
  await seedRuns();

  portal = await startBrowserTestPortal({
    controlPlane,
    redis,
    db,
    tenantId,
    redisPrefix: prefix,
    archive,
    archiveImports: new ArchiveImportsStore(mongo.db(importsDbName)),
  });
  baseUrl = portal.baseUrl;

  browser = await launchTestChromium();
  context = browser.context;
}, 60_000);

/** Retention settings and three runs for the jobs page: one delivered, one failed, one running (half its chunks done). */
async function seedRuns(): Promise<void> {
  await controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'online',
      dataTypes: ['call-logs', 'chats'],
      schedule: { cron: '*/15 * * * *', timezone: 'UTC' },
      source: { kind: 'demo', seed: 1 },
      target: { kind: 'local', directory: '/srv/drop' },
    },
    { actor: 'test' },
  );
  const hour = 3_600_000;
  const windows = { 'call-logs': { from: new Date(TO.getTime() - hour), to: TO }, chats: { from: new Date(TO.getTime() - hour), to: TO } };
  const run = (id: string, at: Date, chunkCount: number) =>
    controlPlane.runs.createIfAbsent({ id, tenantId, trigger: 'schedule', windows, previous: null, chunkCount, createdAt: at });
  await run('run-done', new Date(TO.getTime() - 3 * hour), 2);
  await controlPlane.runs.markDone(tenantId, 'run-done', {
    manifest: { runId: 'run-done', path: `${tenantId}/2026/11/21/manifest-run-done.json`, sha256: 'c'.repeat(64) },
    files: [],
    totals: {
      'call-logs': { records: calls.length, rejected: 1, files: 1, bytes: 48_211 },
      chats: { records: chats.length, rejected: 0, files: 1, bytes: 91_004 },
    },
  });
  await run('run-failed', new Date(TO.getTime() - 2 * hour), 2);
  await controlPlane.runs.recordChunkDone(tenantId, 'run-failed', { type: 'chats', index: 0, records: 7, rejected: 0, bytes: 20_480 });
  await controlPlane.runs.markFailed(tenantId, 'run-failed', {
    code: 'ERR_SFTP_UNREACHABLE',
    message: 'the SFTP server sftp.example.com:22 did not answer within 20 s',
  });
  await run('run-running', new Date(TO.getTime() - hour), 4);
  await controlPlane.runs.recordChunkDone(tenantId, 'run-running', { type: 'call-logs', index: 0, records: 600, rejected: 0, bytes: 512_000 });
  await controlPlane.runs.recordChunkDone(tenantId, 'run-running', { type: 'chats', index: 0, records: 40, rejected: 0, bytes: 160_000 });
}

afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  if (archives) await (await archives.forTenant(tenantId)).dropDatabase();
  await archives?.close();
  await mongo?.db(importsDbName).dropDatabase();
  await mongo?.db(dbName).dropDatabase();
  await mongo?.close();
});

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${baseUrl}/`);
  expect((await page.locator('header .who').innerText()).trim()).toBe(email);
}

async function signOut(page: Page): Promise<void> {
  await page.click('header button:has-text("Sign out")');
  await page.waitForURL(`${baseUrl}/sign-in`);
}

const navLinks = async (page: Page): Promise<string[]> => (await page.locator('header nav a').allInnerTexts()).map((text) => text.trim());

describe('archive in a browser (Chromium)', () => {
  it('owner invites a chats-only administrator who reads a transcript, is refused call logs, and the owner sees it audited', async () => {
    const page = await context.newPage();

    await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
    expect(await navLinks(page)).toEqual(expect.arrayContaining(['Call logs', 'Chats', 'Users', 'Jobs', 'Audit log']));
    await page.screenshot({ path: join(ARTIFACTS, 'portal-dashboard.png'), fullPage: true });

    await page.click('header nav a:has-text("Users")');
    await page.waitForURL(`${baseUrl}/users`);
    await page.fill('#inv-email', ADMIN_EMAIL);
    await page.fill('#inv-name', 'Cora Chats');
    const invitation = page.locator('form[action="/users/invitations"]');
    for (const type of ['call-logs', 'contacts']) await invitation.locator(`input[name="dataTypes"][value="${type}"]`).uncheck();
    await invitation.locator('input[name="dataTypes"][value="chats"]').check();
    await page.click('button:has-text("Create invitation link")');
    expect((await page.locator('h1').innerText()).trim()).toBe('Invitation created');
    const link = (await page.locator('#invitation-link').innerText()).trim();
    expect(link.startsWith(`${baseUrl}/invitation/`)).toBe(true);
    await page.goto(`${baseUrl}/users`);
    const invitedRow = page.locator('tr', { hasText: ADMIN_EMAIL });
    expect((await invitedRow.locator('.user-data-types').innerText()).trim()).toBe('chats');
    await signOut(page);

    await page.goto(link);
    expect((await page.locator('h1').innerText()).trim()).toBe('Accept your invitation');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('button:has-text("Create my account")');
    await page.waitForURL(`${baseUrl}/sign-in`);
    const admin = await controlPlane.users.findByEmail(tenantId, ADMIN_EMAIL);
    expect(admin?.status).toBe('active');
    expect(admin?.dataTypes).toEqual(['chats']);
    const adminId = admin?.id ?? '';

    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    const adminNav = await navLinks(page);
    expect(adminNav).toContain('Chats');
    expect(adminNav).not.toContain('Call logs');
    expect(adminNav).not.toContain('Audit log');
    await page.click('header nav a:has-text("Chats")');
    await page.waitForURL(`${baseUrl}/chats`);
    expect((await page.locator('h1').innerText()).trim()).toBe('Chats');
    const chatLinks = page.locator('main a[href^="/chats/"]');
    expect(await chatLinks.count()).toBe(chats.length);
    await page.screenshot({ path: join(ARTIFACTS, 'portal-chat-list.png'), fullPage: true });

    const href = (await chatLinks.first().getAttribute('href')) ?? '';
    const chatId = decodeURIComponent(href.slice('/chats/'.length));
    const chat = chats.find((c) => c.id === chatId);
    expect(chat).toBeDefined();
    await chatLinks.first().click();
    await page.waitForURL(`${baseUrl}${href}`);
    expect((await page.locator('h1').innerText()).trim()).toMatch(/^Chat of /);
    const shownMessages = await page.locator('ol.transcript > li').count();
    expect(shownMessages).toBeGreaterThan(0);
    expect(shownMessages).toBeLessThanOrEqual(chat?.messages.length ?? 0);
    await page.screenshot({ path: join(ARTIFACTS, 'portal-transcript.png'), fullPage: true });

    const list = await page.goto(`${baseUrl}/call-logs`);
    expect(list?.status()).toBe(403);
    const call = calls[0] as CallLog;
    const detail = await page.goto(`${baseUrl}/call-logs/${encodeURIComponent(call.id)}`);
    expect(detail?.status()).toBe(404);
    expect(await page.locator('body').innerText()).not.toContain(call.from.e164);
    await page.goto(`${baseUrl}/`);
    await signOut(page);

    await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
    await page.click('header nav a:has-text("Audit log")');
    await page.waitForURL(`${baseUrl}/audit`);
    await page.goto(`${baseUrl}/audit?user=${encodeURIComponent(adminId)}`);
    const rows = (await page.locator('main table tbody tr').allInnerTexts()).map((row) => row.replace(/\s+/g, ' '));
    expect(rows.some((row) => row.includes('record.viewed') && row.includes(`chats/${chatId}`) && row.includes(`user:${adminId}`))).toBe(true);
    expect(
      rows.some((row) => row.includes('access.denied') && row.includes('denied') && row.includes('GET /call-logs') && !row.includes('GET /call-logs/')),
    ).toBe(true);
    expect(rows.some((row) => row.includes('access.denied') && row.includes(`GET /call-logs/${call.id}`))).toBe(true);
    expect(rows.some((row) => row.includes('record.viewed') && row.includes('call-logs/'))).toBe(false);

    await page.click('header nav a:has-text("Jobs")');
    await page.waitForURL(`${baseUrl}/jobs`);
    const jobs = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
    expect(jobs).toContain('2 of 4 chunks, 640 records');
    expect(jobs).toContain('ERR_SFTP_UNREACHABLE');
    expect(jobs).toContain('Chats: 7 records, 20.0 KB delivered before it failed');
    expect(jobs).toContain(`${tenantId}/2026/11/21/manifest-run-done.json`);
    expect(await page.locator('meta[name="auto-refresh"]').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'portal-jobs.png'), fullPage: true });

    expect(browser?.cspViolations).toEqual([]);
  }, 60_000);
});
