import { fetch } from 'undici';
import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { destinationRefusalOf, NetworkPolicy } from '../network/network-policy.js';
import { isRecordType, type RecordType } from '../records/record-type.js';
import { abortableSleep } from './abortable-sleep.js';
import { parseExportApiPage, type ExportApiPage } from './export-api-page.js';
import { readResponseBody } from './http-response-body.js';
import { backoffDelayMs, parseRetryAfterMs } from './retry-policy.js';
import type { Source, SourcePage, TimeWindow } from './source.js';

/**
 * Options of {@link HttpSource}. Only `baseUrl` and `token` are required; the rest have defaults that suit the
 * platform's export API.
 */
export interface HttpSourceOptions {
  /**
   * Root of the platform's API, `http://` or `https://`, without credentials, query or fragment. A path prefix is
   * kept: `https://api.example.com/tenant-a` reads `https://api.example.com/tenant-a/v1/exports/<type>`.
   */
  baseUrl: string;
  /** API token, sent as `Authorization: Bearer <token>`. Never logged, never part of an error message. */
  token: string;
  /** Records asked for per request (`limit`), 1 to 5000. @default 500 */
  pageSize?: number;
  /** Time allowed for one request, from sending it to the last byte of the body, in ms. @default 30_000 */
  requestTimeoutMs?: number;
  /** Attempts per page (first try included) before giving up with `ERR_SOURCE_UNAVAILABLE`. @default 6 */
  maxAttempts?: number;
  /**
   * Attempts per page that may end in a malformed or truncated body (often transient) before giving up with
   * `ERR_SOURCE_MALFORMED_PAGE`; never more than `maxAttempts`. @default 3
   */
  maxMalformedAttempts?: number;
  /** Upper bound of the first backoff wait in ms; doubles with every retry (full jitter). @default 500 */
  backoffBaseMs?: number;
  /** Longest backoff wait in ms. @default 30_000 */
  backoffMaxMs?: number;
  /** Longest wait a `Retry-After` header (on 429 and 503) can ask for, in ms; longer requests are capped. @default 120_000 */
  maxRetryAfterMs?: number;
  /** Largest page body accepted, in bytes; a larger page fails with `ERR_SOURCE_PAGE_TOO_LARGE`. @default 33_554_432 (32 MiB) */
  maxPageBytes?: number;
  /** `User-Agent` header. @default 'retention-worker (export API client)' */
  userAgent?: string;
  /** Where retries are reported (at `warn`, with the URL and the reason; never the token). @default none */
  logger?: Pick<Logger, 'warn'>;
  /** Source of jitter in [0, 1); tests fix it. @default Math.random */
  random?: () => number;
  /** Clock for `Retry-After` dates, in ms since the epoch. @default Date.now */
  now?: () => number;
  /** How the source waits between attempts; tests may record the waits instead. @default {@link abortableSleep} */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Which addresses requests may go to: every connection resolves and checks the host first and goes to the checked
   * address (`ERR_DESTINATION_NOT_ALLOWED`, permanent, otherwise). @default public addresses only
   */
  network?: NetworkPolicy;
}

type ResolvedOptions = Required<Omit<HttpSourceOptions, 'logger' | 'baseUrl'>> & Pick<HttpSourceOptions, 'logger'> & { baseUrl: URL };

/** Defaults of the optional {@link HttpSourceOptions}. */
export const HTTP_SOURCE_DEFAULTS = Object.freeze({
  pageSize: 500,
  requestTimeoutMs: 30_000,
  maxAttempts: 6,
  maxMalformedAttempts: 3,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  maxRetryAfterMs: 120_000,
  maxPageBytes: 32 * 1024 * 1024,
  userAgent: 'retention-worker (export API client)',
});

/** A failed attempt that may succeed when tried again. */
interface RetryableFailure {
  kind: 'retry' | 'malformed';
  reason: string;
  retryAfterMs?: number;
  cause?: unknown;
}

type AttemptOutcome = { kind: 'page'; page: ExportApiPage } | RetryableFailure;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function configError(message: string): RetentionError {
  return new RetentionError('ERR_SOURCE_CONFIG', message);
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min || resolved > max) {
    throw configError(`http source option ${name} must be a whole number from ${min} to ${max}, got ${String(resolved)}`);
  }
  return resolved;
}

