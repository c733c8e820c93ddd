import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startMongoWireServer } from './mongo-wire/mongo-wire-server.js';

/** Which MongoDB the tests run against. */
export type TestMongoKind = 'external' | 'mongod' | 'wire';

/** A MongoDB for tests, from {@link startTestMongo}. */
export interface TestMongo {
  url: string;
  kind: TestMongoKind;
  /** One human sentence naming the server, e.g. for the test run's header. */
  description: string;
  stop(): Promise<void>;
}

const MONGOD_READY_TIMEOUT_MS = 30_000;

function redactCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + MONGOD_READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mongod exited with code ${child.exitCode} before answering`);
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 1_000, directConnection: true });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`mongod did not answer ping within ${MONGOD_READY_TIMEOUT_MS} ms: ${String(lastError)}`);
}

async function startMongod(binary: string): Promise<TestMongo> {
  const dbpath = await mkdtemp(join(tmpdir(), 'retention-mongod-'));
  const port = await freePort();
  const child = spawn(binary, ['--dbpath', dbpath, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], {
    stdio: 'ignore',
  });
  const url = `mongodb://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dbpath, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(url, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, kind: 'mongod', description: `mongod (${binary}) at ${url}, dbpath ${dbpath}`, stop };
}

/**
 * Starts (or points at) the MongoDB the tests use: `MONGODB_URL` when set, else a `mongod` found on PATH with a
 * temporary dbpath, else the retention wire-compatible test server in memory.
 *
 * @example
 * ```ts
 * const mongo = await startTestMongo();
 * console.log(mongo.description);
 * await mongo.stop();
 * ```
 */
export async function startTestMongo(): Promise<TestMongo> {
  const external = process.env.MONGODB_URL;
  if (external) {
    return {
      url: external,
      kind: 'external',
      description: `external MongoDB at ${redactCredentials(external)} (MONGODB_URL)`,
      stop: () => Promise.resolve(),
    };
  }
  const mongod = findOnPath('mongod');
  if (mongod) return startMongod(mongod);
  const server = await startMongoWireServer();
  return {
    url: server.url,
    kind: 'wire',
    description: `retention wire-compatible test server at ${server.url} (in memory)`,
    stop: () => server.close(),
  };
}

/**
 * A database name unique to one test: the prefix (letters, digits, `_`), the process id and random bytes,
 * within MongoDB's 63-character limit.
 *
 * @example
 * ```ts
 * const db = client.db(uniqueDbName('users-store')); // "users_store_4242_9f1c2ab03d"
 * ```
 */
export function uniqueDbName(prefix: string): string {
  const safePrefix = prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40);
  return `${safePrefix}_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** Drops a test database; use in `afterEach`/`afterAll` with the name from {@link uniqueDbName}. */
export async function dropTestDatabase(client: MongoClient, name: string): Promise<void> {
  await client.db(name).dropDatabase();
}
