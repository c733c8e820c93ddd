import { describe, expect, it } from 'vitest';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { DEFAULT_DEMO_SEED, DemoSource, type DemoSourceOptions } from '../../../src/sources/demo-source.js';
import type { TimeWindow } from '../../../src/sources/source.js';

const WINDOW: TimeWindow = { from: new Date('2024-05-01T00:00:00.000Z'), to: new Date('2024-05-01T06:00:00.000Z') };

async function readPages(source: DemoSource, type: RecordType, window: TimeWindow = WINDOW): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  for await (const page of source.read(type, window)) pages.push(page.records);
  return pages;
}

function updatedAtOf(raw: unknown): string {
  return String((raw as Record<string, unknown>)['updatedAt']);
}

describe('DemoSource', () => {
  it('is the "demo" kind', () => {
    expect(new DemoSource({ tenantId: 'acme-co' }).kind).toBe('demo');
  });

  it.each(RECORD_TYPES)('pages the generator for %s: full pages, then the rest, in the generator order', async (type) => {
    const source = new DemoSource({ tenantId: 'acme-co', seed: 11, pageSize: 64 });
    const pages = await readPages(source, type);
    const expected = [...generateRecords({ seed: 11, tenantId: 'acme-co', type, from: WINDOW.from, to: WINDOW.to })];
    expect(pages.flat()).toEqual(expected);
    expect(pages.slice(0, -1).every((page) => page.length === 64)).toBe(true);
    expect(pages.at(-1)?.length).toBeGreaterThan(0);
    expect(pages.at(-1)?.length).toBeLessThanOrEqual(64);
  });

  it('uses the documented defaults: seed, 500 records a page, no invalid records', async () => {
    const source = new DemoSource({ tenantId: 'acme-co', ratesPerHour: { 'call-logs': 200 } });
    const pages = await readPages(source, 'call-logs');
    expect(pages.map((page) => page.length)).toEqual([500, 500, 200]);
    const expected = [
      ...generateRecords({
        seed: DEFAULT_DEMO_SEED,
        tenantId: 'acme-co',
        type: 'call-logs',
        from: WINDOW.from,
        to: WINDOW.to,
        ratesPerHour: { 'call-logs': 200 },
      }),
    ];
    expect(pages.flat()).toEqual(expected);
    expect(pages.flat().every((raw) => parseRecord('call-logs', raw).ok)).toBe(true);
  });

  it('yields the same records when the same window is read twice, and the same when read in two halves', async () => {
    const source = new DemoSource({ tenantId: 'acme-co', seed: 'x', pageSize: 100 });
    const whole = (await readPages(source, 'chats')).flat();
    expect((await readPages(source, 'chats')).flat()).toEqual(whole);
    const middle = new Date('2024-05-01T02:13:14.159Z');
    const halves = [
      ...(await readPages(source, 'chats', { from: WINDOW.from, to: middle })).flat(),
      ...(await readPages(source, 'chats', { from: middle, to: WINDOW.to })).flat(),
    ];
    expect(halves).toEqual(whole);
  });

  it('mixes in the requested share of invalid records, still ordered by updatedAt and inside the window', async () => {
    const source = new DemoSource({ tenantId: 'acme-co', seed: 5, invalidShare: 0.2, ratesPerHour: { contacts: 300 } });
    const records = (await readPages(source, 'contacts')).flat();
    const invalid = records.filter((raw) => !parseRecord('contacts', raw).ok).length;
    expect(invalid / records.length).toBeGreaterThan(0.12);
    expect(invalid / records.length).toBeLessThan(0.28);
    const stamps = records.map(updatedAtOf);
    expect([...stamps].sort()).toEqual(stamps);
    expect(stamps.every((stamp) => stamp >= WINDOW.from.toISOString() && stamp < WINDOW.to.toISOString())).toBe(true);
  });

  it('yields no page for an empty window', async () => {
    const source = new DemoSource({ tenantId: 'acme-co' });
    expect(await readPages(source, 'chats', { from: WINDOW.from, to: WINDOW.from })).toEqual([]);
  });

  it('stops with the abort reason when the signal is aborted between pages', async () => {
    const source = new DemoSource({ tenantId: 'acme-co', pageSize: 10 });
    const controller = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const page of source.read('call-logs', WINDOW, { signal: controller.signal })) {
        seen.push(page.records.length);
        controller.abort(new Error('stop now'));
      }
    })();
    await expect(reading).rejects.toThrow('stop now');
    expect(seen).toEqual([10]);
  });

  it('refuses to start reading with an already aborted signal', async () => {
    const source = new DemoSource({ tenantId: 'acme-co' });
    const iterator = source.read('contacts', WINDOW, { signal: AbortSignal.abort() })[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow();
  });

  it.each([
    ['from after to', { from: WINDOW.to, to: WINDOW.from }],
    ['an invalid date', { from: new Date('nope'), to: WINDOW.to }],
  ])('refuses a window with %s (ERR_SOURCE_WINDOW_INVALID)', async (_label, window) => {
    const iterator = new DemoSource({ tenantId: 'acme-co' }).read('chats', window)[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ERR_SOURCE_WINDOW_INVALID', status: 400 });
  });

  it.each<[string, Partial<DemoSourceOptions>]>([
    ['a tenant id with ..', { tenantId: 'acme..co/../x' }],
    ['an empty tenant id', { tenantId: '' }],
    ['page size 0', { pageSize: 0 }],
    ['a fractional page size', { pageSize: 2.5 }],
    ['a page size above the maximum', { pageSize: 1_000_000 }],
    ['a negative invalid share', { invalidShare: -0.1 }],
    ['an invalid share above 1', { invalidShare: 2 }],
    ['an updated share that is not a number', { updatedShare: Number.NaN }],
    ['a zero rate', { ratesPerHour: { chats: 0 } }],
  ])('refuses %s with ERR_SOURCE_CONFIG', (_label, overrides) => {
    expect(() => new DemoSource({ tenantId: 'acme-co', ...overrides })).toThrow(expect.objectContaining({ code: 'ERR_SOURCE_CONFIG', status: 400 }));
  });
});
