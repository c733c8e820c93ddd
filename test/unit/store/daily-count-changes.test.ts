import { describe, expect, it } from 'vitest';
import { countChangesOfUpserts, countedDay, type CountedVersion } from '../../../src/store/archive/daily-counts.js';

const at = (day: string) => new Date(`${day}T12:00:00.000Z`);
const version = (v: string, day: string): CountedVersion => ({ v, at: at(day) });

describe('countChangesOfUpserts', () => {
  it.each<[string, Record<string, CountedVersion>, { id: string; v: string; day: string }[], Record<string, number>]>([
    ['a new record adds one on its day', {}, [{ id: 'a', v: '2', day: '2026-05-01' }], { 'call-logs/2026-05-01': 1 }],
    ['a newer version on the same day changes nothing', { a: version('1', '2026-05-01') }, [{ id: 'a', v: '2', day: '2026-05-01' }], {}],
    [
      'a newer version on another day moves the record',
      { a: version('1', '2026-05-01') },
      [{ id: 'a', v: '2', day: '2026-05-03' }],
      { 'call-logs/2026-05-01': -1, 'call-logs/2026-05-03': 1 },
    ],
    ['an equal version on another day is not written', { a: version('2', '2026-05-01') }, [{ id: 'a', v: '2', day: '2026-05-03' }], {}],
    ['an older version on another day is not written', { a: version('3', '2026-05-01') }, [{ id: 'a', v: '2', day: '2026-05-03' }], {}],
    [
      'two versions of a new record in one batch count once, on the newest one’s day',
      {},
      [
        { id: 'a', v: '3', day: '2026-05-04' },
        { id: 'a', v: '2', day: '2026-05-02' },
      ],
      { 'call-logs/2026-05-04': 1 },
    ],
  ])('%s', (_name, stored, written, expected) => {
    const changes = countChangesOfUpserts(
      'call-logs',
      new Map(Object.entries(stored)),
      written.map((w) => ({ id: w.id, v: w.v, at: at(w.day) })),
    );
    expect(Object.fromEntries(changes.entries().map((e) => [`${e.type}/${e.day}`, e.delta]))).toEqual(expected);
  });

  it('counts UTC days', () => {
    expect(countedDay(new Date('2026-05-01T23:59:59.999Z'))).toBe('2026-05-01');
    expect(countedDay(new Date('2026-05-02T00:00:00.000Z'))).toBe('2026-05-02');
  });
});
