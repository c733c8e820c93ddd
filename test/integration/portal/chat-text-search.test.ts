import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Chat } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../../../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { uniqueDbName } from '../../support/mongo.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 8 * 3_600_000);
const TO = new Date(FROM.getTime() + 3 * 3_600_000);

let h: PortalHarness;
let mongo: MongoClient;
let archives: ArchiveDatabases;
const importsDbName = uniqueDbName('portal_search_imports');
let tenant: string;
let owner: PortalClient;
let chats: Chat[];

const textsOf = (chat: Chat): string[] => chat.messages.flatMap((message) => (message.text ? [message.text] : []));
const listedIds = (html: string): string[] =>
  [...html.matchAll(/href="\/chats\/([^"?]+)(?:\?list=[^"]*)?"/g)].map((match) => decodeURIComponent(match[1] as string)).sort();
const idsOf = (list: Chat[]): string[] => list.map((chat) => chat.id).sort();
const holding = (part: string): Chat[] => chats.filter((chat) => textsOf(chat).some((text) => text.includes(part)));
const inLanguage = (tag: string): Chat => {
  const chat = chats.find((candidate) => candidate.visitor?.locale === tag && textsOf(candidate).length > 0);
  if (chat === undefined) throw new Error(`no ${tag} chat generated`);
  return chat;
};
/** Two consecutive characters from inside the first run of at least three characters of `script` in a chat. */
function innerPair(chat: Chat, script: RegExp): string {
  for (const text of textsOf(chat)) {
    for (const [run] of text.matchAll(script)) {
      const units = Array.from(new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(run), (part) => part.segment);
      if (units.length >= 3) return units.slice(1, 3).join('');
    }
  }
  throw new Error('no run of three characters');
}

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  archives = new ArchiveDatabases({ client: mongo, prefix: `ps${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  h = await startPortalHarness({}, { archive: new ArchiveStore(archives), archiveImports: new ArchiveImportsStore(mongo.db(importsDbName)) });
  tenant = await h.createTenant('search');
  chats = [...generateRecords({ seed: 31, tenantId: tenant, type: 'chats', from: FROM, to: TO, ratesPerHour: { chats: 40 } })];
  const writer = new ArchiveWriter(await archives.forTenant(tenant), tenant, `${tenant}/manifest-test.json`);
  for (const chat of chats) await writer.add('chats', chat);
  await writer.finish();
  await new ArchiveStore(archives).ensureIndexes(tenant);
  const email = `owner-${randomBytes(4).toString('hex')}@example.com`;
  await h.controlPlane.users.create(tenant, { email, displayName: 'Owner', role: 'owner', dataTypes: [], capabilities: [], passwordHash: h.passwordHash });
  owner = h.client(tenant);
  expect((await owner.signIn(email)).headers.location).toBe('/');
}, 60_000);

afterAll(async () => {
  if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await mongo?.db(importsDbName).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('the chats page searching text', () => {
  it('lists the Chinese chat for ?q= with two characters from inside a word, and says how search matches', async () => {
    const chat = inLanguage('zh-CN');
    const pair = innerPair(chat, /\p{sc=Han}+/gu);
    const asked = await owner.get(`/chats?q=${encodeURIComponent(pair)}`);
    expect(asked.status).toBe(302);
    expect(asked.headers.location).toBe(`/chats?text=${encodeURIComponent(pair)}`);
    const page = await owner.follow(`/chats?q=${encodeURIComponent(pair)}`);
    expect(page.status).toBe(200);
    expect(listedIds(page.text)).toContain(chat.id);
    expect(listedIds(page.text)).toEqual(idsOf(holding(pair)));
    expect(page.text).toContain(`name="text" type="text" value="${pair}"`);
    expect(page.text).toMatch(/aria-describedby="chat-text-hint"/);
    const hint = /<p class="hint" id="chat-text-hint">([\s\S]*?)<\/p>/.exec(page.text)?.[1] ?? '';
    expect(hint).toContain('every word must appear');
    expect(hint).toContain('by their stem');
    expect(hint).toContain('In Chinese, Japanese, Korean and Thai, any two or more consecutive characters of the text match');
  });

  it.each([
    ['ja-JP', /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\u30FC]+/gu],
    ['ko-KR', /\p{sc=Hangul}+/gu],
    ['th-TH', /\p{sc=Thai}+/gu],
  ])('lists the %s chat for ?text= with two characters from inside a word', async (tag, script) => {
    const chat = inLanguage(tag);
    const pair = innerPair(chat, script);
    const page = await owner.get(`/chats?text=${encodeURIComponent(pair)}`);
    expect(page.status).toBe(200);
    expect(listedIds(page.text)).toContain(chat.id);
  });

  it('keeps other filters when ?q= becomes the text filter, and joins it to a text filter already there', async () => {
    const asked = await owner.get('/chats?channel=web&q=refunds&text=issued');
    expect(asked.status).toBe(302);
    expect(asked.headers.location).toBe('/chats?channel=web&text=issued+refunds');
  });

  it('finds "refund" for "refunds", and lists nothing for a word no transcript holds', async () => {
    const refunds = chats.filter((chat) => textsOf(chat).some((text) => /\brefund\b/i.test(text)));
    expect(refunds.length).toBeGreaterThan(0);
    const page = await owner.get('/chats?text=Refunds');
    expect(page.status).toBe(200);
    expect(listedIds(page.text)).toEqual(idsOf(refunds));
    const none = await owner.follow(`/chats?q=${encodeURIComponent('鲸鱼')}`);
    expect(none.status).toBe(200);
    expect(listedIds(none.text)).toEqual([]);
    expect(none.text).toContain('id="chat-text-hint"');
  });

  it('refuses a search without two characters of a word, with a message', async () => {
    const page = await owner.get(`/chats?text=${encodeURIComponent('退 a')}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain('in Chinese, Japanese, Korean or Thai: two characters');
    expect(listedIds(page.text)).toEqual([]);
  });
});
