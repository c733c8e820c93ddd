import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/auth/password-hashing.js';
import type { Chat } from '../../src/records/chat-schema.js';
import { generateRecords } from '../../src/records/demo-generator.js';
import { DEMO_LOCALES } from '../../src/records/demo/demo-locales.js';
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
 * Chat text search (issue 16.5), in a browser: the demo's chats in every demo language are in the archive, and the
 * owner types into the chats page's "Words" field and submits the form. A word of a customer's message finds its
 * chat in every language, two characters from inside a run of Chinese, Japanese, Korean or Thai text too, and
 * "refunds" finds "refund"; the page says how words match, next to the field. Screenshots `chat-search-*.png`.
 */

const OWNER_EMAIL = 'olga@demo-contact.example';
const OWNER_PASSWORD = 'granite-pelican-saffron-tunnel';
const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 8 * 3_600_000);
const TO = new Date(FROM.getTime() + 6 * 3_600_000);
const WIDE = 1280;
const PHONE = 390;

const CLOSE_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]/u;
const CLOSE_RUNS = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\u30FC]+/gu;
const SCRIPTS = ['Latin', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Thai', 'Arabic', 'Hebrew', 'Devanagari', 'Cyrillic'] as const;
const scriptPattern = (script: string): RegExp => new RegExp(`\\p{sc=${script}}`, 'u');
const graphemes = (text: string): string[] => Array.from(new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(text), (part) => part.segment);
const textsOf = (chat: Chat): string[] => chat.messages.flatMap((message) => (message.text ? [message.text.normalize('NFKC')] : []));
const mentions = (chat: Chat, pattern: RegExp): boolean => textsOf(chat).some((text) => pattern.test(text));

/** The script a demo language is written in: that of its bot's greeting. */
function scriptOf(tag: string): string {
  const greeting = DEMO_LOCALES.find((locale) => locale.tag === tag)?.botGreeting ?? '';
  const script = SCRIPTS.find((candidate) => scriptPattern(candidate).test(greeting.replace(/[^\p{L}]/gu, '').charAt(0)));
  if (script === undefined) throw new Error(`no script for ${tag}`);
  return script;
}

/** The customer's messages of a chat written in its language's script. */
const customerTextsOf = (chat: Chat): string[] =>
  chat.messages.flatMap((message) =>
    message.senderRole === 'customer' && message.text && scriptPattern(scriptOf(chat.visitor?.locale ?? '')).test(message.text)
      ? [message.text.normalize('NFKC')]
      : [],
  );

/**
 * What a reader would type to find a chat of language `tag` again: two consecutive characters from inside a run of
 * at least three (Chinese, Japanese, Korean, Thai), else the longest word of three letters or more of a customer's
 * message.
 */
function searchWordOf(chat: Chat, tag: string): string {
  const script = scriptPattern(scriptOf(tag));
  const texts = customerTextsOf(chat);
  if (texts.some((text) => CLOSE_SCRIPT.test(text))) {
    const run = texts.flatMap((text) => text.match(CLOSE_RUNS) ?? []).find((candidate) => graphemes(candidate).length >= 3 && script.test(candidate));
    if (run === undefined) throw new Error(`no run of three characters in the ${tag} chat`);
    return graphemes(run).slice(1, 3).join('');
  }
  const words = texts.flatMap((text) =>
    Array.from(new Intl.Segmenter(tag, { granularity: 'word' }).segment(text))
      .filter((part) => part.isWordLike === true && /^[\p{L}\p{M}]{3,}$/u.test(part.segment) && script.test(part.segment))
      .map((part) => part.segment),
  );
  const word = words.sort((a, b) => b.length - a.length)[0];
  if (word === undefined) throw new Error(`no word in the ${tag} chat`);
  return word;
}

let portal: BrowserTestPortal | undefined;
let baseUrl: string;
let controlPlane: ControlPlane;
let mongo: MongoClient;
let archives: ArchiveDatabases | undefined;
let browser: TestChromium | undefined;
/** The archived chats: one per demo language, plus English ones that mention a refund. */
let sample: Chat[];
const byLanguage = new Map<string, Chat>();
const dbName = uniqueDbName('chat_search_e2e');
const importsDbName = uniqueDbName('chat_search_e2e_imports');
const redis = createTestRedis();
const prefix = `${uniqueName('chat-search-e2e')}:`;
const tenantId = `demo-${uniqueName('t').slice(2, 8)}`;

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
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

  const generated = [...generateRecords({ seed: 21, tenantId, type: 'chats', from: FROM, to: TO, ratesPerHour: { chats: 120 } })].filter(
    (chat) => customerTextsOf(chat).length > 0,
  );
  const chosen = new Set<Chat>();
  for (const chat of generated) {
    const tag = chat.visitor?.locale ?? '';
    if (byLanguage.has(tag)) continue;
    byLanguage.set(tag, chat);
    chosen.add(chat);
  }
  for (const chat of generated.filter((candidate) => mentions(candidate, /\brefund\b/i)).slice(0, 2)) chosen.add(chat);
  sample = [...chosen];

  archives = new ArchiveDatabases({ client: mongo, prefix: `cs${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  const writer = new ArchiveWriter(await archives.forTenant(tenantId), tenantId, `${tenantId}/manifest-search.json`);
  for (const chat of sample) await writer.add('chats', chat);
  await writer.finish();
  const archive = new ArchiveStore(archives);
  await archive.ensureIndexes(tenantId);

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
}, 60_000);

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

async function signedInPage(): Promise<Page> {
  if (browser === undefined) throw new Error('the browser did not start');
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: WIDE, height: 900 });
  await page.goto(`${baseUrl}/sign-in`);
  await page.fill('#email', OWNER_EMAIL);
  await page.fill('#password', OWNER_PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${baseUrl}/`);
  return page;
}

const wordsField = (page: Page) => page.getByLabel('Words', { exact: true });

/** Types `words` into the Words field of the chats page shown and submits the filter form with its Search button. */
async function searchWords(page: Page, words: string): Promise<void> {
  await wordsField(page).fill(words);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/chats' && url.searchParams.get('text') === words),
    page.getByRole('button', { name: 'Search', exact: true }).click(),
  ]);
}

