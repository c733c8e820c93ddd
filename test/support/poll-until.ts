import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads `read()` every 100 ms until `done(value)` holds and returns that value; throws, naming `what` and the last
 * value, after `timeoutMs`. For state that a real worker changes in the background (a queued job finishing).
 *
 * @example
 * await pollUntil('the rebuild of acme', () => rebuildStatus(queues, 'acme'), (status) => status.last !== undefined);
 */
export async function pollUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}
