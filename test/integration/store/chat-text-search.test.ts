import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importManifest } from '../../../src/import/import-manifest.js';
import { rebuildArchive } from '../../../src/import/rebuild-archive.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { DEMO_LOCALES } from '../../../src/records/demo/demo-locales.js';
import { ARCHIVE_COLLECTIONS } from '../../../src/store/archive/archive-documents.js';
import { FULL_ARCHIVE_SCOPE } from '../../../src/store/archive/archive-scope.js';
import { legacyTextWords, TEXT_TOKEN_RULE_VERSION } from '../../../src/store/archive/text-search-tokens.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const TENANT = 'chat-search-langs';
const T0 = new Date('2026-03-02T00:00:00.000Z');
const WINDOW = { from: T0, to: new Date(T0.getTime() + 86_400_000) };
const CHATS_PER_LANGUAGE = 2;

let harness: ImportHarness;
/** The stored chats: two per demo language, plus English ones that mention a refund or a charge. */
let sample: Chat[];
const byLanguage = new Map<string, Chat[]>();

const CLOSE_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]/u;
const CLOSE_RUNS = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\u30FC]+/gu;
const graphemes = (text: string): string[] => Array.from(new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(text), (part) => part.segment);
const textsOf = (chat: Chat): string[] => chat.messages.flatMap((message) => (message.text ? [message.text.normalize('NFKC')] : []));
const mentions = (chat: Chat, pattern: RegExp): boolean => textsOf(chat).some((text) => pattern.test(text));
const SCRIPTS = ['Latin', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Thai', 'Arabic', 'Hebrew', 'Devanagari', 'Cyrillic'] as const;
const scriptPattern = (script: string): RegExp => new RegExp(`\\p{sc=${script}}`, 'u');
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

async function search(text: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 20; pages += 1) {
    const page = await harness.store.listChats({ tenantId: TENANT, scope: FULL_ARCHIVE_SCOPE }, { text }, { limit: 50, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((chat) => chat.id));
    if (page.nextCursor === null) return ids.sort();
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}
const idsOf = (chats: Chat[]): string[] => chats.map((chat) => chat.id).sort();

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
  const drop = await harness.setUpTenant(TENANT);
  const generated = [
    ...generateRecords({ seed: 21, tenantId: TENANT, type: 'chats', from: T0, to: new Date(T0.getTime() + 6 * 3_600_000), ratesPerHour: { chats: 120 } }),
  ].filter((chat) => customerTextsOf(chat).length > 0);
  const chosen = new Set<Chat>();
  for (const chat of generated) {
    const tag = chat.visitor?.locale ?? '';
    const chats = byLanguage.get(tag) ?? [];
    if (chats.length < CHATS_PER_LANGUAGE) {
      chats.push(chat);
      chosen.add(chat);
    }
    byLanguage.set(tag, chats);
  }
  for (const pattern of [/\brefund\b/i, /\bcharged\b/i]) {
    for (const chat of generated.filter((candidate) => mentions(candidate, pattern)).slice(0, 2)) chosen.add(chat);
  }
  sample = [...chosen];
  const link = await drop.deliver({ runId: 'r1', window: WINDOW, records: { chats: sample } });
  await importManifest(harness.deps, TENANT, link.path);
  await harness.store.ensureIndexes(TENANT);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe('chat text search over the demo transcripts of every language (imported from a drop)', () => {
  it('stores chats of every demo language, with tokens made by the current rule', async () => {
    for (const locale of DEMO_LOCALES) expect(byLanguage.get(locale.tag)?.length, locale.tag).toBe(CHATS_PER_LANGUAGE);
    const rooms = await (await harness.archiveDb(TENANT)).collection(ARCHIVE_COLLECTIONS.chats).find({}).toArray();
    expect(rooms).toHaveLength(sample.length);
    for (const room of rooms) {
      expect(room.ix.textTokensVersion).toBe(TEXT_TOKEN_RULE_VERSION);
      expect(Array.isArray(room.ix.textTokens) && room.ix.textTokens.length > 0).toBe(true);
      expect(room.ix.words).toBeUndefined();
    }
  });

  it.each(DEMO_LOCALES.map((locale) => [locale.tag]))('%s: a word of the transcript finds its chat', async (tag) => {
    const source = byLanguage.get(tag)?.[0] as Chat;
    const script = scriptPattern(scriptOf(tag));
    const texts = customerTextsOf(source);
    if (texts.some((text) => CLOSE_SCRIPT.test(text))) {
      const run = texts
        .flatMap((text) => text.match(CLOSE_RUNS) ?? [])
        .find((candidate) => graphemes(candidate).length >= 3 && script.test(candidate)) as string;
      expect(run, tag).toBeDefined();
      const units = graphemes(run);
      const pair = units.slice(1, 3).join('');
      const triple = units.slice(0, 3).join('');
      const pairHits = await search(pair);
      expect(pairHits, `${tag}: ${pair} of ${run}`).toContain(source.id);
      if (tag !== 'th-TH')
        expect(pairHits, `${tag}: exactly the chats holding ${pair}`).toEqual(
          idsOf(sample.filter((chat) => textsOf(chat).some((text) => text.includes(pair)))),
        );
      expect(await search(triple), `${tag}: ${triple}`).toContain(source.id);
      return;
    }
    const words = texts.flatMap((text) =>
      Array.from(new Intl.Segmenter(tag, { granularity: 'word' }).segment(text))
        .filter((part) => part.isWordLike === true && /^[\p{L}\p{M}]{3,}$/u.test(part.segment) && script.test(part.segment))
        .map((part) => part.segment),
    );
    const word = words.sort((a, b) => b.length - a.length)[0] as string;
    expect(word, tag).toBeDefined();
    expect(await search(word.toUpperCase()), `${tag}: ${word.toUpperCase()}`).toContain(source.id);
    const withoutAccents = word.normalize('NFD').replace(/\p{M}/gu, '');
    if (/^\p{sc=Latin}+$/u.test(withoutAccents) && withoutAccents !== word) {
      expect(await search(withoutAccents), `${tag}: ${withoutAccents}`).toContain(source.id);
    }
  });

  it('finds English forms by their stem: "refunds" finds every chat with "refund", "charges" every one with "charged"', async () => {
    const refunds = sample.filter((chat) => mentions(chat, /\brefund\b/i));
    const charged = sample.filter((chat) => mentions(chat, /\bcharged\b/i));
    expect(refunds.length).toBeGreaterThan(0);
    expect(charged.length).toBeGreaterThan(0);
    expect(await search('refunds')).toEqual(idsOf(sample.filter((chat) => mentions(chat, /\brefund(s|ed|ing)?\b/i))));
    expect(await search('REFUNDED')).toEqual(await search('refund'));
    expect(await search('charges')).toEqual(idsOf(sample.filter((chat) => mentions(chat, /\bcharg(e|es|ed|ing)\b/i))));
  });

  it('finds nothing for words no transcript holds, and needs every word of a search', async () => {
    for (const text of ['zqxjvk', '鲸鱼', 'ปลาวาฬ', '고래상어', 'クジラ']) expect(await search(text), text).toEqual([]);
    const zh = byLanguage.get('zh-CN')?.[0] as Chat;
    const run = textsOf(zh)
      .flatMap((text) => text.match(CLOSE_RUNS) ?? [])
      .find((candidate) => candidate.length >= 2) as string;
    expect(await search(run.slice(0, 2))).toContain(zh.id);
    expect(await search(`${run.slice(0, 2)} zqxjvk`)).toEqual([]);
    expect(await search(`${run.slice(0, 2)} refund`)).toEqual(
      idsOf(sample.filter((chat) => textsOf(chat).some((text) => text.includes(run.slice(0, 2))) && mentions(chat, /\brefund/i))),
    );
  });
});

describe('chats imported before search tokens', () => {
  it('are found by the old rule (whole words) until the archive is rebuilt, then by the new one', async () => {
    const chat = sample.find((candidate) => mentions(candidate, /\brefund\b/i) && !mentions(candidate, /\brefunds\b/i)) as Chat;
    const rooms = (await harness.archiveDb(TENANT)).collection<{ _id: string }>(ARCHIVE_COLLECTIONS.chats);
    const oldWords = [...new Set(textsOf(chat).flatMap(legacyTextWords))];
    await rooms.updateOne({ _id: chat.id }, { $unset: { 'ix.textTokens': '', 'ix.textTokensVersion': '' }, $set: { 'ix.words': oldWords } });

    expect(await search('refund')).toContain(chat.id);
    expect(await search('REFUND')).toContain(chat.id);
    expect(await search('refunds')).not.toContain(chat.id);

    const rebuilt = await rebuildArchive(harness.deps, TENANT);
    expect(rebuilt.failed).toEqual([]);
    const room = (await rooms.findOne({ _id: chat.id })) as { ix: { textTokensVersion?: number; words?: string[] } } | null;
    expect(room?.ix.textTokensVersion).toBe(TEXT_TOKEN_RULE_VERSION);
    expect(room?.ix.words).toBeUndefined();
    expect(await search('refunds')).toContain(chat.id);
  });
});
