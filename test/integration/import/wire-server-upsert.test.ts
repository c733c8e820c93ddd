import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';

let client: MongoClient;
const dbName = uniqueDbName('wire_upsert');

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
});
afterAll(async () => {
  await dropTestDatabase(client, dbName);
  await client.close();
});

describe('upserts the archive relies on (same answers from MongoDB and the wire test server)', () => {
  it('applies $set to the upsert seed although the filter has a range condition on a field the update sets', async () => {
    const leases = client.db(dbName).collection<{ _id: string; holder?: string; expiresAt?: Date }>('leases');
    const now = new Date('2026-01-01T00:00:00Z');
    const result = await leases.updateOne(
      { _id: 'acme', expiresAt: { $lt: now } },
      { $set: { holder: 'h1', expiresAt: new Date(now.getTime() + 1000) } },
      { upsert: true },
    );
    expect(result.upsertedCount).toBe(1);
    expect(await leases.findOne({ _id: 'acme' })).toEqual({ _id: 'acme', holder: 'h1', expiresAt: new Date(now.getTime() + 1000) });
    await expect(leases.updateOne({ _id: 'acme', expiresAt: { $lt: now } }, { $set: { holder: 'h2' } }, { upsert: true })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('keeps the stored document when a guarded pipeline upsert carries an equal or older version', async () => {
    const docs = client.db(dbName).collection<{ _id: string; v: string; text: string }>('docs');
    const guarded = (doc: { _id: string; v: string; text: string }) => ({
      updateOne: {
        filter: { _id: doc._id },
        update: [{ $replaceWith: { $cond: { if: { $lt: ['$v', doc.v] }, then: { $literal: doc }, else: '$$ROOT' } } }],
        upsert: true,
      },
    });
    const first = await docs.bulkWrite([guarded({ _id: 'a', v: '2', text: '$100 refund' }), guarded({ _id: 'b', v: '1', text: 'x' })], { ordered: false });
    expect([first.upsertedCount, first.modifiedCount]).toEqual([2, 0]);
    const second = await docs.bulkWrite(
      [guarded({ _id: 'a', v: '1', text: 'older' }), guarded({ _id: 'a', v: '2', text: 'equal' }), guarded({ _id: 'b', v: '3', text: 'newer' })],
      { ordered: false },
    );
    expect([second.upsertedCount, second.matchedCount, second.modifiedCount]).toEqual([0, 3, 1]);
    expect(await docs.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', v: '2', text: '$100 refund' },
      { _id: 'b', v: '3', text: 'newer' },
    ]);
  });
});
