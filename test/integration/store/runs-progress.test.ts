import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { RunsStore, chunkProgressKey } from '../../../src/store/runs-store.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';

let client: MongoClient;
let dbName: string;
let db: Db;
let runs: RunsStore;

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  dbName = uniqueDbName('runs_progress');
  db = client.db(dbName);
  runs = new RunsStore(db);
  await runs.ensureIndexes();
});

afterAll(async () => {
  await dropTestDatabase(client, dbName);
  await client.close();
});

const T0 = new Date('2026-11-23T02:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
let counter = 0;

async function plannedRun(chunkCount = 3, tenantId = 'acme'): Promise<string> {
  counter += 1;
  const id = `run-progress-${counter}`;
  await runs.createIfAbsent({ id, tenantId, trigger: 'manual', windows: { chats: { from: at(-7200), to: T0 } }, previous: null, chunkCount, createdAt: T0 });
  return id;
}

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

describe('RunsStore progress', () => {
  it('starts a planned run at 0 of its chunks', async () => {
    const id = await plannedRun(4);
    const run = await runs.get('acme', id);
    expect(run?.progress).toEqual({ chunksDone: 0, chunkCount: 4, types: {}, records: 0, rejected: 0, bytes: 0, lastChunkAt: null });
  });

  it('records each delivered chunk and sums records, rejected and bytes per type and in all', async () => {
    const id = await plannedRun(3);
    expect(await runs.recordChunkDone('acme', id, { type: 'chats', index: 0, records: 7, rejected: 1, bytes: 700 }, at(10))).toBe(true);
    let run = await runs.get('acme', id);
    expect(run?.progress).toMatchObject({ chunksDone: 1, chunkCount: 3, records: 7, rejected: 1, bytes: 700, lastChunkAt: at(10) });

    await runs.recordChunkDone('acme', id, { type: 'call-logs', index: 0, records: 5, rejected: 0, bytes: 500 }, at(20));
    await runs.recordChunkDone('acme', id, { type: 'chats', index: 1, records: 3, rejected: 0, bytes: 300 }, at(15));
    run = await runs.get('acme', id);
    expect(run?.progress).toEqual({
      chunksDone: 3,
      chunkCount: 3,
      types: { chats: { chunks: 2, records: 10, rejected: 1, bytes: 1000 }, 'call-logs': { chunks: 1, records: 5, rejected: 0, bytes: 500 } },
      records: 15,
      rejected: 1,
      bytes: 1500,
      lastChunkAt: at(20),
    });
    expect((await runs.listByTenant('acme')).find((r) => r.id === id)?.progress.chunksDone).toBe(3);
  });

  it('counts a retried chunk once: its later delivery replaces the earlier one', async () => {
    const id = await plannedRun(2);
    await runs.recordChunkDone('acme', id, { type: 'chats', index: 0, records: 7, rejected: 0, bytes: 700 }, at(10));
    await runs.recordChunkDone('acme', id, { type: 'chats', index: 0, records: 7, rejected: 0, bytes: 700 }, at(30));
    await runs.recordChunkDone('acme', id, { type: 'chats', index: 0, records: 8, rejected: 0, bytes: 800 }, at(40));
    const run = await runs.get('acme', id);
    expect(run?.progress).toMatchObject({ chunksDone: 1, chunkCount: 2, records: 8, bytes: 800, lastChunkAt: at(40) });
    expect(run?.progress.types.chats).toEqual({ chunks: 1, records: 8, rejected: 0, bytes: 800 });
  });

  it('keeps the progress once the run is done, and records nothing on a finished run or for another tenant', async () => {
    const id = await plannedRun(2);
    await runs.recordChunkDone('acme', id, { type: 'chats', index: 0, records: 4, rejected: 0, bytes: 400 }, at(10));
    expect(await runs.recordChunkDone('other', id, { type: 'chats', index: 1, records: 9, rejected: 0, bytes: 900 }, at(11))).toBe(false);
    await runs.markFailed('acme', id, { code: 'ERR_TARGET_AUTH', message: 'denied' }, at(12));
    expect(await runs.recordChunkDone('acme', id, { type: 'chats', index: 1, records: 9, rejected: 0, bytes: 900 }, at(13))).toBe(false);
    const run = await runs.get('acme', id);
    expect(run?.status).toBe('failed');
    expect(run?.progress).toMatchObject({ chunksDone: 1, records: 4, bytes: 400 });
  });

  it('reads a run recorded before progress existed as 0 chunks done', async () => {
    const id = await plannedRun(2);
    await db.collection('runs').updateOne({ _id: id as never }, { $unset: { progress: '' } });
    expect((await runs.get('acme', id))?.progress).toMatchObject({ chunksDone: 0, chunkCount: 2, records: 0 });
  });

  it.each([
    [{ type: 'chats$' as RecordType, index: 0, records: 1, rejected: 0, bytes: 1 }],
    [{ type: 'chats.x' as RecordType, index: 0, records: 1, rejected: 0, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: -1, records: 1, rejected: 0, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: 1.5, records: 1, rejected: 0, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: Number.NaN, records: 1, rejected: 0, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: 0, records: -1, rejected: 0, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: 0, records: 1, rejected: 0.5, bytes: 1 }],
    [{ type: 'chats' as RecordType, index: 0, records: 1, rejected: 0, bytes: Number.POSITIVE_INFINITY }],
  ])('refuses the chunk %j with ERR_CHUNK_INVALID and records nothing', async (chunk) => {
    const id = await plannedRun(2);
    expect(await codeOf(runs.recordChunkDone('acme', id, chunk, at(1)))).toBe('ERR_CHUNK_INVALID');
    expect((await runs.get('acme', id))?.progress.chunksDone).toBe(0);
  });

  it('names a chunk by type and slice index', () => {
    expect(chunkProgressKey('call-logs', 12)).toBe('call-logs:12');
  });
});
