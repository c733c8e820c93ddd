/**
 * Search tokens of chat text: the one rule that both the import (the tokens stored under `ix.textTokens`) and the
 * chat-list search (the tokens a search requires) follow, so text is always cut the same way on both sides.
 *
 * The rule (version {@link TEXT_TOKEN_RULE_VERSION}):
 * 1. **Normalise**: NFKC (full-width letters, ligatures, half-width kana), control characters become spaces, invisible
 *    format characters (zero-width joiners, soft hyphens, direction marks) and variation selectors are removed, lower
 *    case. Latin and Greek letters lose their diacritics (`Núñez` → `nunez`, `ß` → `ss`, `ł` → `l`), Cyrillic `ё`
 *    becomes `е`, Arabic loses its vowel marks and tatweel (and `أ إ آ` become `ا`), Hebrew its points. Marks that
 *    are letters of their own in other scripts (Devanagari vowel signs, Thai vowels and tones) are kept.
 * 2. **Chinese, Japanese, Korean, Thai, Lao, Khmer and Myanmar** (Han, Hiragana, Katakana, Hangul and those scripts):
 *    each run of consecutive such characters gives its overlapping pairs of characters (user-perceived characters,
 *    so a Thai consonant keeps its vowel and tone marks): `我要退款` → `我要 要退 退款`. A search of any two or more
 *    consecutive characters of the text therefore finds it; a single character is too short to search for.
 * 3. **Other scripts**: words by Unicode word boundaries (`Intl.Segmenter`), of at least two characters,
 *    cut at {@link MAX_TEXT_TOKEN_LENGTH}; a word joined by an apostrophe, dot, colon or underscore counts as a whole
 *    without its apostrophes (`hasn't` → `hasnt`), and the stored tokens also hold its parts (`O'Connor` is found by
 *    `connor`, `l'adresse` by `adresse`, `example.com` by `example`).
 * 4. **Light stemming** of words of plain letters `a`–`z` (see {@link stemWord}): `refunds`, `refunded`, `refunding` →
 *    `refund`; `charge`, `charges`, `charged`, `charging` → `charg`. It follows English, applies to every Latin-script
 *    word alike (so `facturas` finds `factura`) and only ever merges forms that differ by these endings.
 *
 * A search matches a chat whose stored tokens include every token of the search.
 */

/** Version of the rule, stored with the tokens (`ix.textTokensVersion`): chats tokenised by another rule are searched by theirs. */
export const TEXT_TOKEN_RULE_VERSION = 1;
/** Most distinct tokens stored per record (in order of appearance: later text beyond it is not searchable). */
export const MAX_RECORD_TEXT_TOKENS = 5_000;
/** Most distinct tokens one search may require. */
export const MAX_QUERY_TEXT_TOKENS = 32;
/** Longest token, in characters (code points); longer words are cut to it, on both sides alike. */
export const MAX_TEXT_TOKEN_LENGTH = 40;
/** Shortest word of a space-separated language, in characters. */
const MIN_WORD_LENGTH = 2;

const WORDS = new Intl.Segmenter('und', { granularity: 'word' });
/** Longest piece of text handed to `Intl.Segmenter` at once (its iteration slows down with the input's length). */
const MAX_SEGMENTED_LENGTH = 256;

const CONTROL = /\p{Cc}/gu;
const INVISIBLE = /[\p{Cf}\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;
/** A non-ASCII Latin or Greek letter with the marks after it, or marks after an ASCII letter. */
const LATIN_GREEK_WITH_MARKS = /(?=[\p{sc=Latin}\p{sc=Greek}])[\u0080-\u{10FFFF}]\p{M}*|(?<=[a-z])\p{M}+/gu;
const MARKS = /\p{M}/gu;
const NON_ASCII = /[\u0080-\u{10FFFF}]/u;
const LETTERS_WITHOUT_DECOMPOSITION: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ς: 'σ',
};
/**
 * Arabic vowel marks and tatweel, Hebrew points (removed); Arabic alef with hamza or madda, Cyrillic `ё` and
 * apostrophe-like quotes (replaced, see {@link OTHER_FOLDS}).
 */
const OTHER_FOLDED =
  /[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E8\u06EA-\u06ED\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0640\u0622\u0623\u0625\u0671ё\u2018\u2019\u201B\u02BC]/gu;
const OTHER_FOLDS: Readonly<Record<string, string>> = {
  '\u0622': '\u0627',
  '\u0623': '\u0627',
  '\u0625': '\u0627',
  '\u0671': '\u0627',
  ё: 'е',
  '\u2018': "'",
  '\u2019': "'",
  '\u201B': "'",
  '\u02BC': "'",
};

const DENSE_SCRIPTS = '\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}\\p{sc=Thai}\\p{sc=Lao}\\p{sc=Khmer}\\p{sc=Myanmar}\\u30FC';
/** A run of Chinese, Japanese, Korean or Thai (group 1), or a stretch of other text without spaces. */
const STRETCHES = new RegExp(`((?:[${DENSE_SCRIPTS}]\\p{M}*)+)|[^\\s${DENSE_SCRIPTS}]+`, 'gu');
const CHARACTER_WITH_MARKS = /\P{M}\p{M}*/gu;
const WORD_CHARACTER = /[\p{L}\p{M}\p{N}]/u;
/**
 * A stretch that is one word (letters, marks and digits, perhaps joined by single apostrophes, dots or colons) with
 * punctuation at most before and after it: the word Unicode word boundaries find, without the (slow) segmenter.
 */
