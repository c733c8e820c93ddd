import { describe, expect, it } from 'vitest';
import { assertLabelName, assertMetricName, escapeHelp, escapeLabelValue, formatLabels, formatSampleValue } from '../../../src/metrics/exposition-format.js';

describe('exposition format', () => {
  it.each([
    ['plain', 'plain'],
    ['back\\slash', 'back\\\\slash'],
    ['say "hi"', 'say \\"hi\\"'],
    ['two\nlines', 'two\\nlines'],
    ['\\"\n', '\\\\\\"\\n'],
    ['tab\tand ümlaut', 'tab\tand ümlaut'],
  ])('escapes the label value %j as %j', (value, escaped) => {
    expect(escapeLabelValue(value)).toBe(escaped);
  });

  it('escapes backslash and line feed in HELP, not quotes', () => {
    expect(escapeHelp('a "b" \\ c\nd')).toBe('a "b" \\\\ c\\nd');
  });

  it.each([
    [0, '0'],
    [42, '42'],
    [0.25, '0.25'],
    [-3, '-3'],
    [Number.NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('writes the value %s as %s', (value, written) => {
    expect(formatSampleValue(value)).toBe(written);
  });

  it('writes labels in the order given, escaped, and nothing without labels', () => {
    expect(formatLabels([])).toBe('');
    expect(
      formatLabels([
        ['b', '1'],
        ['a', 'x"y'],
      ]),
    ).toBe('{b="1",a="x\\"y"}');
  });

  it.each(['', '1abc', 'has-dash', 'has space', 'é'])('refuses the metric name %j', (name) => {
    expect(() => assertMetricName(name)).toThrow(TypeError);
  });

  it.each(['', '__reserved', 'a:b', '9x', 'with-dash'])('refuses the label name %j', (name) => {
    expect(() => assertLabelName(name)).toThrow(TypeError);
  });

  it('accepts valid names and refuses a reserved label', () => {
    expect(() => assertMetricName('ns:sub_name_total')).not.toThrow();
    expect(() => assertLabelName('route')).not.toThrow();
    expect(() => assertLabelName('le', ['le'])).toThrow(/reserved/);
  });
});