/** The ids of the chats the list shows. */
async function listedIds(page: Page): Promise<string[]> {
  const hrefs = await page
    .locator('main table a[href^="/chats/"]')
    .evaluateAll((anchors) => anchors.map((anchor) => (anchor as unknown as { getAttribute(name: string): string | null }).getAttribute('href') ?? ''));
  return hrefs.map((href) => decodeURIComponent(href.slice('/chats/'.length).split('?')[0] as string)).sort();
}

describe('chat text search in a browser (Chromium)', () => {
  it('the archive holds a chat of every demo language and chats that mention a refund', () => {
    expect([...byLanguage.keys()].sort()).toEqual(DEMO_LOCALES.map((locale) => locale.tag).sort());
    expect(sample.some((chat) => mentions(chat, /\brefund\b/i))).toBe(true);
  });

  it('typing a word of a customer’s message into "Words" finds its chat, in every demo language', async () => {
    const page = await signedInPage();
    await page.goto(`${baseUrl}/chats`);
    const missed: string[] = [];
    for (const locale of DEMO_LOCALES) {
      const chat = byLanguage.get(locale.tag) as Chat;
      const word = searchWordOf(chat, locale.tag);
      await searchWords(page, word);
      expect.soft(await wordsField(page).inputValue(), `${locale.tag}: the field keeps ${word}`).toBe(word);
      if (!(await listedIds(page)).includes(chat.id)) missed.push(`${locale.tag}: "${word}" did not list ${chat.id}`);
      if (CLOSE_SCRIPT.test(word)) await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `chat-search-${locale.tag}-${WIDE}.png`), fullPage: true });
    }
    expect(missed).toEqual([]);
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 120_000);

  it('"refunds" finds every chat with "refund", on a phone too, where the filters open from "Filters"', async () => {
    const page = await signedInPage();
    await page.setViewportSize({ width: PHONE, height: 900 });
    await page.goto(`${baseUrl}/chats`);
    expect(await wordsField(page).isVisible(), 'the Words field is folded away on a phone without a filter').toBe(false);
    await page.locator('details.filters-toggle > summary').click();
    expect(await wordsField(page).isVisible()).toBe(true);
    await searchWords(page, 'refunds');
    const refunds = sample.filter((chat) => mentions(chat, /\brefund(s|ed|ing)?\b/i));
    expect(refunds.length).toBeGreaterThan(0);
    expect(await listedIds(page)).toEqual(refunds.map((chat) => chat.id).sort());
    expect(await wordsField(page).isVisible(), 'the filters stay open while one is set').toBe(true);
    expect(await seriousAxeFindings(page)).toEqual([]);
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `chat-search-refunds-${PHONE}.png`), fullPage: true });
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 60_000);

  it('says next to the field how words match, and ?q= becomes the Words filter', async () => {
    const page = await signedInPage();
    await page.goto(`${baseUrl}/chats`);
    const describedBy = ((await wordsField(page).getAttribute('aria-describedby')) ?? '').split(/\s+/).filter((id) => id !== '');
    expect(describedBy).toContain('chat-text-hint');
    const hint = page.locator('#chat-text-hint');
    expect(await hint.count()).toBe(1);
    expect(await hint.isVisible()).toBe(true);
    const text = (await hint.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('every word must appear');
    expect(text).toContain('refunds finds refund');
    expect(text).toContain('In Chinese, Japanese, Korean and Thai, any two or more consecutive characters of the text match');
    await page.screenshot({ path: join(TEST_ARTIFACTS_DIR, `chat-search-hint-${WIDE}.png`) });

    const chat = byLanguage.get('zh-CN') as Chat;
    const pair = searchWordOf(chat, 'zh-CN');
    const response = await page.goto(`${baseUrl}/chats?q=${encodeURIComponent(pair)}`);
    expect(response?.status()).toBe(200);
    expect(response?.request().redirectedFrom()?.url()).toBe(`${baseUrl}/chats?q=${encodeURIComponent(pair)}`);
    expect(page.url()).toBe(`${baseUrl}/chats?text=${encodeURIComponent(pair)}`);
    expect(await wordsField(page).inputValue()).toBe(pair);
    expect(await listedIds(page)).toContain(chat.id);
    await page.close();
    expect(browser?.cspViolations).toEqual([]);
  }, 60_000);
});
