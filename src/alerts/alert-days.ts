/** The time zone of a tenant without a valid one of its own. */
export const DEFAULT_ALERT_TIME_ZONE = 'UTC';

/** `timeZone` when the runtime knows it, else {@link DEFAULT_ALERT_TIME_ZONE}. */
export function knownTimeZone(timeZone: string | undefined): string {
  if (timeZone === undefined) return DEFAULT_ALERT_TIME_ZONE;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return timeZone;
  } catch {
    return DEFAULT_ALERT_TIME_ZONE;
  }
}

/**
 * The calendar day of `at` in `timeZone`, as `YYYY-MM-DD` (days in this form sort as text).
 *
 * @example
 * localDay(new Date('2026-11-23T23:30:00Z'), 'Europe/Berlin'); // '2026-11-24'
 */
export function localDay(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: knownTimeZone(timeZone), year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/**
 * The time of day of `at` in `timeZone`, `HH:mm` (24 hours).
 *
 * @example
 * localTimeOfDay(new Date('2026-11-23T13:02:00Z'), 'Europe/Berlin'); // '14:02'
 */
export function localTimeOfDay(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: knownTimeZone(timeZone), hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

/**
 * A day as a digest names it: weekday, date and the time zone it is counted in.
 *
 * @example
 * describeDay('2026-11-23', 'Europe/Berlin'); // 'Monday 23 November 2026 (Europe/Berlin)'
 */
export function describeDay(day: string, timeZone: string): string {
  const noon = new Date(`${day}T12:00:00.000Z`);
  if (Number.isNaN(noon.getTime())) return `${day} (${timeZone})`;
  const text = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(noon);
  return `${text.replace(',', '')} (${timeZone})`;
}

/**
 * True when `day` is over in every one of `timeZones` at `now`, allowing `graceMs` for events recorded in its last
 * moments by a slower process.
 *
 * @example
 * dayIsOver('2026-11-23', ['UTC'], new Date('2026-11-24T00:10:00Z'), 5 * 60_000); // true
 */
export function dayIsOver(day: string, timeZones: readonly string[], now: Date, graceMs: number): boolean {
  const then = new Date(now.getTime() - graceMs);
  return timeZones.every((timeZone) => localDay(then, timeZone) > day);
}
