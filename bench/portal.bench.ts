/**
 * `npm run bench:portal [count] [concurrency] [seconds]`: the portal's archive pages with one million records archived
 * (20,000 against the wire-compatible development server; or `count`: 85 % call logs, 10 % contacts, 5 % chats with
 * their transcripts), seeded with the production documents and indexes. Builds the real portal app (Redis sessions, a
 * tenant, its owner signed in) and, in the same process, a minimal Express route (`GET /ping` answering `ok`) and a
 * **render baseline**: a route that renders the same EJS templates (page and layout) with the same values (the same
 * 50 calls, the same transcript page) held in memory, with
 * no session, store or audit, so the ratio to it shows what the portal's middleware, store calls and audit cost. A
 * child process keeps `concurrency` (default 16) keep-alive requests in flight for `seconds` (default 10) against
 * each of: the baselines, the call-log list's first page, a later page (the first page's "Next" keyset link) and the
 * first transcript page of the chat with the longest transcript. Prints requests/s, p50, p95 and p99 latency, the
 * portal process's CPU time per request (user + system, `process.cpuUsage`) apart from the database server's (its
 * child process, from `/proc`), each page's ratio to its render baseline in CPU per request (goal ≥ 0.5), and the
 * MongoDB commands per page (driver command monitoring; archive and control plane apart), alone (one request at a
 * time) and under load.
 *
 * MongoDB: `MONGODB_URL`, else a `mongod` on PATH, else the wire-compatible test server, each in a child process of
 * its own. The wire server's speed says nothing about MongoDB's.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import express from 'express';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { hashPassword } from '../src/auth/password-hashing.js';
import { parseKeyring } from '../src/crypto/keyring.js';
import { createLogger } from '../src/logger.js';
import { createPortalApp, sessionCookieName } from '../src/portal/create-portal-app.js';
import { findViewsDirectory, useEjsLayout } from '../src/portal/view-rendering.js';
import type { PortalOptions } from '../src/portal/portal-deps.js';
import { LIST_PAGE_SIZE } from '../src/portal/routes/archive-list-page.js';
import { TRANSCRIPT_PAGE_SIZE } from '../src/portal/routes/archive-chats-routes.js';
import { ArchiveDatabases, archiveDatabaseName, cachedSettingsLookup } from '../src/store/archive/archive-databases.js';
import { ArchiveImportsStore } from '../src/store/archive/archive-imports-store.js';
import { ArchiveStore } from '../src/store/archive/archive-store.js';
import { createControlPlane, ensureControlPlaneIndexes } from '../src/store/control-plane.js';
import { testDestinations } from '../test/support/destinations.js';
import { cleanupPrefix, uniqueName } from '../test/support/redis.js';
import { SEED_SHARES, seedArchive } from './portal-archive-seed.js';
import type { LoadOptions, LoadResult } from './portal-load.js';
import { cpuMicrosOf, startMongoChild, stopMongoChild } from './mongo-child.js';

const PUBLIC_HOST = 'portal.bench';
const TENANT = 'bench-portal';
const PASSWORD = 'quiet-harbour-lantern-meadow';
const FROM = new Date('2026-01-01T00:00:00Z');
const SEQUENTIAL_REQUESTS = 20;
/** The default archive size against the wire-compatible development server (a real MongoDB: a million). */
const WIRE_SERVER_DEFAULT_COUNT = 20_000;
const USAGE = 'usage: npm run bench:portal [count >= 1000] [concurrency 1..256] [seconds 1..600]';

