import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import type { TimeWindow } from '../sources/source.js';
import { assertRecordType, assertRunId, assertTenantId } from './drop-layout.js';

/** Default settle lag: records updated in the last 5 minutes wait for the next run. */
const DEFAULT_SETTLE_LAG_MS = 5 * 60 * 1000;
/** A plan with more slices than this is refused (raise `sliceMs` or set `maxWindowMs`). */
const MAX_SLICES_PER_WINDOW = 10_000;

/** One chunk of a window: `index` is 0-based within the window; boundaries inside the window are multiples of `sliceMs`. */
export interface PlannedSlice extends TimeWindow {
  index: number;
}

/** The plan of one record type: its window (null when there is nothing to do) and the window's slices. */
export interface TypeWindowPlan {
  type: RecordType;
  window: TimeWindow | null;
  slices: PlannedSlice[];
}

/** A run's plan: one entry per requested type (in `RECORD_TYPES` order) and the non-empty windows by type. */
export interface WindowPlan {
  types: TypeWindowPlan[];
  /** The non-empty windows, keyed by type: what `deriveRunId` and the manifest take. */
  windows: Partial<Record<RecordType, TimeWindow>>;
}

/** Input of {@link planWindows}. */
export interface PlanWindowsInput {
  /** The current instant. */
  now: Date;
  /** Per type, where the last finished run stopped (exclusive end of its window). */
  checkpoints: Partial<Record<RecordType, Date>>;
  /** Types to plan. */
  types: readonly RecordType[];
  /** Records updated within this long before `now` are left for a later run. Default 5 minutes. */
  settleLagMs?: number;
  /** How far back the first run of a type (no checkpoint) reaches, measured from the window end. */
  initialLookbackMs: number;
  /** Longest window of one run; a type far behind catches up over several runs. Default unlimited. */
  maxWindowMs?: number;
  /** Slice length; slice boundaries are multiples of it since the epoch (UTC). At least 1000 and a whole second. */
  sliceMs: number;
}

/** Input of {@link planBackfill}. */
export interface PlanBackfillInput {
  /** Start of the range (inclusive); floored to the second. */
  from: Date;
  /** End of the range (exclusive); raised to the next whole second, and cut at `now - settleLagMs`. */
  to: Date;
  types: readonly RecordType[];
  now: Date;
  settleLagMs?: number;
  sliceMs: number;
}

function planError(message: string): RetentionError {
  return new RetentionError('ERR_WINDOW_PLAN_INVALID', message);
}

function millisOf(value: Date, name: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw planError(`${name} is not a valid date`);
  return value.getTime();
}

function assertDuration(value: number, name: string, minimum: number): number {
  if (!Number.isSafeInteger(value) || value < minimum) throw planError(`${name} must be an integer of at least ${minimum} ms, got ${String(value)}`);
  return value;
}

function assertSliceMs(sliceMs: number): number {
  assertDuration(sliceMs, 'sliceMs', 1000);
  if (sliceMs % 1000 !== 0) throw planError(`sliceMs must be a whole number of seconds, got ${sliceMs}`);
  return sliceMs;
}

function uniqueTypes(types: readonly RecordType[]): RecordType[] {
  for (const type of types) assertRecordType(type);
  return RECORD_TYPES.filter((type) => types.includes(type));
}

const SECOND = 1000;
const floorTo = (millis: number, step: number): number => Math.floor(millis / step) * step;
const ceilTo = (millis: number, step: number): number => Math.ceil(millis / step) * step;

/**
 * Cuts `[from, to)` into slices whose inner boundaries are the multiples of `sliceMs` since the Unix epoch (UTC);
 * the first and last slice may be shorter. Pure: the same window always gives the same slices.
 *
 * @example
 * sliceWindow({ from: new Date('2026-11-23T16:57:30Z'), to: new Date('2026-11-23T18:10:00Z') }, 3_600_000);
 * // [16:57:30–17:00, 17:00–18:00, 18:00–18:10] with index 0, 1, 2
 */
export function sliceWindow(window: TimeWindow, sliceMs: number): PlannedSlice[] {
  assertSliceMs(sliceMs);
  const from = millisOf(window.from, 'window start');
  const to = millisOf(window.to, 'window end');
  if (to <= from) return [];
  const count = Math.ceil(to / sliceMs) - Math.floor(from / sliceMs);
  if (count > MAX_SLICES_PER_WINDOW) {
    throw planError(
      `window ${window.from.toISOString()} to ${window.to.toISOString()} would need ${count} slices of ${sliceMs} ms (at most ${MAX_SLICES_PER_WINDOW}): raise sliceMs or set maxWindowMs`,
    );
  }
  const slices: PlannedSlice[] = [];
  let start = from;
  while (start < to) {
    const end = Math.min(floorTo(start, sliceMs) + sliceMs, to);
    slices.push({ index: slices.length, from: new Date(start), to: new Date(end) });
    start = end;
  }
  return slices;
}

