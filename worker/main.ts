import { ConfigError, loadConfig } from '../src/config.js';
import { RetentionError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { startWorkerProcess } from './worker-process.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(78);
}
const logger = createLogger({ level: config.logLevel, name: 'worker' });
try {
  const worker = await startWorkerProcess(config, logger);
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutdown requested');
    worker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (err) {
  logger.fatal({ code: err instanceof RetentionError ? err.code : undefined, err }, 'worker could not start');
  process.exit(1);
}
