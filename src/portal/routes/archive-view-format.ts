/**
 * How the archive pages print values: times in UTC, durations, sizes and record links. Handed to the views as `fmt`;
 * every result is plain text that the views print escaped.
 *
 * @example
 * archiveViewFormat.time('2026-05-04T08:12:33.120Z'); // '2026-05-04 08:12:33 UTC'
 */
export const archiveViewFormat = {
  time(iso: string | Date | null | undefined): string {
    if (iso === undefined || iso === null) return '';
    const date = iso instanceof Date ? iso : new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  },
  /**
   * A time range, short: one date when both ends fall on the same UTC day, seconds only where they are not zero.
   *
   * @example
   * archiveViewFormat.range(new Date('2026-11-21T09:00:00Z'), new Date('2026-11-21T10:00:00Z')); // '2026-11-21 09:00–10:00 UTC'
   */
  range(from: Date | undefined, to: Date | undefined): string {
    if (from === undefined || to === undefined || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return '';
    const clock = (date: Date): string => {
      const time = date.toISOString().slice(11, 19);
      return time.endsWith(':00') ? time.slice(0, 5) : time;
    };
    const day = (date: Date): string => date.toISOString().slice(0, 10);
    return day(from) === day(to) ? `${day(from)} ${clock(from)}–${clock(to)} UTC` : `${day(from)} ${clock(from)} – ${day(to)} ${clock(to)} UTC`;
  },
  duration(seconds: number | undefined): string {
    if (seconds === undefined || !Number.isFinite(seconds)) return '';
    const whole = Math.round(seconds);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = whole % 60;
    return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  },
  bytes(count: number | undefined): string {
    if (count === undefined || !Number.isFinite(count)) return '';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = count;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
  },
  /** `/call-logs/<id>` with the id URL-encoded. */
  link(base: '/call-logs' | '/chats' | '/contacts', id: string): string {
    return `${base}/${encodeURIComponent(id)}`;
  },
  /** A "key=value" list of an object's plain entries (attributes, custom fields). */
  entries(value: unknown): string[] {
    if (typeof value !== 'object' || value === null) return [];
    return Object.entries(value as Record<string, unknown>).map(
      ([key, inner]) => `${key}: ${typeof inner === 'object' ? JSON.stringify(inner) : String(inner)}`,
    );
  },
};
