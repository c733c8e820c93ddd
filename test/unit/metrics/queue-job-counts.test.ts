import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { MetricsRegistry } from '../../../src/metrics/metrics-registry.js';
import { QueueJobCounts, type CountedQueue } from '../../../src/metrics/queue-job-counts.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const prefix = uniqueName('metrics-queues');
let queue: Queue;

beforeAll(async () => {
  queue = new Queue('runs', { connection: redis, prefix });
  await queue.add('a', {});
  await queue.add('b', {}, { delay: 60_000 });
});
afterAll(async () => {
  await queue?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

function gauges() {
  const registry = new MetricsRegistry();
  const jobs = registry.gauge<'queue' | 'state'>({ name: 'q_jobs', help: 'x', labelNames: ['queue', 'state'] });
  const readable = registry.gauge<'queue'>({ name: 'q_readable', help: 'x', labelNames: ['queue'] });
  return { registry, jobs, readable };
}

describe('QueueJobCounts', () => {
  it("reads a real queue's counts per state", async () => {
    const { registry, jobs, readable } = gauges();
    await new QueueJobCounts([queue], jobs, readable).collect();
    const text = registry.render();
    expect(text).toContain('q_jobs{queue="runs",state="waiting"} 1\n');
    expect(text).toContain('q_jobs{queue="runs",state="delayed"} 1\n');
    expect(text).toContain('q_jobs{queue="runs",state="failed"} 0\n');
    expect(text).toContain('q_readable{queue="runs"} 1\n');
  });

  it('gives up on a queue that does not answer within the timeout, and starts no second read while one is pending', async () => {
    const { registry, jobs, readable } = gauges();
    let reads = 0;
    const stuck: CountedQueue = {
      name: 'stuck',
      getJobCounts: () => {
        reads += 1;
        return new Promise(() => undefined);
      },
    };
    const counts = new QueueJobCounts([stuck, queue], jobs, readable, { timeoutMs: 50 });
    const started = Date.now();
    await counts.collect();
    await counts.collect();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(reads).toBe(1);
    const text = registry.render();
    expect(text).toContain('q_readable{queue="stuck"} 0\n');
    expect(text).not.toContain('q_jobs{queue="stuck"');
    expect(text).toContain('q_jobs{queue="runs",state="waiting"} 1\n');
  });

  it('reports a queue whose read fails as unreadable, and reads it again at the next scrape', async () => {
    const { registry, jobs, readable } = gauges();
    let fail = true;
    const flaky: CountedQueue = {
      name: 'flaky',
      getJobCounts: async () => {
        if (fail) throw new Error('connection lost');
        return { waiting: 4 };
      },
    };
    const counts = new QueueJobCounts([flaky], jobs, readable, { timeoutMs: 500 });
    await counts.collect();
    expect(registry.render()).toContain('q_readable{queue="flaky"} 0\n');
    fail = false;
    await counts.collect();
    expect(registry.render()).toContain('q_readable{queue="flaky"} 1\n');
    expect(registry.render()).toContain('q_jobs{queue="flaky",state="waiting"} 4\n');
  });
});
