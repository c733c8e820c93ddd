import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/records/demo/seeded-random.js';
import { instantMs, isLanguageTag } from '../../../src/records/record-fields.js';

const show = (ms: number): string => (Number.isNaN(ms) ? 'NaN' : String(ms));

describe('instantMs', () => {
  it.each([
    '2024-05-01T10:00:00.000Z',
    '1970-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '0000-01-01T00:00:00.000Z',
    '0000-02-29T12:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2000-02-29T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2024-02-29T23:59:59.999Z',
    '2024-04-31T00:00:00.000Z',
    '2024-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999Z',
    '2024-00-10T00:00:00.000Z',
    '2024-13-10T00:00:00.000Z',
    '2024-05-00T00:00:00.000Z',
    '2024-05-01T24:00:00.000Z',
    '2024-05-01T23:60:00.000Z',
    '2024-05-01T23:59:60.000Z',
    '2024-05-01T10:00:00Z',
    '2024-05-01T10:00:00.1Z',
    '2024-05-01T10:00:00.123456Z',
    '2024-05-01T10:00:00.000+02:00',
    '2024-05-01T10:00:00.000z',
    '2024-05-01 10:00:00.000Z',
    '2024-05-01T10:00:00.00aZ',
    '+002024-05-01T10:00:00.000Z',
    '2024-05-01',
    'yesterday',
    '',
  ])('reads %j as Date.parse does', (text) => {
    expect(show(instantMs(text))).toBe(show(Date.parse(text)));
  });

  it('reads every text of the toISOString shape as Date.parse does, digits in range or not', () => {
    const random = SeededRandom.fromParts('instant-ms', 'digits', 0);
    const digits = (count: number, max: number): string => String(random.int(0, max)).padStart(count, '0');
    const mismatches: string[] = [];
    for (let index = 0; index < 20_000; index += 1) {
      const wild = index % 4 === 0;
      const text = `${digits(4, 9999)}-${digits(2, wild ? 99 : 12)}-${digits(2, wild ? 99 : 31)}T${digits(2, wild ? 99 : 24)}:${digits(2, wild ? 99 : 60)}:${digits(2, wild ? 99 : 60)}.${digits(3, 999)}Z`;
      if (show(instantMs(text)) !== show(Date.parse(text))) mismatches.push(text);
    }
    expect(mismatches).toEqual([]);
  });

  it('reads what toISOString writes for instants across the years 0 to 9999', () => {
    const random = SeededRandom.fromParts('instant-ms', 'instants', 0);
    const first = Date.parse('0000-01-01T00:00:00.000Z');
    const last = Date.parse('9999-12-31T23:59:59.999Z');
    for (let index = 0; index < 5_000; index += 1) {
      const ms = first + Math.floor(random.next() * (last - first));
      expect(instantMs(new Date(ms).toISOString())).toBe(ms);
    }
  });
});

describe('isLanguageTag', () => {
  it.each([
    ['en', true],
    ['pt-BR', true],
    ['zh-Hant-TW', true],
    ['pt-BR', true],
    ['', false],
    ['e', false],
    ['en_US', false],
    ['x'.repeat(36), false],
  ])('%j is a language tag: %s (the same answer when asked again)', (tag, expected) => {
    expect(isLanguageTag(tag)).toBe(expected);
    expect(isLanguageTag(tag)).toBe(expected);
  });
});
