import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RECORD_TYPES, isRecordType, type RecordType } from '../../src/records/record-type.js';

/**
 * A scripted misbehaviour for one request of the fixture. Faults replace the normal answer; `'ok'` serves normally.
 * - `status`: answers `status` with an empty JSON error body (and `Retry-After` when given).
 * - `stall`: sends `200` headers, then no body until the client gives up (or the fixture closes).
 * - `truncated`: announces the normal page's `Content-Length`, sends half of it, then drops the connection.
 * - `cut-json`: sends half of the normal page (chunked, so no length to compare) and ends the response cleanly.
 * - `invalid-json`: `200` with a body that is not JSON.
 * - `body`: `200` (or `status`) with `body` as JSON: wrong shapes, non-object records, huge pages.
 * - `cursor-loop`: the normal page, but `nextCursor` is the cursor the client just sent (a paging loop; on a request
 *   without a cursor, the cursor of offset 0, which a client sees repeat only if a later answer loops too).
 * - `redirect`: `302` to `location`.
 */
export type ExportApiFault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'stall' }
  | { kind: 'truncated' }
  | { kind: 'cut-json' }
  | { kind: 'invalid-json' }
  | { kind: 'body'; body: unknown; status?: number }
  | { kind: 'cursor-loop' }
  | { kind: 'redirect'; location: string };

/** One step of a script: a fault, or `'ok'` for the normal answer. */
export type ExportApiStep = 'ok' | ExportApiFault;

/** A request the fixture received, in arrival order. */
export interface ExportApiRequest {
  /** 0 for the first request the fixture saw. */
  seq: number;
  /** Arrival time on a monotonic clock in ms (not affected by fake timers); compare two requests, never to `Date.now()`. */
  atMs: number;
  method: string;
  /** Path without the query. */
  path: string;
  /** Query parameters (`since`, `until`, `limit`, `cursor`, anything else sent). */
  query: Record<string, string>;
  authorization: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  /** What the fixture answered with: `'ok'` or the fault kind. */
  answeredWith: 'ok' | ExportApiFault['kind'];
}

/** A deterministic record the fixture serves. */
export interface FixtureRecord {
  id: string;
  tenantId: string;
  createdAt: string;
  updatedAt: string;
  schemaVersion: 1;
  seq: number;
}

export interface ExportApiFixtureOptions {
  /** The bearer token the fixture accepts. */
  token: string;
  /** How many records each type holds. Default: 0 for every type. */
  records?: Partial<Record<RecordType, number>>;
  /** `updatedAt` of record 0 of every type. Default: 2025-01-01T00:00:00.000Z. */
  start?: Date;
  /** Milliseconds between the `updatedAt` of consecutive records. Default: 60000. */
  stepMs?: number;
  /** A path prefix the API lives under (`/api`). Default: none. */
  pathPrefix?: string;
}

/** A running fixture of the platform's export API on 127.0.0.1. */
export interface ExportApiFixture {
  /** `http://127.0.0.1:<port><pathPrefix>`, what `HttpSource` takes as `baseUrl`. */
  baseUrl: string;
  /** Every request seen so far, in arrival order. */
  readonly requests: readonly ExportApiRequest[];
  /** Queues steps: each request consumes the next one; when none is left, requests are served normally. */
  script(...steps: ExportApiStep[]): void;
  /** The records of `type` with `from <= updatedAt < to` (all of them without a window), in serving order. */
  recordsOf(type: RecordType, window?: { from: Date; to: Date }): FixtureRecord[];
  /** Closes the server and every open connection (stalled ones included). */
  close(): Promise<void>;
}

const MAX_LIMIT = 5000;

type NormalAnswer = { status: number; body: unknown; page?: { records: FixtureRecord[]; nextCursor: string | null } };

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function parseInstant(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) || date.toISOString() !== value ? undefined : date;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * Starts a real HTTP server (node:http, port 0) that implements the export API `HttpSource` reads
 * (`GET <prefix>/v1/exports/<type>?since&until&limit[&cursor]`, bearer token, cursor paging) over deterministic
 * records, with faults scripted per request.
 *
 * @example
 * const api = await startExportApiFixture({ token: 't0k3n', records: { chats: 12 } });
 * api.script({ kind: 'status', status: 503, retryAfter: '1' }, 'ok');
 * const source = new HttpSource({ baseUrl: api.baseUrl, token: 't0k3n', pageSize: 5 });
 * await api.close();
 */
