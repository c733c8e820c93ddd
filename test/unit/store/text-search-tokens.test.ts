import { describe, expect, it } from 'vitest';
import { DEMO_LOCALES, type DemoLocale } from '../../../src/records/demo/demo-locales.js';
import { chatConditions, chatFilterSchema } from '../../../src/store/archive/chat-queries.js';
import {
  foldSearchText,
  legacyTextWords,
  MAX_QUERY_TEXT_TOKENS,
  MAX_RECORD_TEXT_TOKENS,
  MAX_TEXT_TOKEN_LENGTH,
  recordTextTokens,
  searchTextTokens,
  stemWord,
  TEXT_TOKEN_RULE_VERSION,
} from '../../../src/store/archive/text-search-tokens.js';

/** Whether a search for `query` finds a record whose texts are `texts`: the store's rule (every search token stored). */
function finds(query: string, texts: string | string[]): boolean {
  const wanted = searchTextTokens(query);
  const stored = new Set(recordTextTokens(typeof texts === 'string' ? [texts] : texts));
  return wanted.length > 0 && wanted.every((token) => stored.has(token));
}

const localeOf = (tag: string): DemoLocale => {
  const locale = DEMO_LOCALES.find((candidate) => candidate.tag === tag);
  if (locale === undefined) throw new Error(`no demo locale ${tag}`);
  return locale;
};
const linesOf = (locale: DemoLocale): string[] => [
  ...locale.customerLines.map((line) => line.replace('{n}', '48213')),
  ...locale.agentLines,
  locale.botGreeting,
  locale.agentGreeting.replace('{agent}', 'Kim'),
  locale.agentClosing,
];
const CLOSE_SCRIPTS = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]/u;
const CLOSE_RUNS = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\u30FC]+/gu;
const graphemes = (text: string): string[] => Array.from(new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(text), (part) => part.segment);
const wordsOf = (text: string): string[] =>
  Array.from(new Intl.Segmenter('und', { granularity: 'word' }).segment(text))
    .filter((part) => part.isWordLike === true && !CLOSE_SCRIPTS.test(part.segment) && Array.from(part.segment).length >= 2)
    .map((part) => part.segment);

