/**
 * A real worker process for crash tests: the production composition root with short job locks, so a killed worker's
 * jobs are taken over within seconds. Configured through the environment like `npm run worker`.
 * Prints "ready" once its workers run; exits 0 after a graceful SIGTERM.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startWorkerProcess } from '../../worker/worker-process.js';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: 'worker-child', destination: process.stderr });
const worker = await startWorkerProcess(config, logger, { lockDurationMs: 2_000, stalledIntervalMs: 1_000 });
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  worker.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
