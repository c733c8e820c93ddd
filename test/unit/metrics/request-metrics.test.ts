import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../src/metrics/metrics-registry.js';
import { requestMetrics, type HttpMetrics } from '../../../src/metrics/request-metrics.js';

function appWithMetrics(): { app: express.Express; registry: MetricsRegistry } {
  const registry = new MetricsRegistry();
  const http: HttpMetrics = {
    requests: registry.counter({ name: 'req_total', help: 'x', labelNames: ['method', 'route', 'status'] }),
    duration: registry.histogram({ name: 'req_seconds', help: 'x', labelNames: ['method', 'route'] }),
  };
  const app = express();
  app.use(requestMetrics(http, { staticPrefixes: ['/assets'] }));
  app.use('/assets', (_req, res) => void res.send('css'));
  const router = express.Router();
  router.get('/items/:id', (req, res) => void res.status(req.params.id === 'gone' ? 410 : 200).send('ok'));
  router.post('/items', (_req, res) => void res.status(201).end());
  app.use(router);
  app.use((_req, res) => void res.status(404).send('no'));
  return { app, registry };
}

describe('requestMetrics', () => {
  it('labels requests with the route pattern, the static prefix or unmatched, never the path or query', async () => {
    const { app, registry } = appWithMetrics();
    await request(app).get('/items/4711?name=alice');
    await request(app).get('/items/gone');
    await request(app).post('/items');
    await request(app).get('/assets/site-8f3a.css');
    await request(app).get('/unknown/4711?name=alice');
    await request(app).delete('/items/4711');
    await request(app).search('/items/4711');
    const text = registry.render();
    expect(text).toContain('req_total{method="GET",route="/items/:id",status="200"} 1\n');
    expect(text).toContain('req_total{method="GET",route="/items/:id",status="410"} 1\n');
    expect(text).toContain('req_total{method="POST",route="/items",status="201"} 1\n');
    expect(text).toContain('req_total{method="GET",route="/assets/*",status="200"} 1\n');
    expect(text).toContain('req_total{method="GET",route="unmatched",status="404"} 1\n');
    expect(text).toContain('req_total{method="DELETE",route="unmatched",status="404"} 1\n');
    expect(text).toContain('req_total{method="other",route="unmatched",status="404"} 1\n');
    expect(text).toContain('req_seconds_count{method="GET",route="/items/:id"} 2\n');
    for (const leak of ['4711', 'alice', 'site-8f3a', 'unknown', 'SEARCH']) expect(text).not.toContain(leak);
  });
});
