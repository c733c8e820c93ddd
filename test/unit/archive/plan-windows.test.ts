import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deriveRunId } from '../../../src/archive/drop-layout.js';
import { chunkJobId, planBackfill, planWindows, sliceWindow, type WindowPlan } from '../../../src/archive/plan-windows.js';
import { RetentionError } from '../../../src/errors.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MIN = 60_000;
const at = (iso: string): Date => new Date(iso);

function describePlan(plan: WindowPlan): Record<string, { window: string | null; slices: string[] }> {
  const out: Record<string, { window: string | null; slices: string[] }> = {};
  for (const entry of plan.types) {
    out[entry.type] = {
      window: entry.window === null ? null : `${entry.window.from.toISOString()} ${entry.window.to.toISOString()}`,
      slices: entry.slices.map((slice) => `${slice.index} ${slice.from.toISOString()} ${slice.to.toISOString()}`),
    };
  }
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof RetentionError ? error.code : 'not-a-retention-error';
  }
  return undefined;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(at('2026-11-23T18:02:17.456Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('planWindows', () => {
  it.each([
    {
      label: 'checkpoint to now minus the default 5 min settle lag, end floored to the second',
      checkpoints: { chats: at('2026-11-23T16:00:00Z') },
      settleLagMs: undefined,
      expected: {
        window: '2026-11-23T16:00:00.000Z 2026-11-23T17:57:17.000Z',
        slices: ['0 2026-11-23T16:00:00.000Z 2026-11-23T17:00:00.000Z', '1 2026-11-23T17:00:00.000Z 2026-11-23T17:57:17.000Z'],
      },
    },
    {
      label: 'an unaligned checkpoint gives a short first slice',
      checkpoints: { chats: at('2026-11-23T16:57:30Z') },
      settleLagMs: 0,
      expected: {
        window: '2026-11-23T16:57:30.000Z 2026-11-23T18:02:17.000Z',
        slices: [
          '0 2026-11-23T16:57:30.000Z 2026-11-23T17:00:00.000Z',
          '1 2026-11-23T17:00:00.000Z 2026-11-23T18:00:00.000Z',
          '2 2026-11-23T18:00:00.000Z 2026-11-23T18:02:17.000Z',
        ],
      },
    },
    {
      label: 'a longer settle lag',
      checkpoints: { chats: at('2026-11-23T16:30:00Z') },
      settleLagMs: 30 * MIN,
      expected: {
        window: '2026-11-23T16:30:00.000Z 2026-11-23T17:32:17.000Z',
        slices: ['0 2026-11-23T16:30:00.000Z 2026-11-23T17:00:00.000Z', '1 2026-11-23T17:00:00.000Z 2026-11-23T17:32:17.000Z'],
      },
    },
    {
      label: 'a checkpoint inside the settle lag: nothing to do',
      checkpoints: { chats: at('2026-11-23T17:59:00Z') },
      settleLagMs: undefined,
      expected: { window: null, slices: [] },
    },
    {
      label: 'a checkpoint exactly at the settled end: nothing to do',
      checkpoints: { chats: at('2026-11-23T17:57:17Z') },
      settleLagMs: undefined,
      expected: { window: null, slices: [] },
    },
    {
      label: 'no checkpoint: the initial lookback from the settled end',
      checkpoints: {},
      settleLagMs: undefined,
      expected: {
        window: '2026-11-23T15:57:17.000Z 2026-11-23T17:57:17.000Z',
        slices: [
          '0 2026-11-23T15:57:17.000Z 2026-11-23T16:00:00.000Z',
          '1 2026-11-23T16:00:00.000Z 2026-11-23T17:00:00.000Z',
          '2 2026-11-23T17:00:00.000Z 2026-11-23T17:57:17.000Z',
        ],
      },
    },
  ])('$label', ({ checkpoints, settleLagMs, expected }) => {
    const plan = planWindows({ now: new Date(), checkpoints, types: ['chats'], settleLagMs, initialLookbackMs: 2 * HOUR, sliceMs: HOUR });
    expect(describePlan(plan)).toEqual({ chats: expected });
    expect(Object.keys(plan.windows)).toEqual(expected.window === null ? [] : ['chats']);
  });

  it('plans each type from its own checkpoint, in RECORD_TYPES order', () => {
    const plan = planWindows({
      now: new Date(),
      checkpoints: { contacts: at('2026-11-23T17:00:00Z'), 'call-logs': at('2026-11-23T18:00:00Z') },
      types: ['contacts', 'chats', 'call-logs', 'chats'],
      initialLookbackMs: HOUR,
      sliceMs: DAY,
    });
    expect(plan.types.map((entry) => entry.type)).toEqual(['call-logs', 'chats', 'contacts']);
    expect(describePlan(plan)).toEqual({
      'call-logs': { window: null, slices: [] },
      chats: { window: '2026-11-23T16:57:17.000Z 2026-11-23T17:57:17.000Z', slices: ['0 2026-11-23T16:57:17.000Z 2026-11-23T17:57:17.000Z'] },
      contacts: { window: '2026-11-23T17:00:00.000Z 2026-11-23T17:57:17.000Z', slices: ['0 2026-11-23T17:00:00.000Z 2026-11-23T17:57:17.000Z'] },
    });
  });

  it('caps a window far behind at maxWindowMs so it catches up over several runs', () => {
    const plan = planWindows({
      now: new Date(),
      checkpoints: { chats: at('2026-11-01T00:00:00Z') },
      types: ['chats'],
      initialLookbackMs: DAY,
      maxWindowMs: 2 * DAY,
      sliceMs: DAY,
    });
    expect(describePlan(plan).chats).toEqual({
      window: '2026-11-01T00:00:00.000Z 2026-11-03T00:00:00.000Z',
      slices: ['0 2026-11-01T00:00:00.000Z 2026-11-02T00:00:00.000Z', '1 2026-11-02T00:00:00.000Z 2026-11-03T00:00:00.000Z'],
    });
  });

  it('is deterministic: the same input gives the same plan, run id and chunk job ids', () => {
    const make = (): WindowPlan =>
      planWindows({ now: new Date(), checkpoints: { chats: at('2026-11-23T10:00:00Z') }, types: ['chats'], initialLookbackMs: DAY, sliceMs: HOUR });
    const first = make();
    vi.advanceTimersByTime(400);
    const second = make();
    expect(describePlan(second)).toEqual(describePlan(first));
    const runId = deriveRunId('acme', first.windows);
    expect(deriveRunId('acme', second.windows)).toBe(runId);
    const ids = first.types[0]!.slices.map((slice) => chunkJobId('acme', runId, 'chats', slice.index));
    expect(ids[0]).toBe(`acme.${runId}.chats.0`);
    expect(new Set(ids).size).toBe(8);
    expect(ids.every((id) => !id.includes(':'))).toBe(true);
  });

  it('aligns slices to UTC days whatever the process time zone or DST', () => {
    vi.stubEnv('TZ', 'Europe/Berlin');
    vi.setSystemTime(at('2026-03-30T12:00:00Z'));
    expect(new Date('2026-03-29T12:00:00Z').getTimezoneOffset()).toBe(-120);
    const plan = planWindows({
      now: new Date(),
      checkpoints: { chats: at('2026-03-28T00:00:00Z') },
      types: ['chats'],
      settleLagMs: 0,
      initialLookbackMs: DAY,
      sliceMs: DAY,
    });
    const slices = plan.types[0]!.slices;
    expect(slices.map((slice) => slice.to.getTime() - slice.from.getTime())).toEqual([DAY, DAY, 12 * HOUR]);
    expect(slices.map((slice) => slice.from.toISOString())).toEqual(['2026-03-28T00:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-30T00:00:00.000Z']);
  });

  it.each([
    ['sliceMs below a second', { sliceMs: 500 }],
    ['sliceMs not whole seconds', { sliceMs: 1500 }],
    ['a negative settle lag', { settleLagMs: -1 }],
    ['a zero lookback', { initialLookbackMs: 0 }],
    ['a tiny maxWindowMs', { maxWindowMs: 10 }],
    ['an invalid now', { now: new Date('nope') }],
    ['an invalid checkpoint', { checkpoints: { chats: new Date('nope') } }],
    ['too many slices', { initialLookbackMs: 365 * DAY, sliceMs: 1000 }],
  ])('refuses %s with ERR_WINDOW_PLAN_INVALID', (_label, override) => {
    const input = { now: new Date(), checkpoints: {}, types: ['chats'] as const, initialLookbackMs: DAY, sliceMs: HOUR, ...override };
    expect(codeOf(() => planWindows(input))).toBe('ERR_WINDOW_PLAN_INVALID');
  });

  it('refuses an unknown type', () => {
    expect(codeOf(() => planWindows({ now: new Date(), checkpoints: {}, types: ['emails' as 'chats'], initialLookbackMs: DAY, sliceMs: HOUR }))).toBe(
      'ERR_RECORD_TYPE_INVALID',
    );
  });
});