function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError('http source baseUrl is not a valid URL; use e.g. https://api.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`http source baseUrl must start with http:// or https://, got ${url.protocol}//`);
  }
  if (url.username !== '' || url.password !== '') {
    throw configError('http source baseUrl must not carry credentials (user:password@); the API token goes in the token setting');
  }
  if (url.search !== '' || url.hash !== '') {
    throw configError(`http source baseUrl must not have a query or fragment: ${url.origin}${url.pathname}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

function resolveOptions(options: HttpSourceOptions): ResolvedOptions {
  const baseUrl = parseBaseUrl(options.baseUrl);
  if (typeof options.token !== 'string' || !/^[\x21-\x7e]+$/.test(options.token)) {
    throw configError('http source token must be non-empty printable ASCII without spaces; check the token setting');
  }
  const maxAttempts = integerOption('maxAttempts', options.maxAttempts, HTTP_SOURCE_DEFAULTS.maxAttempts, 1, 100);
  const userAgent = options.userAgent ?? HTTP_SOURCE_DEFAULTS.userAgent;
  if (!/^[\x20-\x7e]{1,256}$/.test(userAgent)) throw configError('http source userAgent must be 1 to 256 printable ASCII characters');
  return {
    baseUrl,
    token: options.token,
    pageSize: integerOption('pageSize', options.pageSize, HTTP_SOURCE_DEFAULTS.pageSize, 1, 5000),
    requestTimeoutMs: integerOption('requestTimeoutMs', options.requestTimeoutMs, HTTP_SOURCE_DEFAULTS.requestTimeoutMs, 1, 3_600_000),
    maxAttempts,
    maxMalformedAttempts: Math.min(
      maxAttempts,
      integerOption('maxMalformedAttempts', options.maxMalformedAttempts, HTTP_SOURCE_DEFAULTS.maxMalformedAttempts, 1, 100),
    ),
    backoffBaseMs: integerOption('backoffBaseMs', options.backoffBaseMs, HTTP_SOURCE_DEFAULTS.backoffBaseMs, 0, 3_600_000),
    backoffMaxMs: integerOption('backoffMaxMs', options.backoffMaxMs, HTTP_SOURCE_DEFAULTS.backoffMaxMs, 0, 3_600_000),
    maxRetryAfterMs: integerOption('maxRetryAfterMs', options.maxRetryAfterMs, HTTP_SOURCE_DEFAULTS.maxRetryAfterMs, 0, 3_600_000),
    maxPageBytes: integerOption('maxPageBytes', options.maxPageBytes, HTTP_SOURCE_DEFAULTS.maxPageBytes, 1, 1024 ** 3),
    userAgent,
    logger: options.logger,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? abortableSleep,
    network: options.network ?? new NetworkPolicy(),
  };
}

function statusLabel(status: number): string {
  const text = STATUS_TEXT[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: unknown }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/**
 * The `http` {@link Source}: reads records from the platform's export API.
 *
 * **Export API** (the contract this source expects; the platform implements it):
 *
 * ```
 * GET <baseUrl>/v1/exports/<type>?since=<ISO-8601>&until=<ISO-8601>&limit=<pageSize>[&cursor=<cursor>]
 * Authorization: Bearer <token>
 * Accept: application/json
 *
 * 200 application/json
 * { "records": [ { "id": "...", "updatedAt": "2025-01-01T00:00:00.000Z", ... }, ... ], "nextCursor": "opaque" | null }
 * ```
 * - `<type>` is `call-logs`, `chats` or `contacts`; `since` is inclusive and `until` exclusive, both on `updatedAt`
 *   (UTC, millisecond precision); records come ordered by `updatedAt`; at most `limit` records per page.
 * - `nextCursor` is opaque; the client sends it back as `cursor` (with the same since/until/limit) until it is null.
 *   A cursor must never repeat within one window.
 * - `429` and `503` may carry `Retry-After` (seconds or an HTTP date), which the client honours up to
 *   `maxRetryAfterMs`; other `5xx`, network errors and timeouts are retried with exponential backoff and full jitter.
 * - `401`/`403` mean a bad token (`ERR_SOURCE_AUTH`); `400`, `404`, other `4xx` and redirects mean a wrong
 *   `baseUrl` or an API without this export (`ERR_SOURCE_CONFIG`). Both are permanent.
 *
 * Only public addresses are connected to unless the network policy allows more (`ALLOWED_PRIVATE_DESTINATIONS`):
 * a base URL whose host is, or resolves to, a loopback, private, link-local or otherwise non-public address fails
 * with `ERR_DESTINATION_NOT_ALLOWED` before anything is sent.
 *
 * Errors: `ERR_DESTINATION_NOT_ALLOWED`, `ERR_SOURCE_AUTH`, `ERR_SOURCE_CONFIG` (permanent); `ERR_SOURCE_UNAVAILABLE` after the last attempt,
 * with the last failure as `cause`; `ERR_SOURCE_MALFORMED_PAGE` for a body that stays malformed, truncated or of the
 * wrong shape after `maxMalformedAttempts`, or for a repeating cursor; `ERR_SOURCE_PAGE_TOO_LARGE` for a page over
 * `maxPageBytes`; `ERR_SOURCE_ABORTED` when the caller's signal aborts. Messages name the URL, never the token.
 *
 * @example
 * const source = new HttpSource({ baseUrl: 'https://api.example.com', token, pageSize: 1000, logger });
 * for await (const page of source.read('chats', { from, to }, { signal })) {
 *   for (const raw of page.records) handle(raw);
 * }
 */
export class HttpSource implements Source {
  readonly kind = 'http';
  readonly #options: ResolvedOptions;

  /** Validates `options` at once; a bad value throws `ERR_SOURCE_CONFIG` naming the option. */
  constructor(options: HttpSourceOptions) {
    this.#options = resolveOptions(options);
  }

  /** The URL of one page request (no credentials: the token travels in a header). */
  pageUrl(type: RecordType, window: TimeWindow, cursor?: string): URL {
    const url = new URL(`v1/exports/${encodeURIComponent(type)}`, this.#options.baseUrl);
    url.searchParams.set('since', window.from.toISOString());
    url.searchParams.set('until', window.to.toISOString());
    url.searchParams.set('limit', String(this.#options.pageSize));
    if (cursor !== undefined) url.searchParams.set('cursor', cursor);
    return url;
  }

  async *read(type: RecordType, window: TimeWindow, options: { signal?: AbortSignal } = {}): AsyncIterable<SourcePage> {
    if (!isRecordType(type)) throw configError(`unknown record type "${String(type)}"; expected call-logs, chats or contacts`);
    if (Number.isNaN(window.from.getTime()) || Number.isNaN(window.to.getTime()) || window.from > window.to) {
      throw new RetentionError('ERR_SOURCE_WINDOW_INVALID', 'the time window to read must have valid dates with from <= to');
    }
    if (window.from.getTime() === window.to.getTime()) return;
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    do {
      const url = this.pageUrl(type, window, cursor);
      const page = await this.#fetchPage(url, type, options.signal);
      if (page.nextCursor !== null) {
        if (seenCursors.has(page.nextCursor)) {
          throw this.#malformed(url, `the API returned a cursor it had already returned in this window (a paging loop after ${seenCursors.size} pages)`);
        }
        seenCursors.add(page.nextCursor);
      }
      cursor = page.nextCursor ?? undefined;
      if (page.records.length > 0) yield { records: page.records };
    } while (cursor !== undefined);
  }

  async #fetchPage(url: URL, type: RecordType, signal: AbortSignal | undefined): Promise<ExportApiPage> {
    const { maxAttempts, maxMalformedAttempts, logger } = this.#options;
    let malformedAttempts = 0;
    let last: RetryableFailure | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (signal?.aborted) throw this.#aborted(type, signal);
      const outcome = await this.#attempt(url, type, signal);
      if (outcome.kind === 'page') return outcome.page;
      last = outcome;
      if (outcome.kind === 'malformed') {
        malformedAttempts += 1;
        if (malformedAttempts >= maxMalformedAttempts) {
          throw this.#malformed(url, `${outcome.reason} (${malformedAttempts} of ${malformedAttempts} attempts)`, outcome.cause);
        }
      }
      if (attempt === maxAttempts) break;
      const delayMs =
        outcome.retryAfterMs ??
        backoffDelayMs(attempt, { baseMs: this.#options.backoffBaseMs, maxMs: this.#options.backoffMaxMs, random: this.#options.random });
      logger?.warn({ url: url.toString(), attempt, maxAttempts, delayMs, reason: outcome.reason }, 'export API request failed; retrying');
      try {
        await this.#options.sleep(delayMs, signal);
      } catch (err) {
        if (signal?.aborted) throw this.#aborted(type, signal);
        throw err;
      }
    }
    const reason = last?.reason ?? 'no attempt was made';
    throw new RetentionError(
      'ERR_SOURCE_UNAVAILABLE',
      this.#redact(
        `export API did not answer GET ${url.toString()} successfully after ${maxAttempts} attempts (last: ${reason}); the chunk will be retried later. Check that ${this.#options.baseUrl.origin} is up and reachable from the worker`,
      ),
      { cause: new Error(this.#redact(reason), { cause: last?.cause }) },
    );
  }

  async #attempt(url: URL, type: RecordType, callerSignal: AbortSignal | undefined): Promise<AttemptOutcome> {
    const { requestTimeoutMs } = this.#options;
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${requestTimeoutMs} ms`)), requestTimeoutMs);
    const failed = (err: unknown, phase: 'request' | 'body'): RetryableFailure => {
      if (callerSignal?.aborted) throw this.#aborted(type, callerSignal);
      if (controller.signal.aborted)
        return {
          kind: 'retry',
          reason: `no complete answer within ${requestTimeoutMs} ms (${phase === 'request' ? 'waiting for the response' : 'reading the body'})`,
          cause: err,
        };
      return { kind: 'retry', reason: this.#redact(`network error: ${describeCause(err)}`), cause: err };
    };
    try {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'GET',
          headers: { authorization: `Bearer ${this.#options.token}`, accept: 'application/json', 'user-agent': this.#options.userAgent },
          redirect: 'manual',
          signal: controller.signal,
          dispatcher: this.#options.network.httpDispatcher(),
        });
      } catch (err) {
        const refusal = destinationRefusalOf(err);
        if (refusal) throw refusal;
        return failed(err, 'request');
      }
      if (response.status >= 200 && response.status < 300) {
        let body: Awaited<ReturnType<typeof readResponseBody>>;
        try {
          body = await readResponseBody(response, this.#options.maxPageBytes, controller.signal);
        } catch (err) {
          return failed(err, 'body');
        }
        return this.#pageFrom(url, body);
      }
      await response.body?.cancel().catch(() => undefined);
      return this.#classifyStatus(url, type, response);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  #pageFrom(url: URL, body: Awaited<ReturnType<typeof readResponseBody>>): AttemptOutcome {
    if (body.kind === 'too-large') {
      throw new RetentionError(
        'ERR_SOURCE_PAGE_TOO_LARGE',
        `export API page from ${url.toString()} is larger than ${body.limit} bytes${body.declared === undefined ? '' : ` (Content-Length ${body.declared})`}; lower the source pageSize (now ${this.#options.pageSize}) or raise maxPageBytes`,
      );
    }
    if (body.kind === 'cut') {
      const expected = body.declared === undefined ? '' : ` of the ${body.declared} announced by Content-Length`;
      return { kind: 'malformed', reason: `the body was cut off after ${body.received} bytes${expected}`, cause: body.cause };
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body.bytes);
    } catch {
      return { kind: 'malformed', reason: 'the body is not valid UTF-8' };
    }
    const parsed = parseExportApiPage(text);
    if (!parsed.ok) return { kind: 'malformed', reason: this.#redact(parsed.problem) };
    return { kind: 'page', page: parsed.page };
  }

  #classifyStatus(url: URL, type: RecordType, response: Response): AttemptOutcome {
    const { status } = response;
    const label = statusLabel(status);
    if (status === 401 || status === 403) {
      throw new RetentionError(
        'ERR_SOURCE_AUTH',
        `export API refused the token with ${label} for GET ${url.toString()}; check the source token in the retention settings (it may be expired, revoked or lack access to ${type})`,
      );
    }
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), this.#options.now(), this.#options.maxRetryAfterMs);
      return retryAfterMs === undefined
        ? { kind: 'retry', reason: label }
        : { kind: 'retry', reason: `${label}, Retry-After ${retryAfterMs} ms`, retryAfterMs };
    }
    if (status >= 500 || status === 408) return { kind: 'retry', reason: label };
    if (status >= 300 && status < 400) {
      const location = response.headers.get('location');
      throw configError(
        this.#redact(
          `export API redirected GET ${url.toString()} with ${label}${location === null ? '' : ` to ${location}`}; set the source baseUrl to the final address (redirects are not followed, so the token is never sent elsewhere)`,
        ),
      );
    }
    throw configError(
      `export API answered ${label} for GET ${url.toString()}; check the source baseUrl (${this.#options.baseUrl.toString()}) and that the API offers the ${type} export`,
    );
  }

  #malformed(url: URL, problem: string, cause?: unknown): RetentionError {
    return new RetentionError(
      'ERR_SOURCE_MALFORMED_PAGE',
      this.#redact(
        `export API answered GET ${url.toString()} with a malformed page: ${problem}; the chunk will be retried later, and if this persists the platform's export API needs fixing`,
      ),
      cause === undefined ? undefined : { cause },
    );
  }

  #aborted(type: RecordType, signal: AbortSignal): RetentionError {
    return new RetentionError('ERR_SOURCE_ABORTED', `reading ${type} from the export API was aborted`, { cause: signal.reason });
  }

  /** Removes the token from text that may echo server output (belt and braces: the token is never put there). */
  #redact(text: string): string {
    return text.split(this.#options.token).join('[redacted]');
  }
}
