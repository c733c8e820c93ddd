import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RetentionError } from '../errors.js';
import { checkDemoShare, DEFAULT_DEMO_UPDATED_SHARE, generateRecords, resolveDemoRates } from '../records/demo-generator.js';
import { mixInInvalidRecords } from '../records/record-corruption.js';
import { TENANT_ID_PATTERN } from '../records/record-fields.js';
import type { RecordType } from '../records/record-type.js';
import type { Source, SourcePage, TimeWindow } from './source.js';

/** Options of {@link DemoSource}. */
export interface DemoSourceOptions {
  /** Tenant the records belong to (written into every record). */
  tenantId: string;
  /**
   * Seed of the generator: the same seed gives the same records, byte for byte.
   * @default 'retention-demo'
   */
  seed?: string | number;
  /**
   * Records per hour of each type.
   * @default { 'call-logs': 120, chats: 60, contacts: 12 }
   */
  ratesPerHour?: Partial<Record<RecordType, number>>;
  /**
   * Records per page yielded by `read`.
   * @default 500
   */
  pageSize?: number;
  /**
   * Share (0 to 1) of records broken on purpose (bad numbers, unknown senders, ...) so the pipeline's
   * `rejected/` path gets exercised. Which records are broken depends only on seed and record id.
   * @default 0
   */
  invalidShare?: number;
  /**
   * Share (0 to 1) of call logs and contacts updated after creation.
   * @default 0.25
   */
  updatedShare?: number;
}

/** Default {@link DemoSourceOptions.seed}. */
export const DEFAULT_DEMO_SEED = 'retention-demo';
/** Default {@link DemoSourceOptions.pageSize}. */
export const DEFAULT_DEMO_PAGE_SIZE = 500;
/** Largest page size accepted. */
export const MAX_DEMO_PAGE_SIZE = 100_000;

/**
 * The `demo` source: serves records from the deterministic demo generator, as if they came from the platform's
 * export API. Reading a window twice gives the same pages; records are ordered by `updatedAt`.
 *
 * Between pages it yields to the event loop, so a long window does not starve job lock renewals.
 *
 * @throws RetentionError `ERR_SOURCE_CONFIG` (status 400) from the constructor for invalid options;
 *   `ERR_SOURCE_WINDOW_INVALID` (status 400) from `read` for an invalid window or one whose `from` is after `to`.
 *   Both are permanent: retrying cannot help.
 * @example
 * const source = new DemoSource({ tenantId: 'acme', seed: 42, invalidShare: 0.01 });
 * for await (const page of source.read('chats', { from, to })) console.log(page.records.length);
 */
export class DemoSource implements Source {
  readonly kind = 'demo';
  private readonly tenantId: string;
  private readonly seed: string | number;
  private readonly ratesPerHour: Record<RecordType, number>;
  private readonly pageSize: number;
  private readonly invalidShare: number;
  private readonly updatedShare: number;

  constructor(options: DemoSourceOptions) {
    if (!TENANT_ID_PATTERN.test(options.tenantId)) {
      throw configError(`tenant id "${options.tenantId}" must match [a-z0-9-]{3,63}`);
    }
    const pageSize = options.pageSize ?? DEFAULT_DEMO_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_DEMO_PAGE_SIZE) {
      throw configError(`pageSize is ${pageSize}; use a whole number from 1 to ${MAX_DEMO_PAGE_SIZE}`);
    }
    this.tenantId = options.tenantId;
    this.seed = options.seed ?? DEFAULT_DEMO_SEED;
    this.pageSize = pageSize;
    try {
      this.ratesPerHour = resolveDemoRates(options.ratesPerHour);
      this.invalidShare = checkDemoShare('invalidShare', options.invalidShare ?? 0);
      this.updatedShare = checkDemoShare('updatedShare', options.updatedShare ?? DEFAULT_DEMO_UPDATED_SHARE);
    } catch (error) {
      throw configError(error instanceof Error ? error.message : String(error), error);
    }
  }

  async *read(type: RecordType, window: TimeWindow, options: { signal?: AbortSignal } = {}): AsyncGenerator<SourcePage> {
    const fromMs = window.from.getTime();
    const toMs = window.to.getTime();
    if (Number.isNaN(fromMs) || Number.isNaN(toMs) || fromMs > toMs) {
      throw new RetentionError(
        'ERR_SOURCE_WINDOW_INVALID',
        `demo source: window [${String(window.from)}, ${String(window.to)}) needs valid dates with from <= to`,
      );
    }
    options.signal?.throwIfAborted();
    const records = mixInInvalidRecords(
      type,
      generateRecords({
        seed: this.seed,
        tenantId: this.tenantId,
        type,
        from: window.from,
        to: window.to,
        ratesPerHour: this.ratesPerHour,
        updatedShare: this.updatedShare,
      }),
      { seed: this.seed, share: this.invalidShare },
    );
    let page: unknown[] = [];
    for (const record of records) {
      page.push(record);
      if (page.length < this.pageSize) continue;
      yield { records: page };
      page = [];
      await yieldToEventLoop();
      options.signal?.throwIfAborted();
    }
    if (page.length > 0) yield { records: page };
  }
}

function configError(message: string, cause?: unknown): RetentionError {
  return new RetentionError('ERR_SOURCE_CONFIG', `demo source: ${message}`, { cause });
}
