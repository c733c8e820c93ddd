import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { HostSemaphore } from '../../../src/queue/host-semaphore.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const otherProcessRedis = createTestRedis();
const prefix = uniqueName('sem');

afterAll(async () => {
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await otherProcessRedis.quit();
});

describe('HostSemaphore', () => {
  it('never lets more than `limit` holders work on one host, across semaphore instances', async () => {
    const a = new HostSemaphore(redis, { prefix, limit: 2 });
    const b = new HostSemaphore(otherProcessRedis, { prefix, limit: 2 });
    let inside = 0;
    let peak = 0;
    const work = async () => {
      inside += 1;
      peak = Math.max(peak, inside);
      await sleep(30);
      inside -= 1;
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).withLease('slow.example.com:22', work)));
    expect(peak).toBe(2);
    expect(await a.held('slow.example.com:22')).toBe(0);
  });

  it('keeps hosts independent: a full host does not block another', async () => {
    const sem = new HostSemaphore(redis, { prefix, limit: 1 });
    let release!: () => void;
    const blocker = sem.withLease('busy:22', () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(20);
    expect(await sem.withLease('idle:22', async () => 'ran')).toBe('ran');
    release();
    await blocker;
  });

  it('releases the lease when the work throws', async () => {
    const sem = new HostSemaphore(redis, { prefix, limit: 1 });
    await expect(sem.withLease('throws:22', async () => Promise.reject(new Error('upload failed')))).rejects.toThrow('upload failed');
    expect(await sem.held('throws:22')).toBe(0);
  });

  it('reclaims a lease whose holder died (not renewed past its lease time)', async () => {
    const sem = new HostSemaphore(redis, { prefix, limit: 1, leaseMs: 200 });
    await redis.zadd(`${prefix}:host-semaphore:crashed:22`, Date.now() + 200, 'dead-holder');
    const started = Date.now();
    expect(await sem.withLease('crashed:22', async () => 'acquired')).toBe('acquired');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('stops waiting when aborted', async () => {
    const sem = new HostSemaphore(redis, { prefix, limit: 1 });
    let release!: () => void;
    const holder = sem.withLease('abort:22', () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(20);
    const controller = new AbortController();
    const waiting = sem.withLease('abort:22', async () => 'never', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    release();
    await holder;
  });
});
