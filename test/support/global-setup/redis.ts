import type { TestProject } from 'vitest/node';
import { TEST_REDIS_URL, createTestRedis } from '../redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis every test uses (`REDIS_URL`, else `redis://127.0.0.1:6379`). */
    redisUrl: string;
  }
}

/** Checks once that the test Redis answers PING and hands its URL to the tests as `inject('redisUrl')`. */
export default async function setup(project: TestProject): Promise<void> {
  const redis = createTestRedis(TEST_REDIS_URL);
  redis.on('error', () => undefined);
  try {
    const answer = await Promise.race([redis.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5_000))]);
    if (answer !== 'PONG') throw new Error(`unexpected answer ${answer}`);
  } catch (err) {
    throw new Error(
      `Redis at ${TEST_REDIS_URL} (REDIS_URL) does not answer PING: ${(err as Error).message}. ` +
        'Start one with "redis-server --daemonize yes" (apt-get install redis-server) or set REDIS_URL.',
      { cause: err },
    );
  } finally {
    redis.disconnect();
  }
  console.log(`[global-setup] Redis: ${TEST_REDIS_URL}`);
  project.provide('redisUrl', TEST_REDIS_URL);
}
