import { describe, expect, it } from 'vitest';
import { archiveViewFormat as fmt } from '../../../src/portal/routes/archive-view-format.js';

const at = (iso: string) => new Date(iso);

describe('archiveViewFormat', () => {
  it.each([
    ['2026-11-21T09:00:00Z', '2026-11-21T10:00:00Z', '2026-11-21 09:00–10:00 UTC'],
    ['2026-11-21T09:00:30Z', '2026-11-21T09:00:45Z', '2026-11-21 09:00:30–09:00:45 UTC'],
    ['2026-11-21T23:00:00Z', '2026-11-22T01:00:00Z', '2026-11-21 23:00 – 2026-11-22 01:00 UTC'],
    ['2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-11-01 00:00 – 2026-12-01 00:00 UTC'],
  ])('range(%s, %s) is %s', (from, to, expected) => {
    expect(fmt.range(at(from), at(to))).toBe(expected);
  });

  it('range is empty without both ends or with an invalid date', () => {
    expect(fmt.range(undefined, at('2026-11-21T10:00:00Z'))).toBe('');
    expect(fmt.range(at('2026-11-21T10:00:00Z'), undefined)).toBe('');
    expect(fmt.range(at('not a date'), at('2026-11-21T10:00:00Z'))).toBe('');
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [5 * 1024 ** 3, '5.0 GB'],
  ])('bytes(%i) is %s', (count, expected) => {
    expect(fmt.bytes(count)).toBe(expected);
  });

  it('times are UTC to the second, durations in h/m/s', () => {
    expect(fmt.time('2026-05-04T08:12:33.120Z')).toBe('2026-05-04 08:12:33 UTC');
    expect(fmt.duration(3725)).toBe('1h 2m 5s');
    expect(fmt.duration(65)).toBe('1m 5s');
  });
});