describe('sliceWindow', () => {
  it.each([
    ['aligned both ends', '2026-11-23T00:00:00Z', '2026-11-23T03:00:00Z', HOUR, 3],
    ['inside one slice', '2026-11-23T00:10:00Z', '2026-11-23T00:20:00Z', HOUR, 1],
    ['empty', '2026-11-23T01:00:00Z', '2026-11-23T01:00:00Z', HOUR, 0],
    ['reversed', '2026-11-23T02:00:00Z', '2026-11-23T01:00:00Z', HOUR, 0],
    ['15 minute slices across midnight', '2026-11-23T23:50:00Z', '2026-11-24T00:20:00Z', 15 * MIN, 3],
  ])('%s', (_label, from, to, sliceMs, count) => {
    const slices = sliceWindow({ from: at(from), to: at(to) }, sliceMs);
    expect(slices).toHaveLength(count);
    slices.forEach((slice, index) => {
      expect(slice.index).toBe(index);
      if (index > 0) expect(slice.from.getTime() % sliceMs).toBe(0);
      if (index < slices.length - 1) expect(slice.to.getTime() % sliceMs).toBe(0);
      if (index > 0) expect(slice.from).toEqual(slices[index - 1]!.to);
    });
    if (count > 0) {
      expect(slices[0]!.from).toEqual(at(from));
      expect(slices.at(-1)!.to).toEqual(at(to));
    }
  });
});

