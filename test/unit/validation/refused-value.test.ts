import { describe, expect, it } from 'vitest';
import { acceptsWholeNumber, describeRefusedValue, quoteTyped } from '../../../src/validation/refused-value.js';

describe('refusals of a typed value (issue 16.8)', () => {
  it.each<[unknown, string]>([
    ['70000', '"70000"'],
    [70000, '"70000"'],
    [2.5, '"2.5"'],
    ['', 'an empty value'],
    ['   ', 'an empty value'],
    [undefined, 'an empty value'],
    [null, 'an empty value'],
    [[], 'an empty value'],
    [['chats', 'invoices'], '"chats, invoices"'],
    [{ a: 1 }, '"{"a":1}"'],
    ['x'.repeat(45), `"${'x'.repeat(40)}…"`],
  ])('quotes %j as %s', (typed, quoted) => {
    expect(quoteTyped(typed)).toBe(quoted);
  });

  it('says the value typed and what is accepted, in one sentence', () => {
    expect(describeRefusedValue('70000', acceptsWholeNumber(1, 65_535))).toBe('"70000" is not accepted; enter a whole number from 1 to 65535.');
    expect(describeRefusedValue(undefined, 'type the API token')).toBe('an empty value is not accepted; type the API token.');
  });

  it('never quotes a secret', () => {
    expect(describeRefusedValue('mongodb://u:S3cret@db', 'enter a MongoDB connection string', { secret: true })).toBe(
      'the value typed (not shown again) is not accepted; enter a MongoDB connection string.',
    );
    expect(describeRefusedValue('', 'type the password', { secret: true })).toBe('an empty value is not accepted; type the password.');
  });
});
