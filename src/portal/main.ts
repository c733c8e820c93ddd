import { ConfigError, loadConfig } from '../config.js';
import { RetentionError } from '../errors.js';
import { createLogger } from '../logger.js';
import { startPortalProcess } from './portal-process.js';

/** `npm start` / `node dist/src/portal/main.js`: the portal alone, configured from the environment. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'portal' });
  const portal = await startPortalProcess(config, logger);
  const stop = () => {
    portal.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`portal: ${err.message}`);
    process.exit(78);
  }
  if (err instanceof RetentionError) console.error(`portal: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
