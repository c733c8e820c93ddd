import type { NextFunction, Request, Response } from 'express';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { RetentionError } from '../errors.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition-format.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** Options of {@link metricsEndpoint}. */
export interface MetricsEndpointOptions {
  /** `METRICS_TOKEN`: the bearer token a scraper must send. Absent: the endpoint does not exist (404). */
  token: string | undefined;
  registry: MetricsRegistry;
}

/** The token of an `Authorization: Bearer <token>` header, or `''` when there is none or it has another scheme. */
function bearerTokenOf(req: Request): string {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1] ?? '';
}

/**
 * The `/metrics` handler: 404 unless a token is configured (off by default); 401 with `WWW-Authenticate: Bearer` and
 * an empty body unless the request carries that token (compared in constant time); else the registry in the
 * Prometheus text format, not cached.
 *
 * @example
 * router.get('/metrics', metricsEndpoint({ token: options.metricsToken, registry: metrics.registry }));
 */
export function metricsEndpoint(options: MetricsEndpointOptions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const { token } = options;
    if (token === undefined || token === '') {
      next(new RetentionError('ERR_NOT_FOUND', 'There is no page at this address.'));
      return;
    }
    if (!constantTimeEqual(bearerTokenOf(req), token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').set('Cache-Control', 'no-store').end();
      return;
    }
    const body = await options.registry.scrape();
    res.status(200).set('Content-Type', EXPOSITION_CONTENT_TYPE).set('Cache-Control', 'no-store').send(body);
  };
}
