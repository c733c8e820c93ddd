import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/run-cli.js';
import { TEST_MASTER_KEYS } from './export-harness.js';

/** What one `retention …` invocation printed, and its exit code. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the CLI in-process against the test bed's MongoDB (database `database`) and Redis (queues under
 * `queuePrefix`), with the test master keys and a fixed clock; `env` adds or overrides variables for every call,
 * the call's own `extra` for that call.
 *
 * @example
 * const cli = cliRunner({ database: uniqueDbName('cli'), queuePrefix: uniqueName('cli') });
 * expect((await cli(['tenant', 'create', 'acme'])).code).toBe(0);
 */
export function cliRunner(options: {
  database: string;
  queuePrefix: string;
  env?: Record<string, string>;
}): (args: string[], extra?: Record<string, string>) => Promise<CliResult> {
  const env = {
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DATABASE: options.database,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: options.queuePrefix,
    RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
    ...options.env,
  };
  return async (args, extra = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = {
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
      env: { ...env, ...extra },
      readFile: (p) => readFileSync(p, 'utf8'),
      now: () => new Date('2026-11-23T12:00:00Z'),
    };
    const code = await runCli(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
}
