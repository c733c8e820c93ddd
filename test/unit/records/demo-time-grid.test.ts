import { describe, expect, it } from 'vitest';
import { DemoTimeGrid, HOUR_MS } from '../../../src/records/demo/demo-time-grid.js';
import { SeededRandom } from '../../../src/records/demo/seeded-random.js';

describe('DemoTimeGrid', () => {
  it.each([1, 7, 120, 3_600_000, 0.25])('at %d/h maps every instant to the slot that holds it', (rate) => {
    const grid = new DemoTimeGrid(rate);
    const random = SeededRandom.fromParts('grid', String(rate), 0);
    for (let probe = 0; probe < 2_000; probe += 1) {
      const ms = Date.UTC(2024, 0, 1) + random.int(0, 365 * 24) * HOUR_MS + random.int(0, HOUR_MS);
      const slot = grid.slotAt(ms);
      expect(grid.slotStart(slot)).toBeLessThanOrEqual(ms);
      expect(grid.slotStart(slot + 1)).toBeGreaterThan(ms);
    }
  });

  it('puts instants before the epoch in slot 0', () => {
    expect(new DemoTimeGrid(60).slotAt(-5)).toBe(0);
  });
});

describe('SeededRandom', () => {
  it('repeats a stream for the same parts and differs for another slot, label or seed', () => {
    const draw = (seed: string, label: string, slot: number) => {
      const random = SeededRandom.fromParts(seed, label, slot);
      return Array.from({ length: 8 }, () => random.nextUint32());
    };
    const base = draw('s', 'chats', 2 ** 40 + 3);
    expect(draw('s', 'chats', 2 ** 40 + 3)).toEqual(base);
    expect(draw('s', 'chats', 2 ** 40 + 4)).not.toEqual(base);
    expect(draw('s', 'chats', 3)).not.toEqual(base);
    expect(draw('s', 'contacts', 2 ** 40 + 3)).not.toEqual(base);
    expect(draw('t', 'chats', 2 ** 40 + 3)).not.toEqual(base);
  });

  it('keeps int, pick and hex inside their bounds', () => {
    const random = SeededRandom.fromParts('bounds', 'x', 1);
    const seen = new Set<number>();
    for (let index = 0; index < 5_000; index += 1) {
      const value = random.int(-2, 3);
      expect(value).toBeGreaterThanOrEqual(-2);
      expect(value).toBeLessThanOrEqual(3);
      seen.add(value);
      const fraction = random.next();
      expect(fraction >= 0 && fraction < 1).toBe(true);
    }
    expect(seen.size).toBe(6);
    expect(random.hex(64)).toMatch(/^[0-9a-f]{64}$/);
    expect(['a', 'b']).toContain(random.pick(['a', 'b']));
    expect(() => random.pick([])).toThrow(RangeError);
  });
});
