import { Router } from 'express';
import { metricsEndpoint } from '../../metrics/metrics-endpoint.js';
import type { MetricsRegistry } from '../../metrics/metrics-registry.js';
import type { PortalServices } from '../portal-services.js';

const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/**
 * `/healthz`: the process answers (liveness). `/readyz`: Redis and MongoDB answer within two seconds each
 * (readiness), 503 naming what does not. `/metrics`: the registry in the Prometheus text format, only with
 * `Authorization: Bearer <METRICS_TOKEN>` (404 while no token is configured, 401 without the token). None needs a
 * tenant or a session.
 */
export function healthRoutes(services: PortalServices, metrics: MetricsRegistry): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [redis, mongo] = await Promise.allSettled([within(services.deps.redis.ping(), 2000), within(services.deps.pingMongo(), 2000)]);
    const checks = { redis: redis.status === 'fulfilled' ? 'ok' : 'unreachable', mongodb: mongo.status === 'fulfilled' ? 'ok' : 'unreachable' };
    const ready = checks.redis === 'ok' && checks.mongodb === 'ok';
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'not ready', checks });
  });
  router.get('/metrics', metricsEndpoint({ token: services.options.metricsToken, registry: metrics }));
  return router;
}
