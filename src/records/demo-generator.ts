import { RetentionError } from '../errors.js';
import type { RecordByType } from './archive-record.js';
import { buildDemoCallLog } from './demo/demo-call-log.js';
import { buildDemoChat } from './demo/demo-chat.js';
import { buildDemoContact } from './demo/demo-contact.js';
import { buildDemoDirectory } from './demo/demo-directory.js';
import type { DemoRecordContext } from './demo/demo-record-context.js';
import { DemoTimeGrid } from './demo/demo-time-grid.js';
import { SeededRandom } from './demo/seeded-random.js';
import { TENANT_ID_PATTERN } from './record-fields.js';
import type { RecordType } from './record-type.js';

/** Records per hour of each type when {@link GenerateRecordsOptions.ratesPerHour} leaves one out. */
export const DEFAULT_DEMO_RATES_PER_HOUR: Readonly<Record<RecordType, number>> = Object.freeze({
  'call-logs': 120,
  chats: 60,
  contacts: 12,
});

/** Highest rate accepted: one record per millisecond. */
export const MAX_DEMO_RATE_PER_HOUR = 3_600_000;

/** Share of records updated after creation when {@link GenerateRecordsOptions.updatedShare} is not given. */
export const DEFAULT_DEMO_UPDATED_SHARE = 0.25;

/** What {@link generateRecords} generates. */
export interface GenerateRecordsOptions<T extends RecordType = RecordType> {
  /** Same seed, same records, byte for byte. Numbers and their decimal strings are the same seed. */
  seed: string | number;
  /** Written into every record; must be a tenant slug (`[a-z0-9-]{3,63}`). */
  tenantId: string;
  type: T;
  /** Start of the window on `updatedAt`, inclusive. */
  from: Date;
  /** End of the window on `updatedAt`, exclusive. */
  to: Date;
  /**
   * Records per hour, per type. The type being generated sets the density; `contacts` also sets which contacts
   * calls and chats can reference, so use the same rates for every type of one tenant.
   * @default DEFAULT_DEMO_RATES_PER_HOUR (120 call logs, 60 chats, 12 contacts)
   */
  ratesPerHour?: Partial<Record<RecordType, number>>;
  /**
   * Share (0 to 1) of call logs and contacts last updated after they were created (chats are updated while they
   * run, so nearly all of them have `updatedAt > createdAt` anyway).
   * @default 0.25
   */
  updatedShare?: number;
}

type RecordBuilder<T extends RecordType> = (context: DemoRecordContext) => RecordByType[T];

const BUILDERS: { [T in RecordType]: RecordBuilder<T> } = {
  'call-logs': buildDemoCallLog,
  chats: buildDemoChat,
  contacts: buildDemoContact,
};

function invalid(message: string): RetentionError {
  return new RetentionError('ERR_DEMO_OPTIONS_INVALID', message);
}

function checkRate(type: string, rate: number): number {
  if (!Number.isFinite(rate) || rate <= 0 || rate > MAX_DEMO_RATE_PER_HOUR) {
    throw invalid(`demo rate for ${type} is ${rate}; use a number of records per hour in (0, ${MAX_DEMO_RATE_PER_HOUR}]`);
  }
  return rate;
}

/** Checks the rates of `ratesPerHour` and fills in defaults. */
export function resolveDemoRates(ratesPerHour: Partial<Record<RecordType, number>> = {}): Record<RecordType, number> {
  const rates = { ...DEFAULT_DEMO_RATES_PER_HOUR, ...ratesPerHour };
  for (const [type, rate] of Object.entries(rates)) checkRate(type, rate);
  return rates;
}

/** Checks a share option (0 to 1) and returns it. */
export function checkDemoShare(name: string, share: number): number {
  if (!Number.isFinite(share) || share < 0 || share > 1) {
    throw invalid(`demo option ${name} is ${share}; use a number between 0 and 1`);
  }
  return share;
}

function* streamRecords<T extends RecordType>(
  options: GenerateRecordsOptions<T>,
  rates: Record<RecordType, number>,
  updatedShare: number,
): Generator<RecordByType[T], void, undefined> {
  const seed = String(options.seed);
  const grid = new DemoTimeGrid(rates[options.type]);
  const contactGrid = new DemoTimeGrid(rates.contacts);
  const directory = buildDemoDirectory(seed);
  const build = BUILDERS[options.type] as RecordBuilder<T>;
  const fromMs = options.from.getTime();
  const toMs = options.to.getTime();
  for (let slot = grid.slotAt(fromMs); ; slot += 1) {
    const start = grid.slotStart(slot);
    if (start >= toMs) return;
    const random = SeededRandom.fromParts(seed, options.type, slot);
    const updatedAtMs = start + Math.floor(random.next() * (grid.slotStart(slot + 1) - start));
    if (updatedAtMs < fromMs || updatedAtMs >= toMs) continue;
    yield build({ seed, tenantId: options.tenantId, slot, updatedAtMs, random, directory, updatedShare, contactGrid });
  }
}

/**
 * Generates the demo records of one type whose `updatedAt` lies in `[from, to)`, ordered by `updatedAt`, lazily
 * and in constant memory (one record at a time, whatever the window).
 *
 * Each record is a pure function of (seed, type, slot) on a fixed time grid of `ratesPerHour` slots per hour, so
 * the same options always give the same records, and generating `[a, c)` gives exactly `[a, b)` followed by
 * `[b, c)`. Ids are unique per type (and across types). Every record satisfies the canonical schema; to get
 * invalid ones on purpose use `corruptRecord` or `mixInInvalidRecords`.
 *
 * @throws RetentionError `ERR_DEMO_OPTIONS_INVALID` (at the call, not on first iteration) for a bad tenant id,
 *   window, rate or share.
 * @example
 * for (const call of generateRecords({ seed: 7, tenantId: 'acme', type: 'call-logs', from, to })) {
 *   console.log(call.id, call.outcome);
 * }
 */
export function generateRecords<T extends RecordType>(options: GenerateRecordsOptions<T>): Generator<RecordByType[T], void, undefined> {
  if (!TENANT_ID_PATTERN.test(options.tenantId)) {
    throw invalid(`demo tenant id "${options.tenantId}" must match [a-z0-9-]{3,63}`);
  }
  const fromMs = options.from.getTime();
  const toMs = options.to.getTime();
  if (Number.isNaN(fromMs) || Number.isNaN(toMs) || fromMs > toMs) {
    throw invalid('demo window needs valid dates with from <= to');
  }
  if (!Object.hasOwn(BUILDERS, options.type)) {
    throw invalid(`demo record type "${String(options.type)}" is not one of call-logs, chats, contacts`);
  }
  const rates = resolveDemoRates(options.ratesPerHour);
  const updatedShare = checkDemoShare('updatedShare', options.updatedShare ?? DEFAULT_DEMO_UPDATED_SHARE);
  return streamRecords(options, rates, updatedShare);
}
