import { literalPrefixPattern } from './phone-prefix.js';
import { foldSearchText } from './text-search-tokens.js';

/**
 * Name search on the archive's lists: an agent, a queue, a contact or a chat participant found by a name as people
 * type it, not only by its source id. The one rule that both the import (keys stored under `ix.*Names`) and the list
 * filters follow:
 *
 * - a name is folded like search text (`foldSearchText`: NFKC, case, Latin and Greek diacritics), and hyphens,
 *   underscores, dots and runs of spaces become one space: `Jean-Luc  Núñez` → `jean luc nunez`;
 * - its keys are the folded name from each of its words on (`jean luc nunez`, `luc nunez`, `nunez`), and in Chinese,
 *   Japanese, Korean and Thai names, written without spaces, from each character on (`王小明`, `小明`, `明`);
 * - a search matches a record with a key that starts with the folded search: `luc`, `jean l`, `Nunez` and `小明` all
 *   find `Jean-Luc Núñez` or `王小明`. The keys are indexed, and a prefix of an indexed key is an index range.
 */

/** Version of the rule, stored as `ix.namesVersion`: records imported before it are found by their ids only, until a rebuild. */
export const NAME_KEY_RULE_VERSION = 1;
/** Most keys kept per name (a name of many words or characters is found from its first ones). */
const MAX_KEYS_PER_NAME = 24;
/** Longest key, in characters (code points): a name is searched by its first 120. */
const MAX_KEY_LENGTH = 120;

const SEPARATORS = /[\s\-‐‑‒–—_.·]+/gu;
const DENSE = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;
const CHARACTER_WITH_MARKS = /\P{M}\p{M}*/gu;

/**
 * A name as the name search compares it.
 *
 * @example
 * foldName(' Jean-Luc  Núñez '); // 'jean luc nunez'
 */
export function foldName(name: string): string {
  const folded = foldSearchText(name).replace(SEPARATORS, ' ').trim();
  return folded.length <= MAX_KEY_LENGTH ? folded : [...folded].slice(0, MAX_KEY_LENGTH).join('').trimEnd();
}

/** Where keys of a folded name start: each word, and each character of a word in a script written without spaces. */
function keyStarts(folded: string): number[] {
  const starts: number[] = [];
  let offset = 0;
  for (const word of folded.split(' ')) {
    if (DENSE.test(word)) {
      for (const match of word.matchAll(CHARACTER_WITH_MARKS)) starts.push(offset + match.index);
    } else {
      starts.push(offset);
    }
    offset += word.length + 1;
  }
  return starts;
}

/**
 * The search keys of a record's names (see the rule above), distinct, at most {@link MAX_KEYS_PER_NAME} per name.
 *
 * @example
 * nameSearchKeys(['Jean-Luc Núñez', undefined]); // ['jean luc nunez', 'luc nunez', 'nunez']
 */
export function nameSearchKeys(names: Iterable<string | undefined>): string[] {
  const keys = new Set<string>();
  for (const name of names) {
    if (name === undefined) continue;
    const folded = foldName(name);
    if (folded === '') continue;
    for (const start of keyStarts(folded).slice(0, MAX_KEYS_PER_NAME)) keys.add(folded.slice(start));
  }
  return [...keys];
}

/**
 * The condition on a name key field (`ix.agentNames`, …) of a name search, or `undefined` when the text folds to
 * nothing (only punctuation): then only the id can match.
 *
 * @example
 * nameKeyCondition('ix.agentNames', 'Luc'); // { 'ix.agentNames': { $regex: '^luc' } }
 */
export function nameKeyCondition(field: string, text: string): Record<string, { $regex: string }> | undefined {
  const folded = foldName(text);
  return folded === '' ? undefined : { [field]: { $regex: literalPrefixPattern(folded) } };
}
