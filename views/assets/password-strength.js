// @ts-check
/**
 * The password strength meter's judgement (OWASP ASVS 2.1.8), as a plain ES module without DOM access: the browser
 * loads it from /assets, the unit tests import it. The server stays the authority (src/auth/password-policy.ts);
 * this module repeats its checks (length, common passwords, context words, repetition) so that the meter says what
 * the server will say, and adds an estimate of how hard the password is to guess. There are no composition rules
 * (ASVS 2.1.9): the advice is always "longer", never "add a digit or a symbol".
 */

/** Longest password the server accepts, in code points (MAX_PASSWORD_LENGTH in src/auth/password-hashing.ts). */
export const MAX_PASSWORD_LENGTH = 1024;

/** Context words shorter than this are ignored, as on the server. */
const MIN_CONTEXT_TERM = 4;

/** Estimated bits at which the meter moves up: below 40 weak, below 50 fair, below 64 good, from 64 strong. */
export const STRENGTH_THRESHOLDS = Object.freeze([40, 50, 64]);

/** Labels of the five scores: 0 is "not accepted", 1 to 4 are accepted passwords from weak to strong. */
export const SCORE_LABELS = Object.freeze(['Not accepted', 'Weak', 'Fair', 'Good', 'Strong']);

/** Bits per letter of a word-like run of letters (about 13 bits for a word of 5 or 6 letters from a large list). */
const WORD_LETTER_BITS = 2.3;
/** Only this many characters are examined for patterns; the rest counts at the full per-character rate. */
const PATTERN_WINDOW = 256;
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'yxcvbnm', 'azertyuiop', 'qsdfghjklm', 'wxcvbn'];

/**
 * @typedef {'TOO_SHORT' | 'TOO_LONG' | 'COMMON' | 'CONTAINS_CONTEXT' | 'REPETITIVE'} PasswordProblemCode
 * @typedef {{ code: PasswordProblemCode, label: string, message: string }} PasswordProblem
 * @typedef {{ mayContain(text: string): boolean }} CommonPasswordFilter
 * @typedef {{ count: number, entries: number, riceBits: number, range: number, data: string }} EncodedCommonPasswordFilter
 * @typedef {{
 *   minLength: number,
 *   contextTerms?: readonly string[],
 *   commonPasswords?: CommonPasswordFilter,
 * }} StrengthPolicy
 * @typedef {{
 *   empty: boolean,
 *   length: number,
 *   accepted: boolean,
 *   score: 0 | 1 | 2 | 3 | 4,
 *   label: string,
 *   message: string,
 *   bits: number,
 *   problems: PasswordProblem[],
 * }} PasswordAssessment
 */

/**
 * NFKC as on the server (input far beyond the maximum is left as it is, so it is not normalised for nothing).
 * @param {string} password
 * @returns {string}
 */
export function normalizePassword(password) {
  return password.length > MAX_PASSWORD_LENGTH * 4 ? password : password.normalize('NFKC');
}

/**
 * Length as the server counts it: code points after NFKC, a run of spaces counted once.
 * @param {string} password
 * @returns {number}
 */
export function passwordLength(password) {
  return [...normalizePassword(password).replace(/ {2,}/g, ' ')].length;
}

/**
 * Lower case, NFKC, only letters and digits: how the server compares a password with context words.
 * @param {string} text
 * @returns {string}
 */
