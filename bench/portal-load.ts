/**
 * The load generator of the portal benchmark: `concurrency` requests in flight over keep-alive connections (node's
 * http Agent), each worker sending the next request as soon as the previous answer is read, for a fixed time.
 * Run as a child process (`portal-load.ts '<LoadOptions as JSON>'`) so the client never shares the server's CPU
 * time; prints one JSON line with the {@link LoadResult}.
 */
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

/** One load test: where, what and how hard. */
export interface LoadOptions {
  port: number;
  /** Paths requested in turn by every worker. */
  paths: string[];
  headers: Record<string, string>;
  concurrency: number;
  /** Requests before the measured time, not counted. Default `concurrency * 5`. */
  warmupRequests?: number;
  seconds: number;
  /** A text every 200 answer must contain (a sanity check that the page is the page). */
  expect?: string;
}

/** What one load test measured. */
export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Answers that were not 200 or lacked the expected text, by status. */
  failures: Record<string, number>;
  /** Average body size in bytes. */
  bodyBytes: number;
  /** The status and text (tags removed, first 200 characters) of the first answer counted as a failure. */
  failureSample?: string;
}

function percentile(sorted: Float64Array, share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] as number;
}

/** The visible text of the main part of an HTML page, whitespace collapsed, at most 200 characters. */
function textOf(html: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html;
  return main
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

function get(agent: Agent, options: LoadOptions, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: options.port, path, agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs one load test against `127.0.0.1:port`.
 *
 * @example
 * const result = await runLoad({ port, paths: ['/ping'], headers: {}, concurrency: 16, seconds: 10 });
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const failures: Record<string, number> = {};
  const fail = (status: string): void => {
    failures[status] = (failures[status] ?? 0) + 1;
  };
  let next = 0;
  let failureSample: string | undefined;
  const check = (answer: { status: number; body: string }): boolean => {
    if (answer.status !== 200) fail(String(answer.status));
    else if (options.expect !== undefined && !answer.body.includes(options.expect)) fail('200 without expected content');
    else return true;
    failureSample ??= `${answer.status}: ${textOf(answer.body)}`;
    return false;
  };
  const warmup = options.warmupRequests ?? options.concurrency * 5;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < warmup) {
        next += 1;
        await get(agent, options, options.paths[next % options.paths.length] as string);
      }
    }),
  );
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        const path = options.paths[(next += 1) % options.paths.length] as string;
        const sent = performance.now();
        const answer = await get(agent, options, path);
        latencies.push(performance.now() - sent);
        bytes += Buffer.byteLength(answer.body);
        check(answer);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    failures,
    bodyBytes: latencies.length > 0 ? Math.round(bytes / latencies.length) : 0,
    ...(failureSample !== undefined ? { failureSample } : {}),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  console.log(JSON.stringify(await runLoad(options)));
}
