import { describe, expect, it } from 'vitest';
import { foldName, nameKeyCondition, nameSearchKeys } from '../../../src/store/archive/name-search-keys.js';

/** Whether a search finds a record with these names, as MongoDB evaluates the stored keys against the condition. */
function finds(search: string, names: string[]): boolean {
  const condition = nameKeyCondition('ix.names', search);
  if (condition === undefined) return false;
  const pattern = new RegExp(condition['ix.names']?.$regex ?? '(?!)', 'u');
  return nameSearchKeys(names).some((key) => pattern.test(key));
}

describe('name search keys', () => {
  it('folds case, accents, full-width letters, hyphens and runs of spaces', () => {
    expect(foldName('  Jean-Luc   Núñez ')).toBe('jean luc nunez');
    expect(foldName('ＳＴＥＦＡＮ Straße')).toBe('stefan strasse');
    expect(foldName('Ólafur_Þórsson')).toBe('olafur thorsson');
    expect(foldName('--')).toBe('');
  });

  it('keys a name from each of its words on, and CJK and Thai names from each character on', () => {
    expect(nameSearchKeys(['Jean-Luc Núñez'])).toEqual(['jean luc nunez', 'luc nunez', 'nunez']);
    expect(nameSearchKeys(['王小明'])).toEqual(['王小明', '小明', '明']);
    expect(nameSearchKeys(['佐藤 花子'])).toEqual(['佐藤 花子', '藤 花子', '花子', '子']);
    expect(nameSearchKeys([undefined, '', 'Ann', 'ann'])).toEqual(['ann']);
  });

  it.each([
    ['a first name', 'jean', true],
    ['a last name, any case and without accents', 'NUNEZ', true],
    ['the start of a word', 'Nú', true],
    ['two words in order', 'luc nu', true],
    ['the full name as written', 'Jean-Luc Núñez', true],
    ['the inside of a word', 'uc', false],
    ['words out of order', 'nunez jean', false],
    ['another name', 'maria', false],
  ])('finds Jean-Luc Núñez by %s (%s): %s', (_case, search, expected) => {
    expect(finds(search, ['Jean-Luc Núñez'])).toBe(expected);
  });

  it('finds a Chinese or Thai name by any characters of it, in order', () => {
    expect(finds('小明', ['王小明'])).toBe(true);
    expect(finds('王', ['王小明'])).toBe(true);
    expect(finds('明小', ['王小明'])).toBe(false);
    expect(finds('สม', ['สมชาย ใจดี'])).toBe(true);
  });

  it('matches text literally: regular expression characters in a search are not operators', () => {
    expect(nameKeyCondition('ix.agentNames', 'a*')).toEqual({ 'ix.agentNames': { $regex: '^a\\*' } });
    expect(nameKeyCondition('ix.agentNames', 'o(b)+')).toEqual({ 'ix.agentNames': { $regex: '^o\\(b\\)\\+' } });
    expect(finds('.*', ['Anyone'])).toBe(false);
    expect(nameKeyCondition('ix.agentNames', ' -- ')).toBeUndefined();
  });

  it('bounds the keys of a long name and cuts keys at whole characters', () => {
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    expect(nameSearchKeys([long])).toHaveLength(24);
    const emoji = '😀'.repeat(130);
    const [key] = nameSearchKeys([emoji]);
    expect([...(key ?? '')]).toHaveLength(120);
    expect(/\p{Cs}/u.test(key ?? '')).toBe(false);
  });
});
