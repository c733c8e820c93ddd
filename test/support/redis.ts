import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: `REDIS_URL`, else the local default. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * An ioredis connection to the test Redis, configured as BullMQ requires for workers
 * (`maxRetriesPerRequest: null`). The caller closes it (`await redis.quit()`).
 *
 * @example
 * const redis = createTestRedis();
 * const queue = new Queue(uniqueName('export'), { connection: redis });
 */
export function createTestRedis(url: string = TEST_REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/**
 * A name no other test (or concurrent test file) uses: `<prefix>-<12 hex chars>`. For queue names and key prefixes.
 * Contains no `:`, which BullMQ refuses in queue names.
 *
 * @example
 * uniqueName('chunks') // 'chunks-3f9a0c1b2d4e'
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * Deletes every key that starts with `prefix` (SCAN + UNLINK, never FLUSHALL/FLUSHDB, so other tests and other data
 * in the same Redis are untouched). Returns how many keys were removed. Glob characters in `prefix` match literally.
 *
 * @example
 * await cleanupPrefix(redis, 'bull:chunks-3f9a0c1b2d4e');
 */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('cleanupPrefix needs a non-empty prefix: it never empties the whole database');
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}
