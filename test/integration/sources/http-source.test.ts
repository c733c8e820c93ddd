import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { HttpSource, type HttpSourceOptions } from '../../../src/sources/http-source.js';
import type { SourcePage, TimeWindow } from '../../../src/sources/source.js';
import { startExportApiFixture, type ExportApiFixture, type ExportApiStep } from '../../support/export-api-fixture.js';
import { testDestinations } from '../../support/destinations.js';

const token = `tok_${randomBytes(18).toString('base64url')}`;
/** The fixture listens on loopback: the test bed allows it, as an operator would with ALLOWED_PRIVATE_DESTINATIONS. */
const network = testDestinations().network;
const start = new Date('2025-01-01T00:00:00.000Z');
/** 23 chats, one a minute from `start`; the window holds minutes 2 to 20 (18 records). */
const window: TimeWindow = { from: new Date('2025-01-01T00:02:00.000Z'), to: new Date('2025-01-01T00:20:00.000Z') };

let api: ExportApiFixture;
let waits: number[];

beforeEach(async () => {
  api = await startExportApiFixture({ token, records: { chats: 23, 'call-logs': 3 }, start, stepMs: 60_000 });
  waits = [];
});

afterEach(async () => {
  await api.close();
});

/** A source on the fixture that records its waits instead of sleeping (real sleeping is tested separately). */
function source(options: Partial<HttpSourceOptions> = {}): HttpSource {
  return new HttpSource({
    baseUrl: api.baseUrl,
    token,
    pageSize: 5,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
    },
    network,
    ...options,
  });
}

async function readAll(src: HttpSource, range: TimeWindow = window, signal?: AbortSignal): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of src.read('chats', range, signal ? { signal } : {})) pages.push(page);
  return pages;
}

async function readError(src: HttpSource, range: TimeWindow = window, signal?: AbortSignal): Promise<RetentionError> {
  try {
    await readAll(src, range, signal);
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  }
  throw new Error('expected the read to fail');
}

