import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { startDevMongoDb, type DevMongoDbKind } from '../../src/dev-mongodb/start-dev-mongodb.js';

/** Which MongoDB the tests run against. */
export type TestMongoKind = 'external' | DevMongoDbKind;

/** A MongoDB for tests, from {@link startTestMongo}. */
export interface TestMongo {
  url: string;
  kind: TestMongoKind;
  /** One human sentence naming the server, e.g. for the test run's header. */
  description: string;
  stop(): Promise<void>;
}

function redactCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Starts (or points at) the MongoDB the tests use: `MONGODB_URL` when set, else the development MongoDB of
 * `src/dev-mongodb/` (a `mongod` found on PATH with a temporary dbpath, else the wire-compatible server in memory).
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
  return startDevMongoDb();
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
