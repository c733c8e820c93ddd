import type { TestProject } from 'vitest/node';
import { startTestMongo, type TestMongoKind } from '../mongo.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the MongoDB every test uses (`MONGODB_URL`, a local `mongod`, or the wire-compatible development server of `src/dev-mongodb/`). */
    mongoUrl: string;
    /** Which kind of server `mongoUrl` points at. */
    mongoKind: TestMongoKind;
  }
}

/** Starts the test MongoDB once for the run, says which one, and hands its URL to the tests as `inject('mongoUrl')`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mongo = await startTestMongo();
  console.log(`[global-setup] MongoDB for tests: ${mongo.description}`);
  project.provide('mongoUrl', mongo.url);
  project.provide('mongoKind', mongo.kind);
  return () => mongo.stop();
}