export function compactText(text) {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * Context words from the form itself (owner activation: the email address and name being typed), derived as the
 * server derives them: the email's local part and its pieces, the name and its words.
 * @param {{ email?: string, displayName?: string }} fields
 * @returns {string[]}
 */
export function contextTermsOf(fields) {
  /** @type {string[]} */
  const terms = [];
  if (fields.email) {
    const local = fields.email.split('@')[0] ?? '';
    terms.push(local, ...local.split(/[._+-]/));
  }
  if (fields.displayName) terms.push(fields.displayName, ...fields.displayName.split(/\s+/));
  return [...new Set(terms.map(compactText))].filter((term) => [...term].length >= MIN_CONTEXT_TERM);
}

/**
 * The server's `REPETITIVE` rule: fewer than four different characters, or a run with a step of -1, 0 or +1.
 * @param {string} normalized
 * @returns {boolean}
 */
export function isRepetitive(normalized) {
  const codePoints = [...normalized].map((c) => c.codePointAt(0) ?? 0);
  if (new Set(codePoints).size < 4) return true;
  const step = (codePoints[1] ?? 0) - (codePoints[0] ?? 0);
  return Math.abs(step) <= 1 && codePoints.every((cp, i) => i === 0 || cp - (codePoints[i - 1] ?? 0) === step);
}

/**
 * The server's `COMMON` rule against a filter: the password in lower case, and without the digits and symbols
 * around a word ("Password123!" is "password").
 * @param {string} normalized
 * @param {CommonPasswordFilter} filter
 * @returns {boolean}
 */
export function isCommonPassword(normalized, filter) {
  const lower = normalized.normalize('NFKC').toLowerCase();
  const withoutSymbols = lower.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  const withoutDigitsOrSymbols = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  return [lower, withoutSymbols, withoutDigitsOrSymbols].some((candidate) => candidate !== '' && filter.mayContain(candidate));
}

/**
 * The 32-bit hash of the common-password filter (FNV-1a over UTF-16 code units, then MurmurHash3's finaliser).
 * @param {string} text
 * @returns {number}
 */
export function filterHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Opens the compact list of common passwords (views/assets/common-password-filter.js): a Golomb-Rice coded set of
 * hashes, about 20 bits per password instead of the 80 of the text. A listed password is always found; a password
 * that is not listed is reported as listed with a probability of 2^-riceBits per lookup (1 in 65,536).
 * @param {EncodedCommonPasswordFilter} encoded
 * @returns {CommonPasswordFilter}
 */
export function decodeCommonPasswordFilter(encoded) {
  const binary = atob(encoded.data);
  const values = new Float64Array(encoded.count);
  const divisor = 2 ** encoded.riceBits;
  let bit = 0;
  const readBit = () => {
    const value = (binary.charCodeAt(bit >>> 3) >>> (7 - (bit & 7))) & 1;
    bit += 1;
    return value;
  };
  let value = 0;
  for (let i = 0; i < encoded.count; i += 1) {
    let quotient = 0;
    while (readBit() === 1) quotient += 1;
    let remainder = 0;
    for (let b = 0; b < encoded.riceBits; b += 1) remainder = remainder * 2 + readBit();
    value += quotient * divisor + remainder;
    values[i] = value;
  }
  return {
    mayContain(text) {
      const wanted = filterHash(text) % encoded.range;
      let low = 0;
      let high = values.length - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const found = values[middle] ?? 0;
        if (found === wanted) return true;
        if (found < wanted) low = middle + 1;
        else high = middle - 1;
      }
      return false;
    },
  };
}

/**
 * @param {string} a
 * @param {string} b
 */
function onKeyboardNextTo(a, b) {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return KEYBOARD_ROWS.some((row) => {
    const i = row.indexOf(x);
    return i >= 0 && (row[i + 1] === y || (i > 0 && row[i - 1] === y));
  });
}

/**
 * Length of the run starting at `start` that an attacker's rules produce cheaply: one character repeated, a
 * constant step ("abcd", "2468", "9876") or four or more neighbours on a keyboard row ("qwerty", "asdf"; shorter
 * ones are common inside words).
 * @param {string[]} chars
 * @param {number} start
 */
function patternRunLength(chars, start) {
  const first = chars[start] ?? '';
  const second = chars[start + 1];
  if (second === undefined) return 1;
  const step = (second.codePointAt(0) ?? 0) - (first.codePointAt(0) ?? 0);
  let stepRun = 1;
  if (Math.abs(step) <= 2) {
    while (start + stepRun < chars.length && (chars[start + stepRun]?.codePointAt(0) ?? 0) - (chars[start + stepRun - 1]?.codePointAt(0) ?? 0) === step)
      stepRun += 1;
  }
  let keyboardRun = 1;
  while (start + keyboardRun < chars.length && onKeyboardNextTo(chars[start + keyboardRun - 1] ?? '', chars[start + keyboardRun] ?? '')) keyboardRun += 1;
  return Math.max(stepRun, keyboardRun >= 4 ? keyboardRun : 1);
}

/**
 * Length of the longest earlier copy of the text at `start` ("Summer24!Summer24!", "abcabc").
 * @param {string[]} chars
 * @param {number} start
 */