describe('search tokens of the demo transcripts, language by language', () => {
  it('covers every demo language', () => {
    expect(DEMO_LOCALES.map((locale) => locale.tag).sort()).toEqual(
      [
        'ar-SA',
        'de-DE',
        'en-AU',
        'en-GB',
        'en-US',
        'es-ES',
        'es-MX',
        'fr-FR',
        'he-IL',
        'hi-IN',
        'ja-JP',
        'ko-KR',
        'pl-PL',
        'pt-BR',
        'ru-RU',
        'th-TH',
        'vi-VN',
        'zh-CN',
        'zh-TW',
      ].sort(),
    );
  });

  it.each(DEMO_LOCALES.map((locale) => [locale.tag, locale] as const))(
    '%s: every word of every line, and every run of two or more characters in CJK and Thai, finds the line',
    (_tag, locale) => {
      let searched = 0;
      for (const line of linesOf(locale)) {
        for (const word of wordsOf(line)) {
          expect(finds(word, line), `${JSON.stringify(word)} in ${JSON.stringify(line)}`).toBe(true);
          expect(finds(word.toUpperCase(), line), `${JSON.stringify(word.toUpperCase())} in ${JSON.stringify(line)}`).toBe(true);
          searched += 1;
        }
        for (const run of line.match(CLOSE_RUNS) ?? []) {
          const units = graphemes(run);
          for (let start = 0; start + 2 <= units.length; start += 1) {
            for (let end = start + 2; end <= units.length; end += 1) {
              const part = units.slice(start, end).join('');
              expect(finds(part, line), `${JSON.stringify(part)} in ${JSON.stringify(line)}`).toBe(true);
              searched += 1;
            }
          }
        }
      }
      expect(searched).toBeGreaterThan(3);
    },
  );

  const cases: [tag: string, line: string, query: string, found: boolean][] = [
    ['zh-CN', '你好，我的订单A{n}还没发货', '订单', true],
    ['zh-CN', '你好，我的订单A{n}还没发货', '还没发货', true],
    ['zh-CN', '你好，我的订单A{n}还没发货', '的订', true],
    ['zh-CN', '你好，我的订单A{n}还没发货', '退款', false],
    ['zh-CN', '你好，我的订单A{n}还没发货', '订', false],
    ['zh-CN', '你好，我的订单A{n}还没发货', '好我', false],
    ['zh-TW', '請問退貨要怎麼處理？', '退貨', true],
    ['zh-TW', '請問退貨要怎麼處理？', '退货', false],
    ['ja-JP', '解約の手続きをしたいです。', '手続き', true],
    ['ja-JP', '解約の手続きをしたいです。', '解約', true],
    ['ja-JP', 'パスワード再設定のリンクをお送りしました。', 'ﾊﾟｽﾜｰﾄﾞ', true],
    ['ja-JP', 'パスワード再設定のリンクをお送りしました。', 'ログイン', false],
    ['ko-KR', '환불은 언제 되나요?', '환불', true],
    ['ko-KR', '환불은 3~5영업일 소요됩니다.', '영업일', true],
    ['ko-KR', '환불은 언제 되나요?', '배송', false],
    ['th-TH', 'เปลี่ยนที่อยู่จัดส่งได้ไหมคะ', 'ที่อยู่', true],
    ['th-TH', 'เปลี่ยนที่อยู่จัดส่งได้ไหมคะ', 'จัดส่ง', true],
    ['th-TH', 'เปลี่ยนที่อยู่จัดส่งได้ไหมคะ', 'ขอบคุณ', false],
    ['en-US', 'I was charged twice this month, can you check?', 'charges', true],
    ['en-US', 'I was charged twice this month, can you check?', 'CHARGING', true],
    ['en-US', 'I\u2019ve issued a refund, it should show in 3\u20135 business days.', 'refunds', true],
    ['en-US', 'I\u2019ve issued a refund, it should show in 3\u20135 business days.', 'refunded issue', true],
    ['en-US', 'I\u2019ve issued a refund, it should show in 3\u20135 business days.', 'refund password', false],
    ['en-US', 'Hi, my order #A{n} still hasn\u2019t arrived 📦', "hasn't", true],
    ['en-US', 'Hi, my order #A{n} still hasn\u2019t arrived 📦', 'arrive orders', true],
    ['en-GB', 'That\u2019s been cancelled, you\u2019ll get a confirmation email shortly.', 'cancel', true],
    ['es-ES', 'Ya está corregida la factura.', 'FACTURAS', true],
    ['es-MX', 'Gracias por contactarnos, ¡que tenga buen día! 😊', 'dia contactarnos', true],
    ['es-ES', 'Buenas, la factura no cuadra', 'cuadra', true],
    ['pt-BR', 'Não consigo pagar com Pix 😩', 'nao consigo', true],
    ['fr-FR', 'Est-ce que je peux être remboursé ?', 'rembourse', true],
    ['fr-FR', 'Je regarde cela tout de suite.', 'remboursement', false],
    ['de-DE', 'Die Kündigung ist bestätigt.', 'kundigung', true],
    ['de-DE', 'Die Kündigung ist bestätigt.', 'KÜNDIGUNG BESTÄTIGT', true],
    ['ar-SA', 'كيف أغير رقم الجوال في حسابي؟', 'اغير', true],
    ['ar-SA', 'كيف أغير رقم الجوال في حسابي؟', 'الجوال', true],
    ['hi-IN', 'पैसे कट गए लेकिन ऑर्डर नहीं दिखा 😟', 'ऑर्डर', true],
    ['hi-IN', 'पैसे कट गए लेकिन ऑर्डर नहीं दिखा 😟', 'रिफंड', false],
    ['ru-RU', 'Как поменять тариф?', 'ТАРИФ', true],
    ['he-IL', 'שלום, החשבונית שלי לא נכונה', 'החשבונית', true],
    ['vi-VN', 'Chào bạn, đơn hàng của mình bị giao trễ', 'don hang', true],
    ['vi-VN', 'Chào bạn, đơn hàng của mình bị giao trễ', 'đơn hàng', true],
    ['pl-PL', 'Dziękuję bardzo! 👍', 'dziekuje', true],
  ];

  it.each(cases)('%s: %s — %s finds it: %s', (tag, line, query, found) => {
    expect(linesOf(localeOf(tag))).toContain(line.replace('{n}', '48213'));
    expect(finds(query, line.replace('{n}', '48213'))).toBe(found);
  });

  it('requires every word of a search (AND), in any order, across the messages of one record', () => {
    const chat = ['你好，我的订单A48213还没发货', 'I was charged twice this month'];
    expect(finds('twice 订单', chat)).toBe(true);
    expect(finds('发货 charged month', chat)).toBe(true);
    expect(finds('twice 退款', chat)).toBe(false);
    expect(finds('twice refund', chat)).toBe(false);
  });
});

