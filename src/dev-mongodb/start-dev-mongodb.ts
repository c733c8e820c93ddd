import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startMongoWireServer } from './mongo-wire-server.js';

/** Which development MongoDB {@link startDevMongoDb} started. */
export type DevMongoDbKind = 'mongod' | 'wire';

/** A MongoDB started for development (the demo, the tests, the benchmarks), from {@link startDevMongoDb}. */
export interface DevMongoDb {
  /** `mongodb://127.0.0.1:<port>`, ready for `new MongoClient(url)`. */
  url: string;
  kind: DevMongoDbKind;
  /** One human sentence naming the server, e.g. for a console header. */
  description: string;
  /** Stops the server; a `mongod`'s temporary data directory is removed, the wire server's memory is gone. */
  stop(): Promise<void>;
}

const MONGOD_READY_TIMEOUT_MS = 30_000;

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

async function startMongod(binary: string): Promise<DevMongoDb> {
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
 * Starts a MongoDB for development on a free loopback port: a `mongod` found on `PATH` with a temporary data
 * directory, else the project's wire-compatible development server in this process, keeping its data in memory.
 *
 * @example
 * ```ts
 * const mongo = await startDevMongoDb();
 * console.log(mongo.description); // "retention wire-compatible development server at mongodb://127.0.0.1:40123 (in memory)"
 * await mongo.stop();
 * ```
 */
export async function startDevMongoDb(): Promise<DevMongoDb> {
  const mongod = findOnPath('mongod');
  if (mongod) return startMongod(mongod);
  const server = await startMongoWireServer();
  return {
    url: server.url,
    kind: 'wire',
    description: `retention wire-compatible development server at ${server.url} (in memory)`,
    stop: () => server.close(),
  };
}
