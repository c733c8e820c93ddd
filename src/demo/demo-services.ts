import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { startDevMongoDb } from '../dev-mongodb/start-dev-mongodb.js';
import { RetentionError } from '../errors.js';
import { describeMailTransport, type MailSettings } from '../mail/mail-settings.js';

/** A service the demo uses, and how it got it. */
export interface DemoService {
  url: string;
  /** One line for the console: what it is and whether the demo started it. */
  description: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Redis at `url` if it answers, else a `redis-server` started by the demo, else a clear error. */
export async function findOrStartRedis(url: string, dataDir: string): Promise<DemoService> {
  if (await redisAnswers(url)) return { url, description: `Redis at ${url} (found)`, stop: async () => undefined };
  const port = await freePort();
  const dir = join(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch {
    throw new RetentionError(
      'ERR_DEMO_REDIS',
      `no Redis answers at ${url} and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL`,
    );
  }
  const started = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisAnswers(started)); i += 1) await sleep(100);
  return {
    url: started,
    description: `Redis at ${started} (started by the demo: redis-server, data in ${dir})`,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

async function mongoAnswers(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * MongoDB at `url` if it answers; else the development MongoDB the test bed uses too ({@link startDevMongoDb}): a
 * `mongod` on PATH, else the project's wire-compatible development server, whose data lives in memory only.
 */
export async function findOrStartMongo(url: string): Promise<DemoService & { inMemory: boolean }> {
  if (await mongoAnswers(url)) return { url, description: `MongoDB at ${url} (found)`, inMemory: false, stop: async () => undefined };
  const mongo = await startDevMongoDb();
  return { url: mongo.url, description: `${mongo.description} (started by the demo)`, inMemory: mongo.kind === 'wire', stop: () => mongo.stop() };
}

/** The demo's master key: `RETENTION_MASTER_KEYS` if set, else one kept in the data directory (created once, mode 0600). */
export async function demoMasterKeys(env: NodeJS.ProcessEnv, dataDir: string): Promise<{ keys: string; description: string }> {
  if (env.RETENTION_MASTER_KEYS || env.RETENTION_MASTER_KEYS_FILE)
    return {
      keys: env.RETENTION_MASTER_KEYS ?? (await readFile(env.RETENTION_MASTER_KEYS_FILE as string, 'utf8')).trim(),
      description: 'from the environment',
    };
  const file = join(dataDir, 'demo-master-keys');
  try {
    return { keys: (await readFile(file, 'utf8')).trim(), description: `from ${file}` };
  } catch {
    const keys = `demo:${randomBytes(32).toString('base64')}`;
    await writeFile(file, `${keys}\n`, { mode: 0o600 });
    return { keys, description: `generated into ${file} (demo only: production keys come from RETENTION_MASTER_KEYS)` };
  }
}

/** The demo's sender without `MAIL_FROM` (`example` is reserved: no real domain receives replies). */
export const DEMO_MAIL_FROM = 'Retention demo <retention@demo.example>';

/**
 * How the demo sends mail: the configured SMTP server (`SMTP_URL` and `MAIL_FROM`), else `.eml` files in
 * `<dataDir>/mail`, written by the same outbox and send job as real mail. With the line the demo prints.
 *
 * @example
 * const mail = demoMailSettings(config.mail, process.env, dataDir);
 * say(`  Mail:       ${mail.description}`);
 */
export function demoMailSettings(
  configured: MailSettings | undefined,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): { settings: MailSettings; description: string } {
  if (configured !== undefined) return { settings: configured, description: `${describeMailTransport(configured.transport)}, from ${configured.from}` };
  const directory = join(dataDir, 'mail');
  return {
    settings: { from: env.MAIL_FROM?.trim() || DEMO_MAIL_FROM, transport: { kind: 'file', directory } },
    description: `written as .eml files to ${directory} (no SMTP_URL; set SMTP_URL and MAIL_FROM to send through a real server)`,
  };
}
