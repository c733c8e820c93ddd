import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import type { DailyCounts } from '../store/archive/archive-store.js';
import { formatCompactCount, formatCount } from './count-format.js';
import { escapeXml } from './xml-text.js';

/** Options of {@link renderDailyRecordsChart}; every one has a default. */
export interface DailyRecordsChartOptions {
  /** The series, in this order. Default: every record type. The portal passes the types the user may read. */
  types?: readonly RecordType[];
  /** Bars of one day on top of each other (`stacked`, default) or side by side (`grouped`). */
  mode?: 'stacked' | 'grouped';
  /** The days shown, inclusive (`YYYY-MM-DD`); days without data are drawn as zero. Default: first to last day of the data. At most 400 days. */
  range?: { from: string; to: string };
  /** Width in px of the drawing (viewBox). Default 720, 240 to 4000. */
  width?: number;
  /** Height in px. Default 280, 160 to 2000. */
  height?: number;
  /** The accessible title. Default `Records per day`. */
  title?: string;
  /** Legend names of the series. Default `Call logs`, `Chats`, `Contacts`. */
  labels?: Partial<Record<RecordType, string>>;
  /** Shown when there is nothing to draw. */
  emptyMessage?: string;
  /** Prefix of the element ids (unique per page when it shows several charts): `[a-z][a-z0-9-]{0,39}`. Default `records-chart`. */
  idPrefix?: string;
}

const DEFAULT_LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };
const COLORS: Record<RecordType, string> = { 'call-logs': '#2563eb', chats: '#16a34a', contacts: '#d97706' };
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MAX_DAYS = 400;
const MARGIN = { top: 36, right: 16, bottom: 36, left: 56 };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const invalid = (message: string): RetentionError => new RetentionError('ERR_CHART_INPUT_INVALID', message);
const px = (value: number): string => String(Math.round(value * 100) / 100);

function dayNumber(day: string): number {
  const match = DAY.exec(day);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw invalid(`chart day ${JSON.stringify(day.slice(0, 40))} is not a calendar day YYYY-MM-DD`);
  return ms / 86_400_000;
}

const dayOf = (number: number): string => new Date(number * 86_400_000).toISOString().slice(0, 10);

function bounded(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min || value > max) throw invalid(`chart ${name} must be between ${min} and ${max}, not ${value}`);
  return value;
}

