/** Milliseconds in an hour. */
export const HOUR_MS = 3_600_000;

/**
 * Splits time since the epoch into equal slots of `1 / ratePerHour` hours; the demo generator makes one record per
 * slot, with its `updatedAt` inside the slot. Every slot's bounds are a pure function of its index, so any window
 * of time maps to the same slots however it is split.
 *
 * @example
 * const grid = new DemoTimeGrid(120); // a slot every 30 s
 * grid.slotStart(grid.slotAt(Date.parse('2024-05-01T00:00:10Z'))); // 2024-05-01T00:00:00Z in ms
 */
export class DemoTimeGrid {
  readonly slotMs: number;

  constructor(ratePerHour: number) {
    this.slotMs = HOUR_MS / ratePerHour;
  }

  /** First millisecond of `slot`. */
  slotStart(slot: number): number {
    return Math.floor(slot * this.slotMs);
  }

  /** The slot whose span holds `ms` (0 for instants before the epoch). */
  slotAt(ms: number): number {
    if (ms <= 0) return 0;
    let slot = Math.floor(ms / this.slotMs);
    while (slot > 0 && this.slotStart(slot) > ms) slot -= 1;
    while (this.slotStart(slot + 1) <= ms) slot += 1;
    return slot;
  }
}
