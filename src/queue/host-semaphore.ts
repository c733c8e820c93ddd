import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** Options of a {@link HostSemaphore}. */
export interface HostSemaphoreOptions {
  /** Redis key prefix of the semaphores. */
  prefix: string;
  /** Leases held at once per host, across all processes. Default 2. */
  limit?: number;
  /** A lease not renewed for this long is considered abandoned (its holder crashed). Default 30 000 ms. */
  leaseMs?: number;
  /** Longest wait between two acquisition attempts. Default 1 000 ms. */
  maxPollMs?: number;
}

// KEYS[1] = semaphore zset; ARGV = limit, leaseMs, token. Scores are expiry times in ms, from the server clock.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0`;

// Renews a lease only if it is still held.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
  return 1
end
return 0`;

/**
 * A counting semaphore per remote host, shared by every worker process through Redis, so that one slow customer
 * server occupies at most `limit` upload slots however many chunks target it. Leases expire when their holder dies.
 *
 * @example
 * const semaphore = new HostSemaphore(redis, { prefix: 'retention', limit: 2 });
 * await semaphore.withLease('sftp.example.com:22', () => target.uploadAtomically(local, remote, { bytes }));
 */
export class HostSemaphore {
  private readonly limit: number;
  private readonly leaseMs: number;
  private readonly maxPollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: HostSemaphoreOptions,
  ) {
    this.limit = options.limit ?? 2;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxPollMs = options.maxPollMs ?? 1_000;
  }

  private key(host: string): string {
    return `${this.options.prefix}:host-semaphore:${host}`;
  }

  /** Runs `work` while holding a lease on `host`, waiting for one if all are taken. */
  async withLease<T>(host: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = this.key(host);
    const token = randomUUID();
    let wait = 50;
    while ((await this.redis.eval(ACQUIRE, 1, key, this.limit, this.leaseMs, token)) !== 1) {
      signal?.throwIfAborted();
      await sleep(wait + Math.floor(Math.random() * wait), undefined, { signal });
      wait = Math.min(wait * 2, this.maxPollMs);
    }
    const renew = setInterval(
      () => {
        this.redis.eval(RENEW, 1, key, this.leaseMs, token).catch(() => undefined);
      },
      Math.max(Math.floor(this.leaseMs / 3), 10),
    );
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.redis.zrem(key, token).catch(() => undefined);
    }
  }

  /** Leases currently held on `host` (for tests and metrics). */
  async held(host: string): Promise<number> {
    return this.redis.zcard(this.key(host));
  }
}