describe('stemWord', () => {
  it.each([
    [['refund', 'refunds', 'refunded', 'refunding'], 'refund'],
    [['charge', 'charges', 'charged', 'charging'], 'charg'],
    [['price', 'prices', 'priced', 'pricing'], 'price'],
    [['note', 'notes', 'noted'], 'note'],
    [['ship', 'ships', 'shipped', 'shipping'], 'ship'],
    [['cancel', 'cancels', 'canceled', 'cancelled', 'cancelling'], 'cancel'],
    [['reply', 'replies', 'replied', 'replying'], 'reply'],
    [['agree', 'agrees', 'agreed', 'agreeing'], 'agree'],
    [['address', 'addresses'], 'address'],
    [['box', 'boxes'], 'box'],
    [['invoice', 'invoices', 'invoiced'], 'invoic'],
    [['bill', 'bills', 'billed', 'billing'], 'bill'],
    [['add', 'adds', 'added', 'adding'], 'add'],
  ])('%j all become %s', (forms, stem) => {
    expect(forms.map(stemWord)).toEqual(forms.map(() => stem));
  });

  it.each(['status', 'this', 'bus', 'need', 'speed', 'bring', 'thing', 'used', 'being', 'was', 'has', 'a12345', 'straße', 'über'])(
    'keeps %s as it is',
    (word) => {
      expect(stemWord(word)).toBe(word);
    },
  );

  it.each([
    ['note', 'not'],
    ['price', 'pric'],
    ['bill', 'bil'],
    ['need', 'ne'],
  ])('keeps %s and %s apart', (a, b) => {
    expect(stemWord(a)).not.toBe(stemWord(b));
  });
});

describe('normalisation', () => {
  it.each([
    ['ＲＥＦＵＮＤ', 'refund'],
    ['Núñez', 'nunez'],
    ['Straße', 'strasse'],
    ['Łódź', 'lodz'],
    ['İstanbul', 'istanbul'],
    ['ΆΘΗΝΑ', 'αθηνα'],
    ['Ёлка', 'елка'],
    ['أَحْمَد', 'احمد'],
    ['שָׁלוֹם', 'שלום'],
    ['ﬁle', 'file'],
    ['e\u0301cole', 'ecole'],
    ['hasn\u2019t', "hasn't"],
    ['re\u00ADfund\u200B', 'refund'],
    ['a\u0000b\tc', 'a b c'],
  ])('%s folds to %s', (text, folded) => {
    expect(foldSearchText(text)).toBe(folded);
  });

  it('keeps the marks that are letters in Devanagari and Thai', () => {
    expect(foldSearchText('नमस्ते')).toBe('नमस्ते');
    expect(foldSearchText('ที่อยู่')).toBe('ที่อยู่');
  });
});