describe('planBackfill', () => {
  it('plans the explicit range for every type with the same aligned slices', () => {
    const plan = planBackfill({
      from: at('2026-01-01T00:00:00Z'),
      to: at('2026-02-01T00:00:00Z'),
      types: ['call-logs', 'contacts'],
      now: new Date(),
      sliceMs: DAY,
    });
    expect(Object.keys(plan.windows)).toEqual(['call-logs', 'contacts']);
    expect(plan.types.map((entry) => entry.slices.length)).toEqual([31, 31]);
    expect(plan.windows.contacts).toEqual({ from: at('2026-01-01T00:00:00Z'), to: at('2026-02-01T00:00:00Z') });
  });

  it('widens to whole seconds and cuts at the settled end', () => {
    const plan = planBackfill({ from: at('2026-11-23T17:00:00.700Z'), to: at('2026-11-23T19:00:00Z'), types: ['chats'], now: new Date(), sliceMs: HOUR });
    expect(plan.windows.chats).toEqual({ from: at('2026-11-23T17:00:00Z'), to: at('2026-11-23T17:57:17Z') });
    const wide = planBackfill({ from: at('2026-11-23T10:00:00Z'), to: at('2026-11-23T11:00:00.200Z'), types: ['chats'], now: new Date(), sliceMs: HOUR });
    expect(wide.windows.chats?.to).toEqual(at('2026-11-23T11:00:01Z'));
  });

  it.each([
    ['an empty range', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'],
    ['a reversed range', '2026-11-02T00:00:00Z', '2026-11-01T00:00:00Z'],
    ['a range that has not settled', '2026-11-23T17:58:00Z', '2026-11-23T19:00:00Z'],
  ])('refuses %s', (_label, from, to) => {
    expect(codeOf(() => planBackfill({ from: at(from), to: at(to), types: ['chats'], now: new Date(), sliceMs: HOUR }))).toBe('ERR_WINDOW_PLAN_INVALID');
  });
});

describe('chunkJobId', () => {
  it.each([
    ['a bad tenant', () => chunkJobId('A', 'r1', 'chats', 0), 'ERR_TENANT_ID_INVALID'],
    ['a run id with a colon', () => chunkJobId('acme', 'r:1', 'chats', 0), 'ERR_RUN_ID_INVALID'],
    ['a negative slice', () => chunkJobId('acme', 'r1', 'chats', -1), 'ERR_WINDOW_PLAN_INVALID'],
  ])('refuses %s', (_label, build, code) => {
    expect(codeOf(build)).toBe(code);
  });
});