function repeatLength(chars, start) {
  let best = 0;
  for (let from = 0; from < start; from += 1) {
    let length = 0;
    while (start + length < chars.length && chars[from + length] === chars[start + length]) length += 1;
    if (length > best) best = length;
  }
  return best;
}

/** Look-alike substitutions ("p4ssw0rd") that attackers' rules try inside words. */
const LEET = Object.freeze({ 0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't', '@': 'a', $: 's', '!': 'i' });

/**
 * @param {string[]} chars
 * @param {number} i
 */
function isLetterLike(chars, i) {
  const c = chars[i] ?? '';
  if (/[a-z]/i.test(c)) return true;
  return c in LEET && (/[a-z]/i.test(chars[i - 1] ?? '') || /[a-z]/i.test(chars[i + 1] ?? ''));
}

/**
 * Word-like runs: two or more ASCII letters (look-alike digits and symbols next to letters read as letters, a capital
 * after a small letter starts a new word: "CorrectHorse") with a natural share of vowels, in lower case, capitalised
 * or all capitals. Returns, per position, the bits a character of such a word costs (0 outside words): a letter
 * about 2.3, a capital start 1 more, a look-alike 1 more.
 * @param {string[]} chars
 * @returns {number[]}
 */
function wordLetterBits(chars) {
  const bits = new Array(chars.length).fill(0);
  let start = 0;
  while (start < chars.length) {
    if (!isLetterLike(chars, start)) {
      start += 1;
      continue;
    }
    let end = start + 1;
    while (end < chars.length && isLetterLike(chars, end) && !(/[a-z]/.test(chars[end - 1] ?? '') && /[A-Z]/.test(chars[end] ?? ''))) end += 1;
    const raw = chars.slice(start, end);
    const letters = raw.filter((c) => /[a-z]/i.test(c)).join('');
    const plain = raw.map((c) => (/[a-z]/i.test(c) ? c.toLowerCase() : (LEET[/** @type {keyof typeof LEET} */ (c)] ?? c))).join('');
    const vowels = (plain.match(/[aeiouy]/g) ?? []).length / plain.length;
    const capital = /^[A-Z][a-z]*$/.test(letters) || /^[A-Z]{2,}$/.test(letters);
    if (plain.length >= 2 && vowels >= 0.2 && vowels <= 0.65 && (capital || /^[a-z]+$/.test(letters))) {
      for (let i = start; i < end; i += 1) bits[i] = WORD_LETTER_BITS + (/[a-z]/i.test(raw[i - start] ?? '') ? 0 : 1);
      bits[start] += capital ? 1 : 0;
    }
    start = end;
  }
  return bits;
}

/**
 * Estimates how many guesses, as bits, a password takes an attacker who tries patterns before brute force. The
 * character variety gives the bits of a random character (log2 of the combined size of the classes used: lower
 * case, capitals, digits, symbols, others); runs that attackers' rules produce cheaply cost far less: repeated or
 * consecutive characters, keyboard walks, copies of an earlier part, years, repeated separators, and letters in
 * word-like runs (about 2.3 bits each, since words come from a dictionary; look-alikes such as "p4ssw0rd" and
 * camel case included). Deliberately conservative: a random string of letters that looks like words is underrated.
 *
 * @example
 * estimateEntropyBits('correct horse battery staple') // ≈ 65
 * estimateEntropyBits('aaaaaaaaaaaa')                 // ≈ 12
 * @param {string} password
 * @returns {number}
 */
