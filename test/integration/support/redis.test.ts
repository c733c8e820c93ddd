import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

describe('test Redis', () => {
  let redis: Redis;

  beforeEach(() => {
    redis = createTestRedis(inject('redisUrl'));
  });

  afterEach(async () => {
    await redis.quit();
  });

  it('is the one global setup checked and is configured for BullMQ workers', async () => {
    expect(inject('redisUrl')).toMatch(/^rediss?:\/\//);
    expect(redis.options.maxRetriesPerRequest).toBeNull();
    expect(await redis.ping()).toBe('PONG');
  });

  it('runs a BullMQ job on a unique queue through a worker to completion, then obliterates the queue', async () => {
    const name = uniqueName('support-selftest');
    const queue = new Queue<{ a: number; b: number }, number>(name, { connection: redis });
    const events = new QueueEvents(name, { connection: createTestRedis(inject('redisUrl')) });
    const worker = new Worker<{ a: number; b: number }, number>(name, async (job) => job.data.a + job.data.b, {
      connection: createTestRedis(inject('redisUrl')),
    });
    try {
      await events.waitUntilReady();
      const job = await queue.add('sum', { a: 2, b: 40 });
      expect(await job.waitUntilFinished(events, 10_000)).toBe(42);
      expect(await job.getState()).toBe('completed');
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
    expect(await redis.keys(`bull:${name}:*`)).toEqual([]);
  });

  it('gives different names for the same prefix, without ":"', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueName('q')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^q-[0-9a-f]{12}$/);
  });

  it('cleans up only the keys under a prefix, taking glob characters literally', async () => {
    const prefix = uniqueName('cleanup');
    await redis.mset(`${prefix}:a`, '1', `${prefix}:b`, '2', `${prefix}x*:c`, '3');
    const other = `${uniqueName('other')}:kept`;
    await redis.set(other, 'kept');
    const globby = `${prefix}x*`;
    try {
      expect(await cleanupPrefix(redis, globby)).toBe(1);
      expect(await redis.exists(`${prefix}:a`)).toBe(1);
      expect(await cleanupPrefix(redis, prefix)).toBe(2);
      expect(await redis.exists(`${prefix}:a`, `${prefix}:b`)).toBe(0);
      expect(await redis.get(other)).toBe('kept');
    } finally {
      await redis.del(other);
    }
  });

  it('refuses an empty prefix instead of deleting everything', async () => {
    await expect(cleanupPrefix(redis, '')).rejects.toThrow(/non-empty prefix/);
  });
});
