import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const setupDir = 'test/support/global-setup';
const globalSetup = readdirSync(setupDir)
  .filter((name) => name.endsWith('.ts'))
  .sort()
  .map((name) => join(setupDir, name));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    restoreMocks: true,
    unstubEnvs: true,
  },
});