export function estimateEntropyBits(password) {
  const chars = [...normalizePassword(password).replace(/ {2,}/g, ' ')];
  if (chars.length === 0) return 0;
  let pool = 0;
  if (chars.some((c) => /[a-z]/.test(c))) pool += 26;
  if (chars.some((c) => /[A-Z]/.test(c))) pool += 26;
  if (chars.some((c) => /[0-9]/.test(c))) pool += 10;
  if (chars.some((c) => /[\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(c))) pool += 33;
  if (chars.some((c) => (c.codePointAt(0) ?? 0) > 0x7e)) pool += 100;
  const charBits = Math.log2(pool);
  const examined = chars.slice(0, PATTERN_WINDOW);
  const wordBits = wordLetterBits(examined);
  const seenSymbols = new Set();
  let bits = Math.max(0, chars.length - examined.length) * charBits;
  let i = 0;
  while (i < examined.length) {
    const run = patternRunLength(examined, i);
    const repeat = repeatLength(examined, i);
    const year = /^(19|20)\d\d$/.test(examined.slice(i, i + 4).join('')) ? 4 : 0;
    if (repeat >= 3 && repeat >= run) {
      bits += Math.log2(i) + Math.log2(repeat) + 1;
      i += repeat;
    } else if (run >= 3) {
      bits += charBits + Math.log2(run) + 1;
      i += run;
    } else if (year > 0) {
      bits += 7;
      i += year;
    } else {
      const c = examined[i] ?? '';
      const inWord = wordBits[i] ?? 0;
      if (inWord > 0) bits += Math.min(inWord, charBits);
      else if (!/[\p{L}\p{N}]/u.test(c) && seenSymbols.has(c)) bits += 1;
      else bits += charBits;
      if (!/[\p{L}\p{N}]/u.test(c)) seenSymbols.add(c);
      i += 1;
    }
  }
  return Math.round(bits * 10) / 10;
}

/**
 * @param {number} bits
 * @returns {1 | 2 | 3 | 4}
 */
function scoreOf(bits) {
  const below = STRENGTH_THRESHOLDS.findIndex((threshold) => bits < threshold);
  return /** @type {1 | 2 | 3 | 4} */ (below === -1 ? 4 : below + 1);
}

const ADVICE = Object.freeze([
  '',
  'Accepted, but easy to guess: add a few more unrelated words.',
  'Accepted. A few more words would make it much harder to guess.',
  'Hard to guess.',
  'Very hard to guess.',
]);

/**
 * What the meter shows for `password` under a tenant's policy: the problems the server will name (`TOO_SHORT`,
 * `TOO_LONG`, `COMMON` when the filter is loaded, `CONTAINS_CONTEXT`, `REPETITIVE`; any of them gives score 0), else
 * a score from 1 (weak) to 4 (strong) from {@link estimateEntropyBits}, with a label and a sentence of advice.
 *
 * @example
 * assessPassword('hunter2', { minLength: 12 })
 * // { accepted: false, score: 0, label: 'Too short', message: 'Use at least 12 characters (7 so far)…', … }
 * @param {string} password
 * @param {StrengthPolicy} policy
 * @returns {PasswordAssessment}
 */
export function assessPassword(password, policy) {
  const length = passwordLength(password);
  if (password === '') return { empty: true, length: 0, accepted: false, score: 0, label: '', message: '', bits: 0, problems: [] };
  const normalized = normalizePassword(password);
  /** @type {PasswordProblem[]} */
  const problems = [];
  if ([...normalized].length > MAX_PASSWORD_LENGTH) {
    problems.push({ code: 'TOO_LONG', label: 'Too long', message: `Use at most ${MAX_PASSWORD_LENGTH} characters.` });
  } else {
    if (length < policy.minLength) {
      problems.push({
        code: 'TOO_SHORT',
        label: 'Too short',
        message: `Use at least ${policy.minLength} characters (${length} so far); a few unrelated words make a good password.`,
      });
    }
    if (policy.commonPasswords !== undefined && isCommonPassword(normalized, policy.commonPasswords)) {
      problems.push({ code: 'COMMON', label: 'Common password', message: 'This password is on a list of commonly used passwords that attackers try first.' });
    }
    const compacted = compactText(normalized);
    const term = (policy.contextTerms ?? []).find((t) => t !== '' && compacted.includes(t));
    if (term !== undefined) {
      problems.push({
        code: 'CONTAINS_CONTEXT',
        label: 'Easy to guess',
        message: `It contains "${term}": names of you, your organisation or this service are guessed first.`,
      });
    }
    if (isRepetitive(normalized)) {
      problems.push({ code: 'REPETITIVE', label: 'Too predictable', message: 'It is made of repeated or consecutive characters.' });
    }
  }
  const bits = estimateEntropyBits(password);
  const first = problems[0];
  if (first !== undefined) return { empty: false, length, accepted: false, score: 0, label: first.label, message: first.message, bits, problems };
  const score = scoreOf(bits);
  return { empty: false, length, accepted: true, score, label: SCORE_LABELS[score] ?? '', message: ADVICE[score] ?? '', bits, problems };
}
