import type { RecordType } from '../records/record-type.js';

/**
 * A half-open time window on `updatedAt`: records with `from <= updatedAt < to`.
 * Both bounds are UTC instants.
 */
export interface TimeWindow {
  from: Date;
  to: Date;
}

/**
 * One page of raw records as the source returned them. Records are `unknown` on purpose:
 * the pipeline validates each one against the canonical schema and routes failures to `rejected/`.
 */
export interface SourcePage {
  records: unknown[];
}

/**
 * The port every record source implements (`http` for the platform's export API, `demo` for the generator).
 *
 * Contract:
 * - `read` yields every record of `type` whose `updatedAt` lies in `window`, in pages, ordered by `updatedAt`
 *   (ties in any stable order); reading the same window twice yields the same records.
 * - Transient failures are retried inside the source; an error that escapes means the window could not be read
 *   and the caller retries the whole chunk later. Errors are `RetentionError`s with a stable `code`;
 *   `ERR_SOURCE_AUTH` and `ERR_SOURCE_CONFIG` are permanent (retrying cannot help).
 * - `signal` aborts an in-flight read.
 *
 * @example
 * for await (const page of source.read('chats', { from, to })) {
 *   for (const raw of page.records) handle(raw);
 * }
 */
export interface Source {
  readonly kind: string;
  read(type: RecordType, window: TimeWindow, options?: { signal?: AbortSignal }): AsyncIterable<SourcePage>;
}
