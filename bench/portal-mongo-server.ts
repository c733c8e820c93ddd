/**
 * The MongoDB of the portal benchmark, in a process of its own so the server's work never shares the portal's event
 * loop: `startTestMongo()` (`MONGODB_URL`, else `mongod` on PATH, else the wire-compatible test server in this
 * process). Prints one JSON line `{ url, kind, description }` once it answers, and stops when its stdin closes.
 */
import { once } from 'node:events';
import { startTestMongo, type TestMongoKind } from '../test/support/mongo.js';

/** The line this process prints once the server answers. */
export interface BenchMongoInfo {
  url: string;
  kind: TestMongoKind;
  description: string;
}

const mongo = await startTestMongo();
const info: BenchMongoInfo = { url: mongo.url, kind: mongo.kind, description: mongo.description };
console.log(JSON.stringify(info));
process.stdin.resume();
await once(process.stdin, 'end');
await mongo.stop();
process.exit(0);