export async function startExportApiFixture(options: ExportApiFixtureOptions): Promise<ExportApiFixture> {
  const start = (options.start ?? new Date('2025-01-01T00:00:00.000Z')).getTime();
  const stepMs = options.stepMs ?? 60_000;
  const prefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
  const requests: ExportApiRequest[] = [];
  const steps: ExportApiStep[] = [];

  const data = new Map<RecordType, FixtureRecord[]>(
    RECORD_TYPES.map((type) => [
      type,
      Array.from({ length: options.records?.[type] ?? 0 }, (_, i) => {
        const updatedAt = new Date(start + i * stepMs).toISOString();
        return { id: `${type}-${String(i).padStart(6, '0')}`, tenantId: 'acme', createdAt: updatedAt, updatedAt, schemaVersion: 1, seq: i };
      }),
    ]),
  );

  const recordsOf = (type: RecordType, window?: { from: Date; to: Date }): FixtureRecord[] => {
    const all = data.get(type) ?? [];
    if (window === undefined) return [...all];
    return all.filter((r) => {
      const at = Date.parse(r.updatedAt);
      return at >= window.from.getTime() && at < window.to.getTime();
    });
  };

  /** The normal answer: a page, or an error status with its body. */
  const normalPage = (req: IncomingMessage, url: URL): NormalAnswer => {
    if (req.headers.authorization !== `Bearer ${options.token}`) return { status: 401, body: { error: 'invalid token' } };
    const match = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/v1/exports/([^/]+)$`).exec(url.pathname);
    const type = match?.[1];
    if (req.method !== 'GET' || type === undefined || !isRecordType(type)) return { status: 404, body: { error: 'no such export' } };
    const since = parseInstant(url.searchParams.get('since') ?? undefined);
    const until = parseInstant(url.searchParams.get('until') ?? undefined);
    const limit = Number(url.searchParams.get('limit'));
    if (since === undefined || until === undefined || since > until)
      return { status: 400, body: { error: 'since and until must be ISO-8601 instants, since <= until' } };
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { status: 400, body: { error: `limit must be 1..${MAX_LIMIT}` } };
    const cursor = url.searchParams.get('cursor');
    const offset = cursor === null ? 0 : decodeCursor(cursor);
    if (offset === undefined) return { status: 400, body: { error: 'unknown cursor' } };
    const matching = recordsOf(type, { from: since, to: until });
    const records = matching.slice(offset, offset + limit);
    const nextCursor = offset + limit < matching.length ? encodeCursor(offset + limit) : null;
    const page = { records, nextCursor };
    return { status: 200, body: page, page };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fixture.invalid');
    const step = steps.shift() ?? 'ok';
    requests.push({
      seq: requests.length,
      atMs: monotonicMs(),
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      answeredWith: step === 'ok' ? 'ok' : step.kind,
    });
    if (step !== 'ok') {
      switch (step.kind) {
        case 'status':
          sendJson(res, step.status, { error: `scripted ${step.status}` }, step.retryAfter === undefined ? {} : { 'retry-after': step.retryAfter });
          return;
        case 'stall':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          return;
        case 'invalid-json': {
          const text = '<html>upstream error</html>';
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
          res.end(text);
          return;
        }
        case 'body':
          sendJson(res, step.status ?? 200, step.body);
          return;
        case 'redirect':
          res.writeHead(302, { location: step.location, 'content-length': '0' });
          res.end();
          return;
        default:
          break;
      }
    }
    const answer = normalPage(req, url);
    if (answer.page === undefined || step === 'ok') {
      sendJson(res, answer.status, answer.body);
      return;
    }
    if (step.kind === 'cursor-loop') {
      sendJson(res, 200, { ...answer.page, nextCursor: url.searchParams.get('cursor') ?? encodeCursor(0) });
      return;
    }
    const text = JSON.stringify(answer.page);
    const half = Buffer.from(text).subarray(0, Math.floor(Buffer.byteLength(text) / 2));
    if (step.kind === 'truncated') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.write(half, () => res.socket?.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(half);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}${prefix}`,
    requests,
    script: (...more) => {
      steps.push(...more);
    },
    recordsOf,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
