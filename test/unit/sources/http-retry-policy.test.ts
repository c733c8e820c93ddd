import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortableSleep } from '../../../src/sources/abortable-sleep.js';
import { backoffDelayMs, parseRetryAfterMs } from '../../../src/sources/retry-policy.js';

describe('backoffDelayMs', () => {
  it.each([
    [1, 0.5, 50],
    [2, 0.5, 100],
    [3, 0.5, 200],
    [4, 0.5, 400],
    [5, 0.5, 500],
    [30, 0.5, 500],
    [1, 0, 0],
    [3, 0.999, 399],
  ])('waits for retry %i with random %f: %i ms (base 100, max 1000)', (retry, random, expected) => {
    expect(backoffDelayMs(retry, { baseMs: 100, maxMs: 1000, random: () => random })).toBe(expected);
  });

  it('spreads waits over the whole range (full jitter)', () => {
    const samples = Array.from({ length: 200 }, () => backoffDelayMs(4, { baseMs: 100, maxMs: 10_000, random: Math.random }));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(800);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');

  it.each([
    ['delay-seconds', '5', 5000],
    ['zero seconds', '0', 0],
    ['seconds with spaces', ' 3 ', 3000],
    ['seconds over the cap', '86400', 60_000],
    ['an HTTP date 10 s ahead', 'Sun, 01 Jun 2025 12:00:10 GMT', 10_000],
    ['an HTTP date in the past', 'Sun, 01 Jun 2025 11:59:00 GMT', 0],
    ['an HTTP date beyond the cap', 'Mon, 02 Jun 2025 12:00:00 GMT', 60_000],
    ['a missing header', null, undefined],
    ['an empty header', '', undefined],
    ['a negative number', '-5', undefined],
    ['a fraction', '1.5', undefined],
    ['garbage', 'soon', undefined],
    ['a bare number-like date', '2025', 60_000],
  ] as const)('reads %s', (_label, header, expected) => {
    expect(parseRetryAfterMs(header, now, 60_000)).toBe(expected);
  });
});

describe('abortableSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves only once the time has passed', async () => {
    vi.useFakeTimers();
    let done = false;
    const sleeping = abortableSleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
  });

  it('rejects with the abort reason as soon as the signal aborts, and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once for a signal that has already aborted', async () => {
    vi.useFakeTimers();
    const reason = new Error('already');
    await expect(abortableSleep(1000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });
});