function planOf(types: RecordType[], windowOf: (type: RecordType) => TimeWindow | null, sliceMs: number): WindowPlan {
  const plans: TypeWindowPlan[] = [];
  const windows: Partial<Record<RecordType, TimeWindow>> = {};
  for (const type of types) {
    const window = windowOf(type);
    if (window === null) {
      plans.push({ type, window: null, slices: [] });
      continue;
    }
    plans.push({ type, window, slices: sliceWindow(window, sliceMs) });
    windows[type] = window;
  }
  return { types: plans, windows };
}

/**
 * Plans a scheduled run: per type the window `[checkpoint, now - settleLag)`, or `[end - initialLookback, end)` for a
 * type without a checkpoint; `null` when the window would be empty (`to <= from`, e.g. a checkpoint ahead of the
 * settled end). The end is floored to the whole second; with `maxWindowMs` the window stops at `from + maxWindowMs`.
 * Every window is cut into slices aligned to `sliceMs` in UTC (see {@link sliceWindow}); local time zones and DST
 * play no part. Pure: the same input always gives the same plan.
 *
 * @example
 * planWindows({ now: new Date('2026-11-23T18:02:17Z'), checkpoints: { chats: new Date('2026-11-23T16:00:00Z') },
 *   types: ['chats'], initialLookbackMs: 86_400_000, sliceMs: 3_600_000 });
 * // chats: window 16:00:00–17:57:17, slices 16:00–17:00, 17:00–17:57:17
 */
export function planWindows(input: PlanWindowsInput): WindowPlan {
  const now = millisOf(input.now, 'now');
  const settleLagMs = assertDuration(input.settleLagMs ?? DEFAULT_SETTLE_LAG_MS, 'settleLagMs', 0);
  const initialLookbackMs = assertDuration(input.initialLookbackMs, 'initialLookbackMs', 1);
  const maxWindowMs = input.maxWindowMs === undefined ? undefined : assertDuration(input.maxWindowMs, 'maxWindowMs', SECOND);
  const sliceMs = assertSliceMs(input.sliceMs);
  const settledEnd = floorTo(now - settleLagMs, SECOND);
  return planOf(
    uniqueTypes(input.types),
    (type) => {
      const checkpoint = input.checkpoints[type];
      const from = checkpoint === undefined ? settledEnd - initialLookbackMs : millisOf(checkpoint, `checkpoint of ${type}`);
      const to = maxWindowMs === undefined ? settledEnd : Math.min(settledEnd, from + maxWindowMs);
      return to <= from ? null : { from: new Date(from), to: new Date(to) };
    },
    sliceMs,
  );
}

/**
 * Plans a backfill of an explicit range `[from, to)` for the given types (no checkpoints involved). The range is
 * widened to whole seconds (from floored, to raised) and cut at the settled end `now - settleLag`; it is refused with
 * `ERR_WINDOW_PLAN_INVALID` when nothing of it has settled yet or `to <= from`.
 *
 * @example
 * planBackfill({ from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-02-01T00:00:00Z'),
 *   types: ['call-logs'], now: new Date(), sliceMs: 86_400_000 }); // 31 daily slices
 */
export function planBackfill(input: PlanBackfillInput): WindowPlan {
  const now = millisOf(input.now, 'now');
  const settleLagMs = assertDuration(input.settleLagMs ?? DEFAULT_SETTLE_LAG_MS, 'settleLagMs', 0);
  const sliceMs = assertSliceMs(input.sliceMs);
  const requestedFrom = millisOf(input.from, 'from');
  const requestedTo = millisOf(input.to, 'to');
  if (requestedTo <= requestedFrom) {
    throw planError(`backfill range ${input.from.toISOString()} to ${input.to.toISOString()} is empty: its end must be after its start`);
  }
  const from = floorTo(requestedFrom, SECOND);
  const to = Math.min(ceilTo(requestedTo, SECOND), floorTo(now - settleLagMs, SECOND));
  if (to <= from) {
    throw planError(`backfill range starting ${input.from.toISOString()} has not settled yet: records are final ${settleLagMs} ms after their update`);
  }
  return planOf(uniqueTypes(input.types), () => ({ from: new Date(from), to: new Date(to) }), sliceMs);
}

/**
 * The deterministic BullMQ job id of one chunk: `<tenant>.<runId>.<type>.<sliceIndex>` (no `:`).
 *
 * @example
 * chunkJobId('acme', '20261123T175500Z-3f1a9c0d2b7e4a61', 'chats', 0); // 'acme.20261123T175500Z-3f1a9c0d2b7e4a61.chats.0'
 */
export function chunkJobId(tenantId: string, runId: string, type: RecordType, sliceIndex: number): string {
  if (!Number.isSafeInteger(sliceIndex) || sliceIndex < 0) throw planError(`slice index ${String(sliceIndex)} must be a non-negative integer`);
  return `${assertTenantId(tenantId)}.${assertRunId(runId)}.${assertRecordType(type)}.${sliceIndex}`;
}