function wholeArgument(index: number, fallback: number, min: number, max: number): number {
  const raw = process.argv[index];
  const value = raw === undefined ? fallback : Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${USAGE} (got "${raw}")`);
  return value;
}

const concurrency = wholeArgument(3, 16, 1, 256);
const seconds = wholeArgument(4, 10, 1, 600);
const benchDir = new URL('.', import.meta.url).pathname;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** CPU time (user + system) this process has used so far, in microseconds. */
function ownCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * What the portal handed to `res.render` for a page: captured once, so the render baseline renders the very same
 * template with the very same values. Patches Express's response prototype while a capture is armed.
 */
const captured = new Map<string, { view: string; locals: Record<string, unknown> }>();
let captureAs: string | undefined;
const originalRender = express.response.render;
express.response.render = function capture(
  this: express.Response,
  view: string,
  options?: object | ((err: Error, html: string) => void),
  callback?: (err: Error, html: string) => void,
) {
  if (captureAs !== undefined && typeof options === 'object') {
    captured.set(captureAs, { view, locals: { ...this.app.locals, ...this.locals, ...options } });
    captureAs = undefined;
  }
  Reflect.apply(originalRender, this, callback === undefined ? [view, options] : [view, options, callback]);
} as typeof express.response.render;

/** One HTTP request to the portal with the headers of a browser behind the trusted TLS proxy. */
function send(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          ...headers,
          ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function sessionCookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const line of headers['set-cookie'] ?? []) {
    const match = new RegExp(`^${name.replace(/[.]/g, '\\.')}=([^;]*)`).exec(line);
    if (match?.[1] !== undefined) return `${name}=${match[1]}`;
  }
  return undefined;
}

/** Signs the owner in as a browser does (sign-in form with its CSRF token) and returns the session cookie. */
async function signIn(port: number, host: string, cookieName: string, email: string): Promise<string> {
  const base = { Host: host, 'X-Forwarded-Proto': 'https', 'User-Agent': 'portal-bench' };
  const form = await send(port, 'GET', '/sign-in', base);
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
  const anonymous = sessionCookie(form.headers, cookieName);
  if (token === undefined || anonymous === undefined) throw new Error(`GET /sign-in answered ${form.status} without a CSRF token and session cookie`);
  const body = new URLSearchParams({ email, password: PASSWORD, _csrf: token }).toString();
  const answer = await send(port, 'POST', '/sign-in', { ...base, Cookie: anonymous }, body);
  const cookie = sessionCookie(answer.headers, cookieName);
  if (answer.status !== 303 || answer.headers.location !== '/' || cookie === undefined) {
    throw new Error(`sign-in answered ${answer.status} (location ${String(answer.headers.location)}): the owner is not signed in`);
  }
  return cookie;
}

/** Runs `portal-load.ts` in a child process (its own CPU time) and returns its result. */
async function loadInChild(options: LoadOptions): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${benchDir}portal-load.ts`, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the load generator exited with code ${String(code)}`);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

interface RoundTrips {
  archive: number;
  controlPlane: number;
  other: number;
  /** `<command> <collection>` → count, e.g. `find callLogs`. */
  commands: Map<string, number>;
}

const machine = () =>
  `load average ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')} on ${availableParallelism()} CPUs`;
// room for a million documents in memory
const mongoChild = await startMongoChild(16_384);
const { info } = mongoChild;
// The wire-compatible server evaluates every query in one Node.js process: a million records make each page take
// seconds there, and the portal's own CPU per request is then lost in its idle time. Its default is smaller.
const count = wholeArgument(2, info.kind === 'wire' ? WIRE_SERVER_DEFAULT_COUNT : 1_000_000, 1_000, 10_000_000);
console.log(
  `Portal benchmark: ${fmt(count)} archived records (${Object.entries(SEED_SHARES)
    .map(([type, share]) => `${Math.round(share * 100)} % ${type}`)
    .join(', ')}), ${concurrency} concurrent keep-alive requests, ${seconds} s per target`,
);
console.log(`machine: ${machine()} (other processes share it: compare figures of one run only)`);
console.log(`server: ${info.description}`);
if (info.kind === 'wire') {
  console.log(
    'NOTE: the wire-compatible test server keeps data in memory and evaluates queries with mingo in one Node.js process; its speed says nothing about MongoDB. Set MONGODB_URL (or put mongod on PATH) to measure a real server.',
  );
}

const controlName = `bench_portal_cp_${process.pid}`;
const archivePrefix = `bench_portal_${process.pid}_`;
const redisPrefix = `${uniqueName('bench-portal')}:`;
const keyring = parseKeyring(`bench:${Buffer.alloc(32, 1).toString('base64')}`);
const seedClient = await MongoClient.connect(info.url);
const mongo = await MongoClient.connect(info.url, { monitorCommands: true });
const plain = await MongoClient.connect(info.url);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const servers: Server[] = [];
const trips: RoundTrips = { archive: 0, controlPlane: 0, other: 0, commands: new Map() };
let counting = false;
mongo.on('commandStarted', (event) => {
  if (!counting) return;
  if (event.databaseName === controlName) trips.controlPlane += 1;
  else if (event.databaseName.startsWith(archivePrefix)) trips.archive += 1;
  else trips.other += 1;
  const target: unknown = event.command[event.commandName];
  const name = `${event.commandName}${typeof target === 'string' ? ` ${target}` : ''}`;
  trips.commands.set(name, (trips.commands.get(name) ?? 0) + 1);
});
const countTrips = async <T>(work: () => Promise<T>): Promise<{ result: T; trips: RoundTrips }> => {
  Object.assign(trips, { archive: 0, controlPlane: 0, other: 0, commands: new Map() });
  counting = true;
  try {
    const result = await work();
    return { result, trips: { ...trips } };
  } finally {
    counting = false;
  }
};

try {
  const controlDb = mongo.db(controlName);
  const controlPlane = createControlPlane(controlDb);
  await ensureControlPlaneIndexes(controlPlane);
  const settings = async (tenantId: string) => (await controlPlane.settings.getRetention(tenantId))?.value;
  await controlPlane.tenants.create({ id: TENANT, displayName: 'Bench Support' });
  const seedArchives = new ArchiveDatabases({ client: seedClient, prefix: archivePrefix, keyring, settings: async () => undefined });
  const archiveDb = await seedArchives.forTenant(TENANT);

  let lastReport = performance.now();
  const seeded = await seedArchive(archiveDb, new ArchiveStore(seedArchives), TENANT, {
    count,
    from: FROM,
    onProgress: (records) => {
      if (performance.now() - lastReport < 15_000) return;
      lastReport = performance.now();
      console.log(`  seeding: ${fmt(records)} records…`);
    },
  });
  const total = Object.values(seeded.records).reduce((n, v) => n + v, 0);
  console.log(
    `archive: ${fmt(total)} records (${Object.entries(seeded.records)
      .map(([type, n]) => `${fmt(n)} ${type}`)
      .join(
        ', ',
      )}; ${fmt(seeded.messages)} transcript messages) with the production indexes, seeded with insertMany in ${seeded.seconds.toFixed(1)} s = ${fmt(total / seeded.seconds)} records/s`,
  );

  const options: PortalOptions = {
    publicUrl: `https://${PUBLIC_HOST}`,
    defaultTenant: undefined,
    trustProxy: ['loopback'],
    sessionSecrets: ['a-bench-session-secret-of-at-least-32-chars'],
    sessionIdleMs: 30 * 60_000,
    sessionAbsoluteMs: 12 * 3_600_000,
    cookieSecure: true,
    redisPrefix,
  };
  const openedArchives: ArchiveDatabases[] = [];
  /**
   * The portal app on `client`. Two are built on the same database and sessions: one on a client with command
   * monitoring, to count round trips, and one without, for the load test (monitoring decodes every reply a second
   * time, which would count as the portal's CPU).
   */
  const portalOn = (client: MongoClient): express.Express => {
    // As the portal process does: where the archive lives is looked up at most every 5 s.
    const archives = new ArchiveDatabases({
      client,
      prefix: archivePrefix,
      keyring,
      settings: cachedSettingsLookup(settings, { ttlMs: 5_000 }),
      network: testDestinations().network,
    });
    openedArchives.push(archives);
    const db = client.db(controlName);
    return createPortalApp({
      controlPlane: createControlPlane(db),
      redis,
      keyring,
      logger: createLogger({ level: 'silent', name: 'portal-bench' }),
      options,
      archive: new ArchiveStore(archives),
      archiveImports: new ArchiveImportsStore(db),
      pingMongo: async () => void (await db.command({ ping: 1 })),
    }).app;
  };
  const app = portalOn(plain);
  const countedApp = portalOn(mongo);
  const baseline = express();
  baseline.get('/ping', (_req, res) => res.send('ok'));
  useEjsLayout(baseline, findViewsDirectory(), { cache: true });
  baseline.get('/render/:page', (req, res) => {
    const page = captured.get(req.params.page);
    if (page === undefined) {
      res.status(404).send('not captured');
      return;
    }
    res.render(page.view, page.locals);
  });
  const listen = async (handler: express.Express): Promise<number> => {
    const server = handler.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  };
  const portalPort = await listen(app);
  const countedPort = await listen(countedApp);
  const baselinePort = await listen(baseline);

  const email = 'owner@bench.example';
  await controlPlane.users.create(TENANT, { email, displayName: 'Bench Owner', role: 'owner', capabilities: [], passwordHash: await hashPassword(PASSWORD) });
  const host = `${TENANT}.${PUBLIC_HOST}`;
  const cookieName = sessionCookieName(true);
  const cookie = await signIn(portalPort, host, cookieName, email);
  const headers = { Host: host, 'X-Forwarded-Proto': 'https', 'User-Agent': 'portal-bench', Cookie: cookie };

  captureAs = 'call-logs';
  const firstPage = await send(portalPort, 'GET', '/call-logs', headers);
  const nextLink = /href="([^"]+)" rel="next"/.exec(firstPage.body)?.[1]?.replaceAll('&amp;', '&');
  const rowsOf = (html: string) => html.match(/href="\/call-logs\/[^"?]+(?:\?[^"]*)?"/g)?.length ?? 0;
  if (firstPage.status !== 200 || nextLink === undefined) throw new Error(`GET /call-logs answered ${firstPage.status} without a "Next" link`);
  const secondPage = await send(portalPort, 'GET', nextLink, headers);
  const chatPath = `/chats/${encodeURIComponent(seeded.longestChat.id)}`;
  captureAs = 'transcript';
  const transcript = await send(portalPort, 'GET', chatPath, headers);
  const messagesShown = transcript.body.match(/<li class="message /g)?.length ?? 0;
  if (secondPage.status !== 200 || transcript.status !== 200)
    throw new Error(`the later call-log page answered ${secondPage.status}, the transcript ${transcript.status}`);
  console.log(
    `pages: /call-logs shows ${rowsOf(firstPage.body)} calls (page size ${LIST_PAGE_SIZE}), the later page ${rowsOf(secondPage.body)}; the transcript of a chat with ${seeded.longestChat.messages} messages shows ${messagesShown} (page size ${TRANSCRIPT_PAGE_SIZE})`,
  );

  const rendered = await send(baselinePort, 'GET', '/render/call-logs', {});
  if (rendered.status !== 200 || rowsOf(rendered.body) !== rowsOf(firstPage.body))
    throw new Error('the render baseline does not render the captured call-log page');

  type Target = { name: string; port: number; path: string; headers: Record<string, string>; expect: string; renderBaseline?: string };
  const targets: Target[] = [
    { name: 'baseline GET /ping', port: baselinePort, path: '/ping', headers: {}, expect: 'ok' },
    { name: 'render baseline: the call-log page', port: baselinePort, path: '/render/call-logs', headers: {}, expect: 'rel="next"' },
    { name: 'render baseline: the transcript page', port: baselinePort, path: '/render/transcript', headers: {}, expect: '<li class="message ' },
    {
      name: 'GET /call-logs (first page)',
      port: portalPort,
      path: '/call-logs',
      headers,
      expect: 'rel="next"',
      renderBaseline: 'render baseline: the call-log page',
    },
    {
      name: 'GET /call-logs?after=… (page 2)',
      port: portalPort,
      path: nextLink,
      headers,
      expect: 'rel="next"',
      renderBaseline: 'render baseline: the call-log page',
    },
    {
      name: `GET /chats/:id (transcript page)`,
      port: portalPort,
      path: chatPath,
      headers,
      expect: '<li class="message ',
      renderBaseline: 'render baseline: the transcript page',
    },
  ];
  const cpuPerRequest = new Map<string, number>();
  const perRequest = (t: RoundTrips, requests: number) =>
    `${((t.archive + t.controlPlane + t.other) / requests).toFixed(1)} (archive ${(t.archive / requests).toFixed(1)}, control plane ${(t.controlPlane / requests).toFixed(1)})`;
  const rows: string[] = [];
  let baselineRate = 0;
  for (const target of targets) {
    const alone = await countTrips(async () => {
      for (let i = 0; i < SEQUENTIAL_REQUESTS; i += 1) {
        const answer = await send(target.port === portalPort ? countedPort : target.port, 'GET', target.path, target.headers);
        if (answer.status !== 200) throw new Error(`${target.name} answered ${answer.status}`);
      }
    });
    const warmupRequests = concurrency * 5;
    const portalCpuBefore = ownCpuMicros();
    const dbCpuBefore = cpuMicrosOf(mongoChild.child.pid);
    const result = await loadInChild({
      port: target.port,
      paths: [target.path],
      headers: target.headers,
      concurrency,
      warmupRequests,
      seconds,
      expect: target.expect,
    });
    const served = result.requests + warmupRequests;
    const portalCpu = (ownCpuMicros() - portalCpuBefore) / served;
    const dbCpu = (cpuMicrosOf(mongoChild.child.pid) - dbCpuBefore) / served;
    cpuPerRequest.set(target.name, portalCpu);
    const baselineCpu = target.renderBaseline === undefined ? undefined : cpuPerRequest.get(target.renderBaseline);
    if (target.port === baselinePort) baselineRate = result.requestsPerSecond;
    const failures = Object.entries(result.failures)
      .map(([status, n]) => `${fmt(n)} × ${status}`)
      .join(', ');
    rows.push(
      [
        `\n${target.name}`,
        `  ${fmt(result.requestsPerSecond, 1).padStart(9)} req/s   p50 ${result.p50Ms.toFixed(1)} ms   p95 ${result.p95Ms.toFixed(1)} ms   p99 ${result.p99Ms.toFixed(1)} ms   (${fmt(result.requests)} requests, ${fmt(result.bodyBytes)} bytes each${failures ? `; NOT 200: ${failures}` : ''})`,
        `  CPU per request: portal process ${fmt(portalCpu)} µs, database server ${Number.isNaN(dbCpu) ? 'unknown' : `${fmt(dbCpu)} µs`}`,
        ...(baselineCpu === undefined
          ? []
          : [
              `  CPU ratio to the ${target.renderBaseline ?? ''}: ${(baselineCpu / portalCpu).toFixed(2)} (goal ≥ 0.5; 1 : ${(portalCpu / baselineCpu).toFixed(1)})`,
            ]),
        ...(target.port === baselinePort
          ? []
          : [
              `  ratio to the baseline: ${(result.requestsPerSecond / baselineRate).toFixed(3)} (1 : ${(baselineRate / result.requestsPerSecond).toFixed(1)})`,
              `  MongoDB round trips per page: ${perRequest(alone.trips, SEQUENTIAL_REQUESTS)} (goal ≤ 3)`,
              `    ${[...alone.trips.commands].map(([name, n]) => `${name} ${+(n / SEQUENTIAL_REQUESTS).toFixed(2)}`).join(', ')}`,
              ...(result.failureSample ? [`    first answer that was not 200: ${result.failureSample}`] : []),
            ]),
      ].join('\n'),
    );
    console.log(rows.at(-1));
  }
  console.log(
    "\nRound trips are MongoDB commands counted with the driver's command monitoring, on a second portal app with the " +
      `same database and sessions (${SEQUENTIAL_REQUESTS} requests one at a time); the load runs against an app without monitoring. ` +
      "Each page view also appends to the tenant's audit chain (one insert: a process queues its appends to one tenant).",
  );
  console.log(`machine at the end: ${machine()}`);
  for (const archives of openedArchives) await archives.close();
} finally {
  express.response.render = originalRender;
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await cleanupPrefix(redis, redisPrefix).catch(() => 0);
  for (const name of [controlName, archiveDatabaseName(archivePrefix, TENANT)])
    await seedClient
      .db(name)
      .dropDatabase()
      .catch(() => undefined);
  redis.disconnect();
  await mongo.close();
  await plain.close();
  await seedClient.close();
  await stopMongoChild(mongoChild.child);
}
