/** A time as the views receive it. */
type ViewTime = string | Date | null | undefined;

function asDate(value: ViewTime): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Wall-clock parts of an instant in a zone: `day` YYYY-MM-DD, `clock` HH:MM:SS, `offset` "UTC", "UTC+2", "UTC-3:30". */
interface ZonedParts {
  day: string;
  clock: string;
  offset: string;
}

function zonedParts(formatter: Intl.DateTimeFormat | undefined, date: Date): ZonedParts {
  if (formatter === undefined) return { day: date.toISOString().slice(0, 10), clock: date.toISOString().slice(11, 19), offset: 'UTC' };
  const part: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const { type, value } of formatter.formatToParts(date)) part[type] = value;
  const offset = (part.timeZoneName ?? 'GMT').replace(/^GMT/, 'UTC');
  return { day: `${part.year}-${part.month}-${part.day}`, clock: `${part.hour}:${part.minute}:${part.second}`, offset: offset === 'UTC+0' ? 'UTC' : offset };
}

const COUNT_FORMAT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * How the pages print values: times in the reader's time zone (with the zone's UTC offset; UTC itself for the hover
 * title and the `datetime` attribute), durations, sizes and record links. Handed to the views as `fmt`; every result
 * is plain text that the views print escaped. `views/partials/time.ejs` prints a time as
 * `<time datetime="…" title="… UTC">…</time>`.
 *
 * @example
 * createViewFormat('Europe/Berlin').time('2026-05-04T08:12:33.120Z'); // '2026-05-04 10:12:33 UTC+2'
 * createViewFormat('UTC').time('2026-05-04T08:12:33.120Z');           // '2026-05-04 08:12:33 UTC'
 */
export function createViewFormat(timeZone = 'UTC') {
  const formatter =
    timeZone === 'UTC'
      ? undefined
      : new Intl.DateTimeFormat('en-CA', {
          timeZone,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
          timeZoneName: 'shortOffset',
        });
  return {
    /** The zone the times are printed in (IANA name). */
    timeZone,
    time(value: ViewTime): string {
      const date = asDate(value);
      if (date === undefined) return value === undefined || value === null ? '' : String(value);
      const { day, clock, offset } = zonedParts(formatter, date);
      return `${day} ${clock} ${offset}`;
    },
    /** The same instant in UTC, for the hover title: `2026-05-04 08:12:33 UTC`. */
    utc(value: ViewTime): string {
      const date = asDate(value);
      return date === undefined ? '' : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    },
    /** The instant for a `datetime` attribute (ISO 8601, UTC). */
    iso(value: ViewTime): string {
      return asDate(value)?.toISOString() ?? '';
    },
    /**
     * A time range, short: one date when both ends fall on the same day in the zone, seconds only where they are
     * not zero.
     *
     * @example
     * createViewFormat().range(new Date('2026-11-21T09:00:00Z'), new Date('2026-11-21T10:00:00Z')); // '2026-11-21 09:00–10:00 UTC'
     */
    range(from: Date | undefined, to: Date | undefined): string {
      const start = asDate(from);
      const end = asDate(to);
      if (start === undefined || end === undefined) return '';
      const a = zonedParts(formatter, start);
      const b = zonedParts(formatter, end);
      const clock = (parts: ZonedParts): string => (parts.clock.endsWith(':00') ? parts.clock.slice(0, 5) : parts.clock);
      if (a.day === b.day && a.offset === b.offset) return `${a.day} ${clock(a)}–${clock(b)} ${a.offset}`;
      return a.offset === b.offset
        ? `${a.day} ${clock(a)} – ${b.day} ${clock(b)} ${a.offset}`
        : `${a.day} ${clock(a)} ${a.offset} – ${b.day} ${clock(b)} ${b.offset}`;
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
    /** A count with thousands grouped: `12,345`. */
    count(value: number): string {
      return COUNT_FORMAT.format(value);
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
}

/** What the views get as `fmt`. */
export type ViewFormat = ReturnType<typeof createViewFormat>;

/** The formats in UTC, for pages and messages that have no reader's zone. */
export const archiveViewFormat: ViewFormat = createViewFormat('UTC');

const formatsByZone = new Map<string, ViewFormat>([['UTC', archiveViewFormat]]);

/** The formats in a zone (`parseTimeZone` checked it), made once per zone. */
export function viewFormatIn(timeZone: string): ViewFormat {
  let format = formatsByZone.get(timeZone);
  if (format === undefined) {
    format = createViewFormat(timeZone);
    formatsByZone.set(timeZone, format);
  }
  return format;
}