const PLAIN_WORD = /^[^\p{L}\p{M}\p{N}_]{0,8}([\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:['.:·][\p{L}\p{N}][\p{L}\p{M}\p{N}]*)*)[^\p{L}\p{M}\p{N}_'.:·]{0,8}$/u;
const JOINERS = /['._:·]/u;
const JOINER_SPLIT = /['._:·]+/u;

/**
 * Text as search compares it (rule step 1): NFKC, controls as spaces, invisible characters removed, lower case,
 * diacritics of Latin and Greek letters, Arabic vowel marks and Hebrew points removed, apostrophes as `'`.
 *
 * @example
 * foldSearchText('Ｎúñez\u00ADs Straße'); // 'nunezs strasse'
 */
export function foldSearchText(text: string): string {
  let folded = text.normalize('NFKC').replace(CONTROL, ' ').replace(INVISIBLE, '').toLowerCase();
  if (!NON_ASCII.test(folded)) return folded;
  folded = folded.replace(LATIN_GREEK_WITH_MARKS, (letter) => {
    const base = letter.normalize('NFD').replace(MARKS, '');
    return LETTERS_WITHOUT_DECOMPOSITION[base] ?? base;
  });
  return folded.replace(OTHER_FOLDED, (character) => OTHER_FOLDS[character] ?? '');
}

const VOWEL = /[aeiou]/;
const VOWEL_OR_Y = /[aeiouy]/;
const VOWEL_GROUPS = /[aeiou]+/g;
const UNDOUBLED = /([bdgmnprt])\1$/;

const vowelGroups = (word: string): number => word.match(VOWEL_GROUPS)?.length ?? 0;

/** Consonant, vowel, consonant at the end (the last not `w`, `x` or `y`) and one vowel group: `hop`, `not`, `pric`. */
function isShort(word: string): boolean {
  const [c1, v, c2] = [...word.slice(-3)];
  if (c1 === undefined || v === undefined || c2 === undefined || word.length < 3) return false;
  return !VOWEL.test(c1) && VOWEL.test(v) && !VOWEL.test(c2) && !'wxy'.includes(c2) && vowelGroups(word) === 1;
}

/** A stem left by removing `-ed` or `-ing`, mended: `shipp` → `ship`, `not` → `note` (from `noted`), `hop` stays. */
function mendStem(stem: string): string {
  if (UNDOUBLED.test(stem) && stem.length > 3) return stem.slice(0, -1);
  return isShort(stem) ? `${stem}e` : stem;
}

/**
 * The stem search uses for a word of plain letters `a`–`z` of four letters or more (other words are returned as
 * they are): a small, conservative subset of Porter's steps 1 and 5 that removes plural and verb endings only.
 * - plural and third person: `-sses` → `-ss`, `-ies` → `-y`, `-s` (not after `s`, `u` or `i`: `status`, `this`);
 * - `-eed` → `-ee` (`agreed`), `-ied` → `-y` (`replied`), `-ed` and `-ing` when a vowel remains in a stem of three
 *   letters or more (`need`, `bring`, `used` stay), then a doubled final consonant is undoubled (`shipped` → `ship`)
 *   or a short stem gets its `e` back (`noted` → `note`, `priced` → `price`);
 * - a final `e` is removed unless that leaves a short word (`charge` → `charg`, `delete` → `delet`; `note`, `price`
 *   and `agree` stay), and a final `ll` of a word of two or more syllables becomes `l` (`cancelled` and `cancel`,
 *   `install` and `installed` meet; `bill` stays).
 *
 * @example
 * stemWord('refunds'); // 'refund'
 * stemWord('charging') === stemWord('charges'); // true ('charg')
 */
export function stemWord(word: string): string {
  if (word.length < 4 || !/^[a-z]+$/.test(word)) return word;
  let stem = word;
  if (stem.endsWith('sses')) stem = stem.slice(0, -2);
  else if (stem.endsWith('ies') && stem.length > 4) stem = `${stem.slice(0, -3)}y`;
  else if (stem.endsWith('s') && !/[sui]s$/.test(stem)) stem = stem.slice(0, -1);
  if (stem.endsWith('eed')) {
    if (VOWEL_OR_Y.test(stem.slice(0, -3))) stem = stem.slice(0, -1);
  } else if (stem.endsWith('ied') && stem.length > 4) {
    stem = `${stem.slice(0, -3)}y`;
  } else {
    for (const ending of ['ed', 'ing']) {
      const rest = stem.slice(0, -ending.length);
      if (stem.endsWith(ending) && rest.length >= 3 && VOWEL_OR_Y.test(rest)) {
        stem = mendStem(rest);
        break;
      }
    }
  }
  if (stem.length >= 4 && stem.endsWith('e') && !stem.endsWith('ee') && !isShort(stem.slice(0, -1))) stem = stem.slice(0, -1);
  if (stem.endsWith('ll') && vowelGroups(stem) >= 2) stem = stem.slice(0, -1);
  return stem;
}

/** Whether to keep a word's parts too (the stored tokens) or only the word as a whole (a search). */
type TokenMode = 'stored' | 'search';

function cut(token: string): string {
  if (token.length <= MAX_TEXT_TOKEN_LENGTH) return token;
  return Array.from(token).slice(0, MAX_TEXT_TOKEN_LENGTH).join('');
}

const longEnough = (word: string): boolean => word.length >= MIN_WORD_LENGTH && (word.length > 2 || Array.from(word).length >= MIN_WORD_LENGTH);

/** Emits the overlapping pairs of characters (a base character with its marks) of a run of Chinese, Japanese, Korean or Thai. */
function emitPairs(run: string, emit: (token: string) => boolean): boolean {
  let previous: string | undefined;
  for (const [unit] of run.matchAll(CHARACTER_WITH_MARKS)) {
    if (previous !== undefined && !emit(cut(`${previous}${unit}`))) return false;
    previous = unit;
  }
  return true;
}

/**
 * Pieces of a stretch of text without spaces of at most {@link MAX_SEGMENTED_LENGTH} characters, cut after a
 * character that is no letter, mark or digit where there is one (`Intl.Segmenter` is slow on long input).
 */
function* boundedPieces(stretch: string): Generator<string> {
  let rest = stretch;
  while (rest.length > MAX_SEGMENTED_LENGTH) {
    const head = rest.slice(0, MAX_SEGMENTED_LENGTH);
    let at = head.length;
    while (at > 0 && WORD_CHARACTER.test(head.charAt(at - 1))) at -= 1;
    if (at === 0) at = head.length;
    yield rest.slice(0, at);
    rest = rest.slice(at);
  }
  yield rest;
}

/** Calls `emit` with every token of `text` in order (with repeats) until it returns `false`; returns whether it got to the end. */
function eachToken(text: string, mode: TokenMode, emit: (token: string) => boolean): boolean {
  const word = (segment: string): boolean => {
    const whole = cut(stemWord(segment.replaceAll("'", '')));
    if (longEnough(whole) && !emit(whole)) return false;
    if (mode === 'search' || !JOINERS.test(segment)) return true;
    for (const part of segment.split(JOINER_SPLIT)) {
      const token = cut(stemWord(part));
      if (token !== whole && longEnough(token) && !emit(token)) return false;
    }
    return true;
  };
  for (const [stretch, run] of foldSearchText(text).matchAll(STRETCHES)) {
    if (run !== undefined) {
      if (!emitPairs(run, emit)) return false;
      continue;
    }
    if (!WORD_CHARACTER.test(stretch)) continue;
    const plain = PLAIN_WORD.exec(stretch)?.[1];
    if (plain !== undefined) {
      if (!word(plain)) return false;
      continue;
    }
    for (const piece of boundedPieces(stretch)) {
      for (const { segment, isWordLike } of WORDS.segment(piece)) if (isWordLike === true && !word(segment)) return false;
    }
  }
  return true;
}

/**
 * The distinct tokens stored for the texts of one record (a chat's messages, in order), at most `limit`
 * ({@link MAX_RECORD_TEXT_TOKENS}); text after the limit is reached is not read.
 *
 * @example
 * recordTextTokens(['我要退款', 'Refunds?']); // ['我要', '要退', '退款', 'refund']
 */
export function recordTextTokens(texts: Iterable<string>, limit = MAX_RECORD_TEXT_TOKENS): string[] {
  const tokens = new Set<string>();
  const add = (token: string): boolean => {
    tokens.add(token);
    return tokens.size < limit;
  };
  if (limit < 1) return [];
  for (const text of texts) if (!eachToken(text, 'stored', add)) break;
  return [...tokens];
}

/**
 * The distinct tokens a search for `text` requires, every one of them (a chat matches when its stored tokens hold
 * them all). Empty when the text has no word of two characters. The caller limits how many it accepts
 * ({@link MAX_QUERY_TEXT_TOKENS}).
 *
 * @example
 * searchTextTokens('Refunds 退款'); // ['refund', '退款']
 */
export function searchTextTokens(text: string): string[] {
  const tokens = new Set<string>();
  eachToken(text, 'search', (token) => {
    tokens.add(token);
    return true;
  });
  return [...tokens];
}

const LEGACY_WORD = /[\p{L}\p{N}][\p{L}\p{N}_'-]*/gu;

/**
 * The words of chats imported before search tokens existed (stored as `ix.words`, no `ix.textTokensVersion`):
 * lowercased runs of letters and digits (NFKC), 2 to 40 characters, no stemming. Searches use it for those chats
 * until the archive is rebuilt.
 *
 * @example
 * legacyTextWords('Refunds, please'); // ['refunds', 'please']
 */
export function legacyTextWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(LEGACY_WORD)) {
    const word = match[0];
    if (word.length >= 2 && word.length <= 40) words.push(word);
  }
  return words;
}
