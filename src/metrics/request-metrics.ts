import type { NextFunction, Request, Response } from 'express';
import type { Counter } from './counter.js';
import type { Histogram } from './histogram.js';

/** Methods kept as they are in the `method` label; any other becomes `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Route label of a request no route answered (refused before routing, or no such page). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The metrics {@link requestMetrics} records into. */
export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

/** Options of {@link requestMetrics}. */
export interface RequestMetricsOptions {
  /** Path prefixes served by static middleware (no route): a request under one is labelled `<prefix>/*`. Default none. */
  staticPrefixes?: readonly string[];
}

/**
 * The `route` label of a finished request: the pattern of the Express route that answered it (`/call-logs/:id`),
 * `<prefix>/*` under a static prefix, else `unmatched`. Never the path itself or its query, so neither ids nor searched
 * values reach the metrics, and the number of values is bounded by the routes the app declares. The portal mounts its
 * routers without a path prefix, so the route's path is the whole pattern; a mount path is left out on purpose (a
 * parameter in it would show its value in `req.baseUrl`).
 */
export function routeLabelOf(req: Request, staticPrefixes: readonly string[] = []): string {
  const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return pattern;
  const path = req.originalUrl.split('?')[0] ?? '';
  const prefix = staticPrefixes.find((p) => path.startsWith(`${p}/`));
  return prefix === undefined ? UNMATCHED_ROUTE : `${prefix}/*`;
}

/**
 * Express middleware counting every request by method, route pattern and status, and timing it by method and route,
 * when its response is finished or the connection closes. Mount it first.
 *
 * @example
 * app.use(requestMetrics(metrics.http, { staticPrefixes: ['/assets'] }));
 */
export function requestMetrics(http: HttpMetrics, options: RequestMetricsOptions = {}) {
  const staticPrefixes = options.staticPrefixes ?? [];
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      const method = KNOWN_METHODS.has(req.method) ? req.method : 'other';
      const route = routeLabelOf(req, staticPrefixes);
      const status = res.statusCode >= 100 && res.statusCode <= 599 ? String(res.statusCode) : 'other';
      http.requests.inc({ method, route, status });
      http.duration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
