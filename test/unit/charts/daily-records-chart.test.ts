import { describe, expect, it } from 'vitest';
import { formatCompactCount, formatCount } from '../../../src/charts/count-format.js';
import { renderDailyRecordsChart } from '../../../src/charts/daily-records-chart.js';
import { escapeXml } from '../../../src/charts/xml-text.js';
import type { DailyCounts } from '../../../src/store/archive/archive-store.js';

const ALLOWED_ELEMENTS = new Set(['svg', 'title', 'desc', 'g', 'rect', 'line', 'text']);
const ALLOWED_ATTRIBUTES = new Set([
  'xmlns',
  'viewBox',
  'width',
  'height',
  'role',
  'aria-labelledby',
  'id',
  'x',
  'y',
  'x1',
  'y1',
  'x2',
  'y2',
  'rx',
  'fill',
  'stroke',
  'stroke-width',
  'font-family',
  'font-size',
  'text-anchor',
  'dominant-baseline',
]);

/** Checks that `svg` is well-formed, uses only the expected elements and attributes, and has only escaped text. */
function expectSafeSvg(svg: string): void {
  expect(svg).not.toMatch(/<[!?]|<script|<style|<foreignObject|<image|<use|href|url\(|javascript:/i);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<>]*")*)\s*(\/?)>/g;
  let position = 0;
  for (const match of svg.matchAll(tag)) {
    const between = svg.slice(position, match.index);
    expect(between, 'text between tags').not.toMatch(/[<>]|&(?!(?:amp|lt|gt|quot|apos);)/);
    position = match.index + match[0].length;
    const [, closing, name = '', attributes = '', selfClosing] = match;
    expect(ALLOWED_ELEMENTS.has(name), name).toBe(true);
    for (const [, attribute] of attributes.matchAll(/\s+([a-zA-Z][a-zA-Z0-9:-]*)="/g))
      expect(ALLOWED_ATTRIBUTES.has(attribute as string), attribute).toBe(true);
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name);
  }
  expect(svg.slice(position).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(svg.startsWith('<svg ')).toBe(true);
}

const day = (n: number): string => new Date(Date.UTC(2026, 0, 1 + n)).toISOString().slice(0, 10);
const rects = (svg: string): string[] => svg.match(/<rect [^>]*fill="#(?:2563eb|16a34a|d97706)">/g) ?? [];
const attr = (element: string, name: string): number => Number(new RegExp(` ${name}="([^"]+)"`).exec(element)?.[1]);

const SAMPLE: DailyCounts[] = [
  { day: '2026-05-01', counts: { 'call-logs': 120, chats: 40, contacts: 3 } },
  { day: '2026-05-03', counts: { 'call-logs': 80, chats: 55 } },
  { day: '2026-05-04', counts: { contacts: 12 } },
];

describe('renderDailyRecordsChart', () => {
  it('draws a safe, accessible, stacked chart by default', () => {
    const svg = renderDailyRecordsChart(SAMPLE);
    expectSafeSvg(svg);
    expect(svg).toContain('role="img" aria-labelledby="records-chart-title records-chart-desc"');
    expect(svg).toContain('<title id="records-chart-title">Records per day</title>');
    expect(svg).toContain(
      'from 2026-05-01 to 2026-05-04. Call logs: 200 in total, most on 2026-05-01 (120); Chats: 95 in total, most on 2026-05-03 (55); Contacts: 15 in total, most on 2026-05-04 (12).',
    );
    expect(rects(svg)).toHaveLength(6);
    expect(svg).toContain('<title>2026-05-01 · Call logs: 120</title>');
    for (const label of ['05-01', '05-02', '05-03', '05-04']) expect(svg).toContain(`>${label}</text>`);
    for (const legend of ['Call logs', 'Chats', 'Contacts']) expect(svg).toContain(`>${legend}</text>`);
  });

  it('stacks bars of one day on top of each other, and groups them side by side on request', () => {
    const stacked = rects(renderDailyRecordsChart([SAMPLE[0] as DailyCounts]));
    expect(new Set(stacked.map((r) => attr(r, 'x'))).size).toBe(1);
    const [call, chat] = stacked;
    expect(attr(chat as string, 'y') + attr(chat as string, 'height')).toBeCloseTo(attr(call as string, 'y'), 1);
    const grouped = rects(renderDailyRecordsChart([SAMPLE[0] as DailyCounts], { mode: 'grouped' }));
    expect(new Set(grouped.map((r) => attr(r, 'x'))).size).toBe(3);
    expect(new Set(grouped.map((r) => attr(r, 'y') + attr(r, 'height'))).size).toBe(1);
  });

  it('shows only the series it is given (the types the reader may read)', () => {
    const svg = renderDailyRecordsChart(SAMPLE, { types: ['chats'] });
    expect(rects(svg)).toHaveLength(2);
    expect(svg).not.toContain('Call logs');
    expect(svg).not.toContain('120');
  });

  it('is deterministic', () => {
    const shuffled = [SAMPLE[2], SAMPLE[0], SAMPLE[1]] as DailyCounts[];
    expect(renderDailyRecordsChart(shuffled, { mode: 'grouped' })).toBe(renderDailyRecordsChart(SAMPLE, { mode: 'grouped' }));
    expect(renderDailyRecordsChart(SAMPLE)).toBe(renderDailyRecordsChart(structuredClone(SAMPLE)));
  });

  it.each([
    ['script in the title', { title: '</title><script>alert(1)</script>' }],
    ['attribute break-out in a label', { labels: { chats: '" onload="alert(1)' } }],
    ['entities and markup', { labels: { 'call-logs': '&amp; <b>bold</b> &#x3C;' }, emptyMessage: '<img src=x onerror=alert(1)>' }],
    ['control characters and lone surrogates', { title: 'a\u0000b\u001bc\ud800d', labels: { contacts: "it's \u0008" } }],
  ])('escapes hostile text: %s', (_name, options) => {
    for (const data of [SAMPLE, []]) {
      const svg = renderDailyRecordsChart(data, options);
      expectSafeSvg(svg);
      expect(svg).not.toMatch(/\son[a-z]+="/);
    }
  });

  it.each([
    ['no data', [] as DailyCounts[], {}],
    ['only zeros', [{ day: '2026-05-01', counts: { chats: 0 } }], {}],
    ['data outside the readable types', SAMPLE, { types: [] }],
    ['a range without data', [], { range: { from: '2026-05-01', to: '2026-05-07' } }],
  ])('draws an empty state for %s', (_name, data, options) => {
    const svg = renderDailyRecordsChart(data, { ...options, emptyMessage: 'Nothing archived yet: run an import.' });
    expectSafeSvg(svg);
    expect(rects(svg)).toHaveLength(0);
    expect(svg).toContain('>Nothing archived yet: run an import.</text>');
    expect(svg).toContain('<desc id="records-chart-desc">Nothing archived yet: run an import.</desc>');
  });

  it('fills the days of a range that have no records', () => {
    const svg = renderDailyRecordsChart(SAMPLE, { range: { from: '2026-04-29', to: '2026-05-06' }, width: 1200 });
    for (const label of ['04-29', '04-30', '05-02', '05-05', '05-06']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('from 2026-04-29 to 2026-05-06');
  });

  it('draws 400 days with thinned day labels', () => {
    const data = Array.from({ length: 400 }, (_v, n) => ({ day: day(n), counts: { 'call-logs': n + 1, chats: 1, contacts: n % 7 } }));
    const svg = renderDailyRecordsChart(data);
    expectSafeSvg(svg);
    expect(rects(svg)).toHaveLength(400 * 2 + data.filter((d) => d.counts.contacts > 0).length);
    const dayLabels = svg.match(/>\d{2}-\d{2}<\/text>/g) ?? [];
    expect(dayLabels.length).toBeGreaterThan(5);
    expect(dayLabels.length).toBeLessThanOrEqual(14);
    expect(() => renderDailyRecordsChart([...data, { day: day(400), counts: { chats: 1 } }])).toThrow(
      expect.objectContaining({ code: 'ERR_CHART_INPUT_INVALID' }),
    );
  });

  it('formats large numbers on the axis and in full on the bars', () => {
    const svg = renderDailyRecordsChart([
      { day: '2026-05-01', counts: { 'call-logs': 1_234_567_890 } },
      { day: '2026-05-02', counts: { 'call-logs': 987_654_321 } },
    ]);
    expect(svg).toContain('<title>2026-05-01 · Call logs: 1,234,567,890</title>');
    expect(svg).toMatch(/>1\.5B<\/text>|>1B<\/text>/);
    expect(svg).toContain('Call logs: 2,222,222,211 in total');
  });

  it.each([
    ['a day that does not exist', [{ day: '2026-02-30', counts: { chats: 1 } }], {}],
    ['a malformed day', [{ day: '<script>', counts: { chats: 1 } }], {}],
    ['a negative count', [{ day: '2026-05-01', counts: { chats: -1 } }], {}],
    ['a fractional count', [{ day: '2026-05-01', counts: { chats: 1.5 } }], {}],
    ['a backwards range', [], { range: { from: '2026-05-02', to: '2026-05-01' } }],
    ['a hostile id prefix', [], { idPrefix: '"><script>' }],
    ['an unknown mode', [], { mode: 'pie' }],
    ['a huge width', [], { width: 1e9 }],
  ])('refuses %s with ERR_CHART_INPUT_INVALID', (_name, data, options) => {
    expect(() => renderDailyRecordsChart(data as DailyCounts[], options as never)).toThrow(expect.objectContaining({ code: 'ERR_CHART_INPUT_INVALID' }));
  });
});

describe('number and text formatting', () => {
  it.each([
    [0, '0', '0'],
    [999, '999', '999'],
    [1000, '1,000', '1k'],
    [1500, '1,500', '1.5k'],
    [12_345, '12,345', '12.3k'],
    [999_950, '999,950', '1M'],
    [3_400_000, '3,400,000', '3.4M'],
    [2_000_000_000, '2,000,000,000', '2B'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991', '9007T'],
  ])('%d → %s and %s', (value, full, compact) => {
    expect(formatCount(value)).toBe(full);
    expect(formatCompactCount(value)).toBe(compact);
  });

  it('escapes the five XML characters and drops forbidden ones', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('ok\u0000\u0007\ufffe\ud83d\ude00\udc00\t\n')).toBe('ok\ud83d\ude00\t\n');
  });
});
