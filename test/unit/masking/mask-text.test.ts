import { describe, expect, it } from 'vitest';
import { callingCodeOf } from '../../../src/masking/calling-codes.js';
import { maskEmailAddress, maskHandle } from '../../../src/masking/mask-email-address.js';
import { maskPhoneNumber } from '../../../src/masking/mask-phone-number.js';
import { maskText } from '../../../src/masking/mask-text.js';
import { SeededRandom } from '../../../src/records/demo/seeded-random.js';

describe('maskPhoneNumber', () => {
  it.each([
    ['+4930123456712', '+49 ••• ••• ••12'],
    ['+14155550100', '+1 ••• ••• ••00'],
    ['+79161234567', '+7 ••• ••• ••67'],
    ['+351211234567', '+351 ••• ••• ••67'],
    ['+85221234567', '+852 ••• ••• ••67'],
    ['+819012345678', '+81 ••• ••• ••78'],
    ['0049 30 1234567', '+49 ••• ••• ••67'],
    ['+49 (0) 171 2345678', '+49 ••• ••• ••78'],
    ['0171 2345678', '••• ••• ••78'],
    ['(415) 555-0100', '••• ••• ••00'],
    ['＋８１ ９０ １２３４ ５６７８', '+81 ••• ••• ••７８'],
    ['12', '•••'],
    ['', '•••'],
  ])('%j → %j', (input, masked) => {
    expect(maskPhoneNumber(input)).toBe(masked);
  });

  it('does not reveal the length of the number', () => {
    expect(maskPhoneNumber('+4930123412').length).toBe(maskPhoneNumber('+49301234567812').length);
  });
});

describe('callingCodeOf', () => {
  it.each([
    ['14155550100', '1'],
    ['74951234567', '7'],
    ['442071234567', '44'],
    ['861012345678', '86'],
    ['97141234567', '971'],
    ['2348012345678', '234'],
    ['3531234567', '353'],
  ])('%s → %s', (digits, code) => {
    expect(callingCodeOf(digits)).toBe(code);
  });
});

describe('maskEmailAddress and maskHandle', () => {
  it.each([
    ['john.doe@example.com', 'j•••@e•••.com'],
    ['j@e.com', 'j•••@e•••.com'],
    ['ünal@bücher.co.uk', 'ü•••@b•••.uk'],
    ['用户@例子.中国', '用•••@例•••.中国'],
    ['😀x@mail.example.org', '😀•••@m•••.org'],
    ['root@localhost', 'r•••@l•••'],
    ['a@b.c0m', 'a•••@b•••'],
    ['no-at-sign', 'n•••'],
  ])('%j → %j', (input, masked) => {
    expect(maskEmailAddress(input)).toBe(masked);
  });

  it.each([
    ['@jane_doe', '@•••'],
    ['Jane', 'J•••'],
    ['9jane', '•••'],
    ['', '•••'],
  ])('handle %j → %j', (input, masked) => {
    expect(maskHandle(input)).toBe(masked);
  });
});

describe('maskText', () => {
  it.each([
    ['Call me at +49 171 2345678 or mail jane@example.com', 'Call me at +49 ••• ••• ••78 or mail j•••@e•••.com'],
    ['two numbers: +1 415 555 0100, 0171/2345678.', 'two numbers: +1 ••• ••• ••00, ••• ••• ••78.'],
    ['a+b@x.co and c@d.org; +351 21 123 4567', 'a•••@x•••.co and c•••@d•••.org; +351 ••• ••• ••67'],
    ['電話は０９０-１２３４-５６７８です', '電話は••• ••• ••７８です'],
    ['رقمي ٠١٢٣٤٥٦٧٨٩ شكرا', 'رقمي ••• ••• ••٨٩ شكرا'],
    ['नंबर ९८७६५४३२१० है', 'नंबर ••• ••• ••१० है'],
    ['(030) 1234567', '••• ••• ••67'],
    ['order 1.234.567', 'order ••• ••• ••67'],
    ['ref12345678', 'ref••• ••• ••78'],
    ['card 4111 1111 1111 1111', 'card ••• ••• ••11'],
    ['Grüße an müller@straße.de!', 'Grüße an m•••@s•••.de!'],
  ])('masks %j', (input, masked) => {
    expect(maskText(input)).toBe(masked);
  });

  it.each([
    ['meet on 2026-05-04 at 12:30'],
    ['born 04.05.1990, or 5/4/2026'],
    ['room 1234, 6 digits 123456'],
    ['a price of $1,234,567'],
    ['nothing personal here'],
    [''],
    ['@ alone, a@b, trailing@'],
  ])('leaves %j alone', (input) => {
    expect(maskText(input)).toBe(input);
  });

  it.each([
    ['letters', 'a'.repeat(50_000)],
    ['digits and spaces', '1 '.repeat(25_000)],
    ['at signs', 'a@'.repeat(25_000)],
    ['separators', '1-'.repeat(25_000) + 'x'],
    ['dots', `a${'.a'.repeat(25_000)}@`],
  ])('runs in linear time on hostile text (%s)', (_name, text) => {
    const started = performance.now();
    maskText(text);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('property: of a number in text, only its country code and last two digits survive', () => {
    const random = new SeededRandom(1, 2, 3, 4);
    const codes = ['1', '7', '33', '44', '49', '81', '86', '351', '353', '852', '971'];
    const separators = ['', ' ', '-', '.', '/'];
    const fillers = ['Hi,', 'call', 'me:', 'or', 'text', 'thanks!', 'Tel.', 'écris', '电话', 'номер'];
    for (let round = 0; round < 500; round += 1) {
      const code = codes[random.int(0, codes.length - 1)] as string;
      const national = Array.from({ length: random.int(7, 12) }, (_v, i) => String(i === 0 ? random.int(1, 9) : random.int(0, 9))).join('');
      const separator = separators[random.int(0, separators.length - 1)] as string;
      const grouped = national.replace(/(\d{3})(?=\d)/g, `$1${separator}`);
      const prefix = random.chance(0.5) ? `+${code}` : `00${code}`;
      const filler = () => fillers[random.int(0, fillers.length - 1)] as string;
      const text = `${filler()} ${prefix} ${grouped} ${filler()}`;
      const masked = maskText(text);
      expect(masked.match(/\d/g)?.join(''), text).toBe(`${code}${national.slice(-2)}`);
    }
  });
});