/** A tick step of 1, 2 or 5 times a power of ten, so that about `count` ticks cover `max`. */
function niceStep(max: number, count: number): number {
  const raw = Math.max(max / count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  return Math.max(1, step);
}

interface Series {
  type: RecordType;
  label: string;
  color: string;
  values: number[];
}

function summary(series: Series[], days: string[]): string {
  const parts = series.map((s) => {
    const total = s.values.reduce((a, b) => a + b, 0);
    const peak = s.values.reduce((best, value, index) => (value > (s.values[best] ?? 0) ? index : best), 0);
    return total === 0 ? `${s.label}: none` : `${s.label}: ${formatCount(total)} in total, most on ${days[peak] ?? ''} (${formatCount(s.values[peak] ?? 0)})`;
  });
  return `Records per type and day from ${days[0] ?? ''} to ${days.at(-1) ?? ''}. ${parts.join('; ')}.`;
}

function emptyChart(open: string, ids: { title: string; desc: string }, title: string, message: string, width: number, height: number): string {
  return [
    open,
    `<title id="${ids.title}">${escapeXml(title)}</title>`,
    `<desc id="${ids.desc}">${escapeXml(message)}</desc>`,
    `<rect x="0.5" y="0.5" width="${px(width - 1)}" height="${px(height - 1)}" rx="6" fill="#f8fafc" stroke="#cbd5e1"/>`,
    `<text x="${px(width / 2)}" y="${px(height / 2)}" text-anchor="middle" dominant-baseline="middle" font-size="14" fill="#475569" ${FONT}>${escapeXml(message)}</text>`,
    '</svg>',
  ].join('\n');
}

/**
 * Draws "records per type per day" as an SVG bar chart (stacked or grouped), from the archive store's
 * `countsPerDay`: a pure function of its input, so the same data always gives the same bytes. Accessible
 * (`role="img"`, `<title>` and a `<desc>` summarising totals and peaks, a `<title>` on every bar), safe to inline
 * in a page under a strict CSP: every text is XML-escaped, and the SVG holds no script, no event handler, no
 * `style` element and no external reference. With nothing to draw it returns an empty-state chart that says so.
 * Throws `ERR_CHART_INPUT_INVALID` for a malformed day, count or option.
 *
 * @example
 * const svg = renderDailyRecordsChart(await archive.countsPerDay(access, { from, to }),
 *   { types: readableTypes(principal), range: { from: '2026-05-01', to: '2026-05-31' } });
 * res.render('dashboard', { chartSvg: svg }); // in EJS: <%- chartSvg %> (the only unescaped output: it is built escaped)
 */
export function renderDailyRecordsChart(data: readonly DailyCounts[], options: DailyRecordsChartOptions = {}): string {
  const width = bounded(options.width, 720, 240, 4000, 'width');
  const height = bounded(options.height, 280, 160, 2000, 'height');
  const prefix = options.idPrefix ?? 'records-chart';
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(prefix)) throw invalid('chart idPrefix must be 1-40 characters of a-z, 0-9 and "-", starting with a letter');
  const mode = options.mode ?? 'stacked';
  if (mode !== 'stacked' && mode !== 'grouped') throw invalid(`chart mode must be "stacked" or "grouped", not ${JSON.stringify(String(mode)).slice(0, 40)}`);
  const types = RECORD_TYPES.filter((type) => (options.types ?? RECORD_TYPES).includes(type));
  const title = options.title ?? 'Records per day';
  const ids = { title: `${prefix}-title`, desc: `${prefix}-desc` };
  const open = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${ids.title} ${ids.desc}">`;

  const counts = new Map<number, DailyCounts['counts']>();
  for (const entry of data) {
    for (const type of types) {
      const value = entry.counts[type];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
        throw invalid(`chart count of ${type} on ${String(entry.day).slice(0, 10)} must be a whole number >= 0`);
    }
    counts.set(dayNumber(entry.day), entry.counts);
  }
  const known = [...counts.keys()].sort((a, b) => a - b);
  const first = options.range ? dayNumber(options.range.from) : known[0];
  const last = options.range ? dayNumber(options.range.to) : known.at(-1);
  const emptyMessage = options.emptyMessage ?? 'No records in this period yet. Records appear here after the next import.';
  if (first === undefined || last === undefined || types.length === 0) return emptyChart(open, ids, title, emptyMessage, width, height);
  if (last < first || last - first + 1 > MAX_DAYS) throw invalid(`chart range must run forwards and cover at most ${MAX_DAYS} days`);

  const days = Array.from({ length: last - first + 1 }, (_v, index) => dayOf(first + index));
  const series: Series[] = types.map((type) => ({
    type,
    label: options.labels?.[type] ?? DEFAULT_LABELS[type],
    color: COLORS[type],
    values: days.map((_day, index) => counts.get(first + index)?.[type] ?? 0),
  }));
  const peak = Math.max(
    0,
    ...days.map((_day, index) =>
      mode === 'stacked' ? series.reduce((sum, s) => sum + (s.values[index] ?? 0), 0) : Math.max(...series.map((s) => s.values[index] ?? 0)),
    ),
  );
  if (peak === 0) return emptyChart(open, ids, title, emptyMessage, width, height);

  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const step = niceStep(peak, 4);
  const top = Math.ceil(peak / step) * step;
  const yOf = (value: number): number => plot.y + plot.h - (value / top) * plot.h;
  const band = plot.w / days.length;
  const out: string[] = [open, `<title id="${ids.title}">${escapeXml(title)}</title>`, `<desc id="${ids.desc}">${escapeXml(summary(series, days))}</desc>`];

  out.push(`<g ${FONT} font-size="11" fill="#475569">`);
  for (let value = 0; value <= top; value += step) {
    const y = px(yOf(value));
    out.push(`<line x1="${px(plot.x)}" y1="${y}" x2="${px(plot.x + plot.w)}" y2="${y}" stroke="#e2e8f0" stroke-width="1"/>`);
    out.push(`<text x="${px(plot.x - 6)}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatCompactCount(value))}</text>`);
  }
  const labelEvery = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(plot.w / 48))));
  days.forEach((day, index) => {
    if (index % labelEvery !== 0) return;
    out.push(`<text x="${px(plot.x + band * (index + 0.5))}" y="${px(plot.y + plot.h + 16)}" text-anchor="middle">${escapeXml(day.slice(5))}</text>`);
  });
  out.push('</g>');

  out.push('<g>');
  days.forEach((day, index) => {
    let stackTop = 0;
    series.forEach((s, position) => {
      const value = s.values[index] ?? 0;
      if (value === 0) return;
      const tip = `<title>${escapeXml(`${day} · ${s.label}: ${formatCount(value)}`)}</title>`;
      if (mode === 'stacked') {
        const barWidth = Math.max(1, band * 0.7);
        const y = yOf(stackTop + value);
        out.push(
          `<rect x="${px(plot.x + band * index + (band - barWidth) / 2)}" y="${px(y)}" width="${px(barWidth)}" height="${px(yOf(stackTop) - y)}" fill="${s.color}">${tip}</rect>`,
        );
        stackTop += value;
      } else {
        const barWidth = Math.max(1, (band * 0.8) / series.length);
        const y = yOf(value);
        out.push(
          `<rect x="${px(plot.x + band * index + band * 0.1 + barWidth * position)}" y="${px(y)}" width="${px(barWidth)}" height="${px(plot.y + plot.h - y)}" fill="${s.color}">${tip}</rect>`,
        );
      }
    });
  });
  out.push('</g>');
  out.push(`<line x1="${px(plot.x)}" y1="${px(plot.y + plot.h)}" x2="${px(plot.x + plot.w)}" y2="${px(plot.y + plot.h)}" stroke="#64748b" stroke-width="1"/>`);

  out.push(`<g ${FONT} font-size="12" fill="#1e293b">`);
  let legendX = plot.x;
  for (const s of series) {
    out.push(`<rect x="${px(legendX)}" y="12" width="12" height="12" rx="2" fill="${s.color}"/>`);
    out.push(`<text x="${px(legendX + 16)}" y="22">${escapeXml(s.label)}</text>`);
    legendX += 28 + Math.min(s.label.length, 40) * 7;
  }
  out.push('</g>', '</svg>');
  return out.join('\n');
}
