import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { uniqueDbName } from '../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../support/redis.js';

const prefix = uniqueName('demo');
let dataDir: string | undefined;

afterAll(async () => {
  const redis = createTestRedis();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it('archives the demo tenant at once, says where the files are, and the drop verifies', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'retention-demo-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], {
      env: {
        ...process.env,
        DEMO_DATA_DIR: dataDir,
        MONGODB_URL: inject('mongoUrl'),
        MONGODB_DATABASE: uniqueDbName('demo'),
        QUEUE_PREFIX: prefix,
        RETENTION_MASTER_KEYS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 90_000;
    while (!output.includes('press Ctrl-C') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(0);

    expect(output).toContain(`Drops:      ${join(dataDir, 'drop')}`);
    expect(output).toContain(`Mail:       written as .eml files to ${join(dataDir, 'mail')}`);
    expect(output).toMatch(/First run \S+ done: call-logs \d+/);
    expect(output).toContain(`Verify it:  npx retention verify ${join(dataDir, 'drop')}`);
    expect(output).toContain('Master key: generated into');
    expect(readFileSync(join(dataDir, 'demo-master-keys'), 'utf8')).toMatch(/^demo:/);

    const lines: string[] = [];
    const code = await runCli(['verify', join(dataDir, 'drop')], {
      stdout: (l) => lines.push(l),
      stderr: (l) => lines.push(l),
      env: {},
      readFile: (p) => readFileSync(p, 'utf8'),
      now: () => new Date(),
    });
    expect(lines.join('\n')).toContain('demo: verdict OK');
    expect(code).toBe(0);
  }, 120_000);
});
