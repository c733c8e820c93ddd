import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportQueues, type ExportQueues } from '../../../src/queue/export-queues.js';
import { createImportQueues, type ImportQueues } from '../../../src/queue/import-queues.js';
import { createResultsExportQueue } from '../../../src/results-export/results-export-queue.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { startPortalHarness, type PortalHarness } from './portal-harness.js';

const TOKEN = randomBytes(32).toString('base64url');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const queueRedis = createTestRedis();
const queuePrefix = uniqueName('metrics');
let exportQueues: ExportQueues;
let importQueues: ImportQueues;
let resultsExportQueue: Queue;
let on: PortalHarness;
let off: PortalHarness;
let tenantOn: string;
let tenantOff: string;

beforeAll(async () => {
  exportQueues = createExportQueues(queueRedis, queuePrefix);
  importQueues = createImportQueues(queueRedis, queuePrefix);
  resultsExportQueue = createResultsExportQueue(queueRedis, queuePrefix);
  on = await startPortalHarness({ metricsToken: TOKEN, version: '9.8.7' }, { exportQueues, importQueues, resultsExportQueue });
  off = await startPortalHarness();
  tenantOn = await on.createTenant('metrics');
  tenantOff = await off.createTenant('metrics-off');
});
afterAll(async () => {
  await on?.close();
  await off?.close();
  await exportQueues?.close();
  await importQueues?.close();
  await resultsExportQueue?.close();
  await cleanupPrefix(queueRedis, queuePrefix);
  await queueRedis.quit();
});

/** The sample lines of a metric family whose labels include all of `labels`. */
function samples(text: string, name: string, labels: Record<string, string>): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
}

const valueOf = (line: string | undefined): number => Number(line?.slice(line.lastIndexOf(' ') + 1));

describe('/metrics', () => {
  it('answers 404 like any unknown page when METRICS_TOKEN is not set, even with a token', async () => {
    const client = off.client(tenantOff);
    for (const headers of [{}, bearer(TOKEN)]) {
      const res = await client.get('/metrics', headers);
      expect(res.status).toBe(404);
      expect(res.text).toContain('ERR_NOT_FOUND');
      expect(res.text).not.toContain('retention_');
    }
  });

  it.each([
    ['no Authorization header', {}],
    ['an empty bearer token', { Authorization: 'Bearer ' }],
    ['a wrong token of the same length', bearer(`${TOKEN.slice(0, -1)}${TOKEN.endsWith('A') ? 'B' : 'A'}`)],
    ['a wrong token of another length', bearer(`${TOKEN}x`)],
    ['the token as Basic credentials', { Authorization: `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}` }],
    ['the token without a scheme', { Authorization: TOKEN }],
  ])('answers 401 with WWW-Authenticate: Bearer and no body for %s', async (_name, headers: Record<string, string>) => {
    const res = await on.client(tenantOn).get('/metrics', headers);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.text).toBe('');
  });

  it('needs no tenant host, session or allowlisted address: answers on any host with the token', async () => {
    const client = on.client('no-such-tenant');
    const res = await client.get('/metrics', bearer(TOKEN));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('counts requests by route pattern and never shows ids or searched values', async () => {
    const id = `secret-id-${randomBytes(4).toString('hex')}`;
    const searched = `searched-value-${randomBytes(4).toString('hex')}`;
    const { email } = await on.createUser(tenantOn, { role: 'owner' });
    const client = on.client(tenantOn);
    expect((await client.signIn(email)).status).toBe(303);
    const before = await client.get('/metrics', bearer(TOKEN));
    const detailBefore = samples(before.text, 'retention_http_requests_total', { method: 'GET', route: '/call-logs/:id' }).reduce(
      (sum, line) => sum + valueOf(line),
      0,
    );

    const detail = await client.get(`/call-logs/${id}?q=${searched}`);
    await client.get(`/call-logs?search=${searched}`);
    await client.get(`/no-such-page/${id}?q=${searched}`);
    const res = await client.get('/metrics', bearer(TOKEN));
    expect(res.status).toBe(200);

    const detailLines = samples(res.text, 'retention_http_requests_total', { method: 'GET', route: '/call-logs/:id' });
    expect(detailLines.reduce((sum, line) => sum + valueOf(line), 0)).toBe(detailBefore + 1);
    expect(samples(res.text, 'retention_http_requests_total', { method: 'GET', route: '/call-logs/:id', status: String(detail.status) })).toHaveLength(1);
    expect(samples(res.text, 'retention_http_requests_total', { method: 'GET', route: '/call-logs' })).not.toEqual([]);
    expect(samples(res.text, 'retention_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).not.toEqual([]);
    expect(samples(res.text, 'retention_http_request_duration_seconds_count', { method: 'GET', route: '/call-logs/:id' })).toHaveLength(1);
    expect(samples(res.text, 'retention_http_request_duration_seconds_bucket', { method: 'GET', route: '/call-logs/:id', le: '+Inf' })).toHaveLength(1);
    expect(samples(res.text, 'retention_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).not.toEqual([]);
    for (const leak of [id, searched, tenantOn, email, 'no-such-page', 'q=', 'search=']) expect(res.text).not.toContain(leak);
  });

  it('shows process metrics and the version', async () => {
    const res = await on.client(tenantOn).get('/metrics', bearer(TOKEN));
    expect(res.text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(valueOf(res.text.split('\n').find((line) => line.startsWith('process_resident_memory_bytes ')))).toBeGreaterThan(1_000_000);
    expect(valueOf(res.text.split('\n').find((line) => line.startsWith('nodejs_heap_size_used_bytes ')))).toBeGreaterThan(0);
    expect(valueOf(res.text.split('\n').find((line) => line.startsWith('nodejs_eventloop_lag_seconds ')))).toBeGreaterThanOrEqual(0);
    expect(res.text).toContain('retention_build_info{version="9.8.7"} 1\n');
  });

  it('shows the job counts of every queue the portal has, read at scrape time', async () => {
    await exportQueues.runs.add('run', { tenantId: tenantOn } as never, { jobId: uniqueName('job') });
    const res = await on.client(tenantOn).get('/metrics', bearer(TOKEN));
    expect(valueOf(samples(res.text, 'retention_queue_jobs', { queue: 'runs', state: 'waiting' })[0])).toBe(1);
    for (const queue of ['runs', 'chunks', 'finalize', 'imports', 'archive-maintenance', 'result-exports']) {
      expect(samples(res.text, 'retention_queue_readable', { queue })).toEqual([`retention_queue_readable{queue="${queue}"} 1`]);
      expect(samples(res.text, 'retention_queue_jobs', { queue })).toHaveLength(7);
    }
    expect(res.text).not.toContain(tenantOn);
  });
});
