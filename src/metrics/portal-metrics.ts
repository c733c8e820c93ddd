import { MetricsRegistry } from './metrics-registry.js';
import { QueueJobCounts, type CountedQueue } from './queue-job-counts.js';
import type { HttpMetrics } from './request-metrics.js';

/** Options of {@link createPortalMetrics}. */
export interface PortalMetricsOptions {
  /** The running version (`retention_build_info{version}`). */
  version: string;
  /** Queues whose job counts are read at each scrape (none: no queue metrics). */
  queues?: readonly CountedQueue[];
  /** How long one queue's counts may take at a scrape. Default 1000 ms. */
  queueTimeoutMs?: number;
}

/** The portal's metrics: the registry `/metrics` writes and the HTTP metrics the request middleware records. */
export interface PortalMetrics {
  registry: MetricsRegistry;
  http: HttpMetrics;
}

/** How long the event loop took to run a callback queued with `setImmediate`, in seconds. */
async function eventLoopLagSeconds(): Promise<number> {
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve) => setImmediate(resolve));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Builds the portal's metrics:
 * - `retention_http_requests_total{method,route,status}` and `retention_http_request_duration_seconds{method,route}`;
 * - `process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_seconds`,
 *   `process_start_time_seconds` and `retention_build_info{version}`;
 * - when queues are given, `retention_queue_jobs{queue,state}` and `retention_queue_readable{queue}`, read at scrape
 *   time with a timeout.
 *
 * No label carries a tenant, a user or a path: label values come from fixed lists or from the app's route patterns.
 *
 * @example
 * const metrics = createPortalMetrics({ version: '1.2.0', queues: [queues.runs, queues.chunks] });
 * app.use(requestMetrics(metrics.http));
 */
export function createPortalMetrics(options: PortalMetricsOptions): PortalMetrics {
  const registry = new MetricsRegistry();
  const http: HttpMetrics = {
    requests: registry.counter({
      name: 'retention_http_requests_total',
      help: 'HTTP requests the portal answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      maxSeries: 2000,
    }),
    duration: registry.histogram({
      name: 'retention_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to finishing its response, by method and route pattern.',
      labelNames: ['method', 'route'],
      maxSeries: 500,
    }),
  };

  const rss = registry.gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.' });
  const heapUsed = registry.gauge({ name: 'nodejs_heap_size_used_bytes', help: 'V8 heap in use, in bytes.' });
  const lag = registry.gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'How long a callback queued at scrape time waited for the event loop, in seconds.',
  });
  const startTime = registry.gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds.' });
  startTime.set(undefined, Math.round(Date.now() / 1000 - process.uptime()));
  registry
    .gauge<'version'>({ name: 'retention_build_info', help: 'Always 1; the label says which version runs.', labelNames: ['version'], maxSeries: 1 })
    .set({ version: options.version }, 1);
  registry.addCollector(async () => {
    rss.set(undefined, process.memoryUsage.rss());
    heapUsed.set(undefined, process.memoryUsage().heapUsed);
    lag.set(undefined, await eventLoopLagSeconds());
  });

  const queues = options.queues ?? [];
  if (queues.length > 0) {
    const jobs = registry.gauge<'queue' | 'state'>({
      name: 'retention_queue_jobs',
      help: 'Jobs in each BullMQ queue by state, read when scraped.',
      labelNames: ['queue', 'state'],
      maxSeries: 200,
    });
    const readable = registry.gauge<'queue'>({
      name: 'retention_queue_readable',
      help: "Whether the queue's job counts could be read from Redis within the timeout at this scrape (1) or not (0).",
      labelNames: ['queue'],
      maxSeries: 50,
    });
    const counts = new QueueJobCounts(queues, jobs, readable, options.queueTimeoutMs === undefined ? {} : { timeoutMs: options.queueTimeoutMs });
    registry.addCollector(() => counts.collect());
  }
  return { registry, http };
}