describe('HttpSource against the export API fixture', () => {
  it('reads every page of a window with since, until, limit and the cursor', async () => {
    const pages = await readAll(source());
    expect(pages.map((p) => p.records.length)).toEqual([5, 5, 5, 3]);
    expect(pages.flatMap((p) => p.records)).toEqual(api.recordsOf('chats', window));
    expect(api.recordsOf('chats', window)).toHaveLength(18);

    expect(api.requests).toHaveLength(4);
    for (const request of api.requests) {
      expect(request.method).toBe('GET');
      expect(request.path).toBe('/v1/exports/chats');
      expect(request.query).toMatchObject({ since: '2025-01-01T00:02:00.000Z', until: '2025-01-01T00:20:00.000Z', limit: '5' });
      expect(request.authorization).toBe(`Bearer ${token}`);
      expect(request.accept).toBe('application/json');
      expect(request.userAgent).toBe('retention-worker (export API client)');
    }
    expect(api.requests[0]?.query.cursor).toBeUndefined();
    expect(new Set(api.requests.slice(1).map((r) => r.query.cursor)).size).toBe(3);
  });

  it('keeps a path prefix of the base URL and sends the configured user agent', async () => {
    const prefixed = await startExportApiFixture({ token, records: { contacts: 2 }, start, pathPrefix: '/api/tenant-a' });
    try {
      const src = new HttpSource({ baseUrl: prefixed.baseUrl, token, userAgent: 'retention-test/1', network });
      const records = [];
      for await (const page of src.read('contacts', { from: start, to: new Date('2025-02-01T00:00:00Z') })) records.push(...page.records);
      expect(records).toEqual(prefixed.recordsOf('contacts'));
      expect(prefixed.requests[0]?.path).toBe('/api/tenant-a/v1/exports/contacts');
      expect(prefixed.requests[0]?.query.limit).toBe('500');
      expect(prefixed.requests[0]?.userAgent).toBe('retention-test/1');
    } finally {
      await prefixed.close();
    }
  });

  it('asks once and yields nothing for a window without records, and not at all for an empty window', async () => {
    const later = { from: new Date('2025-03-01T00:00:00Z'), to: new Date('2025-03-02T00:00:00Z') };
    expect(await readAll(source(), later)).toEqual([]);
    expect(api.requests).toHaveLength(1);
    expect(await readAll(source(), { from: window.from, to: window.from })).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it('passes non-object record entries through for the pipeline to reject', async () => {
    const records = [{ id: 'a' }, 42, 'text', null, ['x']];
    api.script({ kind: 'body', body: { records, nextCursor: null } });
    const pages = await readAll(source());
    expect(pages).toEqual([{ records }]);
  });

  type Expectation = { recovers: true } | { code: string; message: RegExp };
  const faults: [string, ExportApiStep[], Expectation, number, Partial<HttpSourceOptions>?][] = [
    ['a 500', [{ kind: 'status', status: 500 }], { recovers: true }, 1],
    [
      'a 502 then a 504',
      [
        { kind: 'status', status: 502 },
        { kind: 'status', status: 504 },
      ],
      { recovers: true },
      2,
    ],
    ['a 503 without Retry-After', [{ kind: 'status', status: 503 }], { recovers: true }, 1],
    ['a 429 with Retry-After 0', [{ kind: 'status', status: 429, retryAfter: '0' }], { recovers: true }, 1],
    ['a 408', [{ kind: 'status', status: 408 }], { recovers: true }, 1],
    ['a stalled body', [{ kind: 'stall' }], { recovers: true }, 1, { requestTimeoutMs: 300 }],
    ['a body cut short of its Content-Length', [{ kind: 'truncated' }], { recovers: true }, 1],
    ['cut JSON', [{ kind: 'cut-json' }], { recovers: true }, 1],
    ['invalid JSON', [{ kind: 'invalid-json' }], { recovers: true }, 1],
    ['records that are not an array', [{ kind: 'body', body: { records: {}, nextCursor: null } }], { recovers: true }, 1],
    ['a numeric nextCursor', [{ kind: 'body', body: { records: [], nextCursor: 7 } }], { recovers: true }, 1],
    ['a JSON array body', [{ kind: 'body', body: [] }], { recovers: true }, 1],
    [
      'six 500s',
      Array(6).fill({ kind: 'status', status: 500 }),
      { code: 'ERR_SOURCE_UNAVAILABLE', message: /after 6 attempts \(last: 500 Internal Server Error\)/ },
      6,
    ],
    [
      'six 503s',
      Array(6).fill({ kind: 'status', status: 503, retryAfter: '0' }),
      { code: 'ERR_SOURCE_UNAVAILABLE', message: /last: 503 Service Unavailable/ },
      6,
    ],
    [
      'stalls until the attempts run out',
      Array(3).fill({ kind: 'stall' }),
      { code: 'ERR_SOURCE_UNAVAILABLE', message: /within 200 ms \(reading the body\)/ },
      3,
      { requestTimeoutMs: 200, maxAttempts: 3 },
    ],
    [
      'three invalid JSON bodies',
      Array(3).fill({ kind: 'invalid-json' }),
      { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /not valid JSON .*3 of 3 attempts/ },
      3,
    ],
    [
      'three truncated bodies',
      Array(3).fill({ kind: 'truncated' }),
      { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /cut off after \d+ bytes of the \d+ announced by Content-Length/ },
      3,
    ],
    ['three cut JSON bodies', Array(3).fill({ kind: 'cut-json' }), { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /JSON body ends early/ }, 3],
    [
      'three wrong shapes',
      Array(3).fill({ kind: 'body', body: { records: 'x', nextCursor: null } }),
      { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /"records" must be an array, got a string/ },
      3,
    ],
    [
      'a missing nextCursor',
      [{ kind: 'body', body: { records: [] } }],
      { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /"nextCursor" is missing/ },
      1,
      { maxMalformedAttempts: 1 },
    ],
    ['a cursor loop', ['ok', { kind: 'cursor-loop' }], { code: 'ERR_SOURCE_MALFORMED_PAGE', message: /already returned in this window/ }, 2],
    ['a 401', [{ kind: 'status', status: 401 }], { code: 'ERR_SOURCE_AUTH', message: /401 Unauthorized .*check the source token/ }, 1],
    ['a 403', [{ kind: 'status', status: 403 }], { code: 'ERR_SOURCE_AUTH', message: /403 Forbidden .*check the source token/ }, 1],
    [
      'a 400',
      [{ kind: 'status', status: 400 }],
      { code: 'ERR_SOURCE_CONFIG', message: /400 Bad Request for GET http:\/\/127\.0\.0\.1:\d+\/v1\/exports\/chats\?since=/ },
      1,
    ],
    [
      'a 404',
      [{ kind: 'status', status: 404 }],
      { code: 'ERR_SOURCE_CONFIG', message: /404 Not Found for GET http:\/\/127\.0\.0\.1:\d+\/v1\/exports\/chats/ },
      1,
    ],
    [
      'a redirect (not followed)',
      [{ kind: 'redirect', location: 'https://elsewhere.invalid/' }],
      { code: 'ERR_SOURCE_CONFIG', message: /redirected .* to https:\/\/elsewhere\.invalid\// },
      1,
    ],
  ];

  it.each(faults)('handles %s', async (_label, script, expected, failedRequests, options = {}) => {
    api.script(...script);
    const src = source(options);
    if ('recovers' in expected) {
      const pages = await readAll(src);
      expect(pages.flatMap((p) => p.records)).toEqual(api.recordsOf('chats', window));
      expect(api.requests).toHaveLength(4 + failedRequests);
      expect(waits).toHaveLength(failedRequests);
      return;
    }
    const err = await readError(src);
    expect(err.code).toBe(expected.code);
    expect(err.message).toMatch(expected.message);
    expect(api.requests).toHaveLength(failedRequests);
    expect(err.message).not.toContain(token);
    expect(inspect(err, { depth: 10 })).not.toContain(token);
  });

  it('gives the last failure as the cause of ERR_SOURCE_UNAVAILABLE', async () => {
    api.script({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const err = await readError(source({ maxAttempts: 2 }));
    expect(err.code).toBe('ERR_SOURCE_UNAVAILABLE');
    expect(err.cause).toBeInstanceOf(Error);
    expect((err.cause as Error).message).toBe('503 Service Unavailable');
  });

  it('reports a network error as unavailable after retrying', async () => {
    const closed = await startExportApiFixture({ token });
    const baseUrl = closed.baseUrl;
    await closed.close();
    const err = await readError(new HttpSource({ baseUrl, token, maxAttempts: 3, sleep: async () => {}, network }));
    expect(err.code).toBe('ERR_SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(/after 3 attempts \(last: network error: .*ECONNREFUSED/);
  });

  it('refuses a page larger than maxPageBytes, by Content-Length, without retrying', async () => {
    const err = await readError(source({ maxPageBytes: 300 }));
    expect(err.code).toBe('ERR_SOURCE_PAGE_TOO_LARGE');
    expect(err.message).toMatch(/larger than 300 bytes \(Content-Length \d+\); lower the source pageSize \(now 5\)/);
    expect(api.requests).toHaveLength(1);
  });

  it('refuses a chunked page that grows beyond maxPageBytes while reading', async () => {
    api.script({ kind: 'cut-json' });
    const err = await readError(source({ maxPageBytes: 100 }));
    expect(err.code).toBe('ERR_SOURCE_PAGE_TOO_LARGE');
    expect(err.message).toMatch(/larger than 100 bytes;/);
  });

  describe('backoff and Retry-After', () => {
    it('backs off exponentially with full jitter, capped at backoffMaxMs', async () => {
      api.script(...Array(5).fill({ kind: 'status', status: 500 }));
      await readAll(source({ backoffBaseMs: 100, backoffMaxMs: 250, random: () => 0.5 }));
      expect(waits).toEqual([50, 100, 125, 125, 125]);
      expect(api.requests.slice(0, 6).map((r) => r.answeredWith)).toEqual(['status', 'status', 'status', 'status', 'status', 'ok']);
    });

    it.each([
      ['delay-seconds on a 429', { kind: 'status', status: 429, retryAfter: '2' }, 2000],
      ['delay-seconds on a 503', { kind: 'status', status: 503, retryAfter: '7' }, 7000],
      ['an HTTP date', { kind: 'status', status: 503, retryAfter: 'Wed, 01 Jan 2025 12:00:03 GMT' }, 3000],
      ['an HTTP date in the past', { kind: 'status', status: 429, retryAfter: 'Wed, 01 Jan 2025 11:00:00 GMT' }, 0],
      ['a value above maxRetryAfterMs (capped)', { kind: 'status', status: 429, retryAfter: '3600' }, 10_000],
      ['an unreadable value (backoff instead)', { kind: 'status', status: 429, retryAfter: 'soon' }, 250],
      ['Retry-After on a 500 (ignored: backoff)', { kind: 'status', status: 500, retryAfter: '9' }, 250],
    ] as const)('honours Retry-After given as %s', async (_label, fault, expectedWait) => {
      api.script(fault);
      const now = () => Date.parse('2025-01-01T12:00:00Z');
      await readAll(source({ now, maxRetryAfterMs: 10_000, backoffBaseMs: 500, random: () => 0.5 }));
      expect(waits).toEqual([expectedWait]);
      expect(api.requests).toHaveLength(5);
    });

    it('really waits out Retry-After before asking again', async () => {
      api.script({ kind: 'status', status: 429, retryAfter: '1' });
      const pages = await readAll(new HttpSource({ baseUrl: api.baseUrl, token, pageSize: 50, network }));
      expect(pages.flatMap((p) => p.records)).toHaveLength(18);
      expect(api.requests.map((r) => r.answeredWith)).toEqual(['status', 'ok']);
      const [first, second] = api.requests;
      expect((second?.atMs ?? 0) - (first?.atMs ?? 0)).toBeGreaterThanOrEqual(990);
    });
  });

  describe('abort', () => {
    it('does not send a request when the signal has already aborted', async () => {
      const err = await readError(source(), window, AbortSignal.abort());
      expect(err.code).toBe('ERR_SOURCE_ABORTED');
      expect(api.requests).toHaveLength(0);
    });

    it('aborts a stalled request at once, without retrying', async () => {
      api.script({ kind: 'stall' });
      const controller = new AbortController();
      const src = source({ requestTimeoutMs: 60_000 });
      const failing = readError(src, window, controller.signal);
      while (api.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(new Error('shutting down'));
      const err = await failing;
      expect(err.code).toBe('ERR_SOURCE_ABORTED');
      expect((err.cause as Error).message).toBe('shutting down');
      expect(api.requests).toHaveLength(1);
      expect(waits).toEqual([]);
    });

    it('aborts while waiting to retry', async () => {
      api.script({ kind: 'status', status: 503, retryAfter: '60' });
      const controller = new AbortController();
      const src = new HttpSource({ baseUrl: api.baseUrl, token, logger: { warn: () => controller.abort() }, network });
      const err = await readError(src, window, controller.signal);
      expect(err.code).toBe('ERR_SOURCE_ABORTED');
      expect(api.requests).toHaveLength(1);
    });

    it('stops between pages when the consumer aborts', async () => {
      const controller = new AbortController();
      const seen: SourcePage[] = [];
      let caught: unknown;
      try {
        for await (const page of source().read('chats', window, { signal: controller.signal })) {
          seen.push(page);
          controller.abort();
        }
      } catch (err) {
        caught = err;
      }
      expect(seen).toHaveLength(1);
      expect(caught).toBeInstanceOf(RetentionError);
      expect((caught as RetentionError).code).toBe('ERR_SOURCE_ABORTED');
      expect(api.requests).toHaveLength(1);
    });
  });

  describe('the token', () => {
    it('appears in no error message, cause or log line', async () => {
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const logger = createLogger({ level: 'warn', name: 'http-source-test', destination });
      const scenarios: [ExportApiStep[], Partial<HttpSourceOptions>][] = [
        [[{ kind: 'status', status: 401 }], {}],
        [[{ kind: 'status', status: 404 }], {}],
        [Array(2).fill({ kind: 'status', status: 500 }), { maxAttempts: 2 }],
        [Array(2).fill({ kind: 'stall' }), { maxAttempts: 2, requestTimeoutMs: 150 }],
        [Array(3).fill({ kind: 'truncated' }), {}],
        [Array(3).fill({ kind: 'invalid-json' }), {}],
        [['ok', { kind: 'cursor-loop' }], {}],
        [[{ kind: 'redirect', location: '/elsewhere' }], {}],
        [[], { maxPageBytes: 10 }],
      ];
      const errors: RetentionError[] = [];
      for (const [script, options] of scenarios) {
        api.script(...script);
        errors.push(await readError(source({ ...options, logger })));
      }
      expect(errors).toHaveLength(scenarios.length);
      expect(lines.length).toBeGreaterThan(0);
      for (const err of errors) {
        expect(err.message).not.toContain(token);
        expect(inspect(err, { depth: 10 })).not.toContain(token);
      }
      expect(lines.join('')).not.toContain(token);
    });

    it('is refused by the API with ERR_SOURCE_AUTH when wrong, and neither token is in the message', async () => {
      const wrong = `tok_${randomBytes(18).toString('base64url')}`;
      const err = await readError(source({ token: wrong }));
      expect(err.code).toBe('ERR_SOURCE_AUTH');
      expect(err.message).not.toContain(wrong);
      expect(err.message).not.toContain(token);
      expect(api.requests[0]?.authorization).toBe(`Bearer ${wrong}`);
    });
  });
});