describe('odd input and limits', () => {
  it.each([
    ['empty', ''],
    ['spaces and punctuation', '  ,.!? — … '],
    ['emoji only', '👍🏽 👩‍💻 🇯🇵 ❤️'],
    ['one letter and one ideograph', 'a 退'],
    ['control characters', '\u0000\u0001\u001F\u007F'],
  ])('%s gives no token', (_name, text) => {
    expect(searchTextTokens(text)).toEqual([]);
    expect(recordTextTokens([text])).toEqual([]);
  });

  it('splits at control characters and emoji, and joins across invisible ones', () => {
    expect(searchTextTokens('refund\u0000please')).toEqual(['refund', 'pleas']);
    expect(searchTextTokens('refund👍please')).toEqual(['refund', 'pleas']);
    expect(searchTextTokens('退款👍发货')).toEqual(['退款', '发货']);
    expect(searchTextTokens('ref\u200Dunds')).toEqual(['refund']);
    expect(finds('refund', 'please re\u00ADfund it')).toBe(true);
  });

  it('survives lone surrogates and mixed scripts in one word', () => {
    expect(() => recordTextTokens(['\uD800refund\uDFFF', 'abc\uD83D'])).not.toThrow();
    expect(finds('番号A48213', '注文番号A48213の配送状況')).toBe(true);
  });

  it(`cuts words at ${MAX_TEXT_TOKEN_LENGTH} characters, on both sides alike`, () => {
    const long = `${'x'.repeat(30)}${'y'.repeat(30)}`;
    expect(recordTextTokens([long])).toEqual([long.slice(0, MAX_TEXT_TOKEN_LENGTH)]);
    expect(finds(long, `see ${long}`)).toBe(true);
    expect(finds(`${long}zzz`, `see ${long}`)).toBe(true);
  });

  it(`stores at most ${MAX_RECORD_TEXT_TOKENS} distinct tokens per record, the first ones, and stops reading`, () => {
    const words = Array.from({ length: MAX_RECORD_TEXT_TOKENS + 500 }, (_, i) => `w${i.toString(36)}x`);
    const tokens = recordTextTokens([words.slice(0, 3000).join(' '), words.slice(3000).join(' ')]);
    expect(tokens).toHaveLength(MAX_RECORD_TEXT_TOKENS);
    expect(tokens[0]).toBe('w0x');
    expect(tokens).toContain(words[MAX_RECORD_TEXT_TOKENS - 1]);
    expect(tokens).not.toContain(words[MAX_RECORD_TEXT_TOKENS]);
    expect(recordTextTokens(['a b refund refund refund'], 1)).toEqual(['refund']);
    expect(recordTextTokens(['refund'], 0)).toEqual([]);
  });

  it('tokenises a very long text quickly and within the limit', () => {
    const text = `${'我要退款，订单还没发货。'.repeat(20_000)} ${'charged twice '.repeat(20_000)}`;
    const started = performance.now();
    const tokens = recordTextTokens([text]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(tokens.length).toBeLessThanOrEqual(MAX_RECORD_TEXT_TOKENS);
    expect(tokens).toEqual(expect.arrayContaining(['退款', '订单', 'charg', 'twice']));
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('finds words by their parts in the stored tokens, but a search asks for the whole word', () => {
    expect(finds('connor', 'Mrs O\u2019Connor called')).toBe(true);
    expect(finds("o'connor", 'Mrs O\u2019Connor called')).toBe(true);
    expect(finds('adresse', 'Merci pour l\u2019adresse')).toBe(true);
    expect(finds('example', 'see example.com')).toBe(true);
    expect(finds('example.com', 'see example and com')).toBe(false);
  });
});

describe('the chat text filter', () => {
  const conditionsOf = (text: string) => chatConditions(chatFilterSchema.parse({ text }));
  const codeOf = (run: () => unknown): string | undefined => {
    try {
      run();
      return undefined;
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };

  it('asks for every search token by the current rule, and every old word of chats imported before it', () => {
    expect(conditionsOf('Refunds 退款')).toEqual({
      $and: [
        {
          $or: [
            { 'ix.textTokensVersion': TEXT_TOKEN_RULE_VERSION, 'ix.textTokens': { $all: ['refund', '退款'] } },
            { 'ix.textTokensVersion': { $exists: false }, 'ix.words': { $all: ['refunds', '退款'] } },
          ],
        },
      ],
    });
    expect(legacyTextWords('我要退款 Refunds')).toEqual(['我要退款', 'refunds']);
  });

  it.each([
    ['a single ideograph and a single letter', '退 a'],
    ['emoji', '👍👍'],
    ['punctuation', '?!'],
    ['too many tokens', '我的订单还没发货请问退货要怎么处理谢谢您好我是智能客服请问有什么可以帮您感谢您的咨询'],
  ])('refuses %s as ERR_ARCHIVE_FILTER_INVALID', (_name, text) => {
    expect(codeOf(() => conditionsOf(text))).toBe('ERR_ARCHIVE_FILTER_INVALID');
  });

  it(`accepts up to ${MAX_QUERY_TEXT_TOKENS} tokens`, () => {
    const words = Array.from({ length: MAX_QUERY_TEXT_TOKENS }, (_, i) => `w${i}x`).join(' ');
    expect(codeOf(() => conditionsOf(words))).toBeUndefined();
    expect(codeOf(() => conditionsOf(`${words} extra`))).toBe('ERR_ARCHIVE_FILTER_INVALID');
  });
});
