import { MongoBulkWriteError, MongoClient, MongoServerError, ObjectId, type AnyBulkWriteOperation, type CommandSucceededEvent, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { uniqueDbName } from '../../support/mongo.js';

let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await new MongoClient(inject('mongoUrl'), { serverSelectionTimeoutMS: 10_000, monitorCommands: true }).connect();
});

afterAll(async () => {
  await client.close();
});

beforeEach(() => {
  db = client.db(uniqueDbName('mongo_server'));
});

afterEach(async () => {
  await db.dropDatabase();
});

interface Person {
  _id?: ObjectId | number | string;
  name: string;
  age: number;
  team?: string;
  tags?: string[];
}

const people: Person[] = [
  { _id: 1, name: 'ada', age: 36, team: 'core', tags: ['math'] },
  { _id: 2, name: 'bob', age: 25, team: 'ops' },
  { _id: 3, name: 'cy', age: 41, team: 'core', tags: ['ops', 'math'] },
  { _id: 4, name: 'di', age: 19, team: 'ops' },
  { _id: 5, name: 'ed', age: 30, team: 'core' },
];

describe('MongoDB test server through the official driver', () => {
  it('answers ping and reports a MongoDB 7-compatible version', async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().command({ buildInfo: 1 });
    expect(typeof info.version).toBe('string');
  });

  it('inserts and finds with filter, projection, sort, skip and limit', async () => {
    const people_ = db.collection<Person>('people');
    const inserted = await people_.insertOne({ name: 'zed', age: 50 });
    expect(inserted.insertedId).toBeInstanceOf(ObjectId);
    await people_.insertMany(people.map((person) => ({ ...person })));

    const found = await people_
      .find({ team: 'core', age: { $gte: 30 } }, { projection: { name: 1, _id: 0 } })
      .sort({ age: -1 })
      .skip(1)
      .limit(1)
      .toArray();
    expect(found).toEqual([{ name: 'ada' }]);

    const byId = await people_.findOne({ _id: inserted.insertedId });
    expect(byId).toEqual({ _id: inserted.insertedId, name: 'zed', age: 50 });
    expect(
      await people_
        .find({ tags: 'math' })
        .sort({ _id: 1 })
        .map((p) => p._id)
        .toArray(),
    ).toEqual([1, 3]);
  });

  it('returns large results in batches through getMore', async () => {
    const numbers = db.collection<{ _id: number; even: boolean }>('numbers');
    await numbers.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i, even: i % 2 === 0 })));
    const cursor = numbers.find({ even: true }).sort({ _id: 1 }).batchSize(7);
    const ids: number[] = [];
    for await (const doc of cursor) ids.push(doc._id);
    expect(ids).toEqual(Array.from({ length: 125 }, (_, i) => i * 2));
  });

  it('closes a cursor before it is exhausted (killCursors)', async () => {
    const numbers = db.collection<{ _id: number }>('numbers');
    await numbers.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i })));
    const killed: unknown[] = [];
    const listener = (event: CommandSucceededEvent): void => {
      if (event.commandName === 'killCursors') killed.push(...(event.reply as { cursorsKilled: unknown[] }).cursorsKilled);
    };
    client.on('commandSucceeded', listener);
    try {
      const cursor = numbers.find().sort({ _id: 1 }).batchSize(5);
      expect((await cursor.next())?._id).toBe(0);
      const cursorId = cursor.id;
      expect(cursorId?.isZero()).toBe(false);
      await cursor.close();
      expect(killed.map(String)).toEqual([String(cursorId)]);
      await expect(db.command({ getMore: cursorId, collection: 'numbers' })).rejects.toMatchObject({ code: 43 });
    } finally {
      client.off('commandSucceeded', listener);
    }
  });

  it('updates with operators, replacement, upsert and multi', async () => {
    const coll = db.collection<Person & { visits?: number; seen?: string[] }>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));

    const one = await coll.updateOne({ _id: 1 }, { $set: { team: 'lead' }, $inc: { visits: 2 }, $push: { tags: 'chair' }, $addToSet: { seen: 'x' } });
    expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      name: 'ada',
      age: 36,
      team: 'lead',
      tags: ['math', 'chair'],
      visits: 2,
      seen: ['x'],
    });

    const many = await coll.updateMany({ team: 'ops' }, { $unset: { team: '' }, $max: { age: 21 } });
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    expect(
      await coll
        .find({ _id: { $in: [2, 4] } })
        .sort({ _id: 1 })
        .toArray(),
    ).toEqual([
      { _id: 2, name: 'bob', age: 25 },
      { _id: 4, name: 'di', age: 21 },
    ]);

    const same = await coll.updateOne({ _id: 5 }, { $set: { age: 30 } });
    expect(same).toMatchObject({ matchedCount: 1, modifiedCount: 0 });

    const replaced = await coll.replaceOne({ _id: 5 }, { name: 'eve', age: 31 });
    expect(replaced).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 5 })).toEqual({ _id: 5, name: 'eve', age: 31 });

    const upserted = await coll.updateOne({ name: 'fay', team: 'new' }, { $set: { age: 22 }, $setOnInsert: { visits: 0 } }, { upsert: true });
    expect(upserted).toMatchObject({ matchedCount: 0, upsertedCount: 1 });
    expect(await coll.findOne({ _id: upserted.upsertedId! }, { projection: { _id: 0 } })).toEqual({
      name: 'fay',
      team: 'new',
      age: 22,
      visits: 0,
    });

    const again = await coll.updateOne({ name: 'fay' }, { $set: { age: 23 }, $setOnInsert: { visits: 99 } }, { upsert: true });
    expect(again).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect((await coll.findOne({ name: 'fay' }))?.visits).toBe(0);

    await expect(coll.updateOne({ _id: 2 }, { $set: { _id: 99 } })).rejects.toMatchObject({ code: 66 });
  });

  it('applies pipeline-style updates that replace a document only if the incoming one is newer', async () => {
    const records = db.collection<{ _id: string; updatedAt: Date; body: string }>('records');
    const guardedUpsert = (record: { _id: string; updatedAt: Date; body: string }) =>
      records.updateOne({ _id: record._id }, [{ $replaceWith: { $cond: [{ $gt: [record.updatedAt, '$updatedAt'] }, { $literal: record }, '$$ROOT'] } }], {
        upsert: true,
      });

    const first = await guardedUpsert({ _id: 'r1', updatedAt: new Date('2024-01-02'), body: 'v2' });
    expect(first.upsertedCount).toBe(1);
    expect(await records.findOne({ _id: 'r1' })).toEqual({ _id: 'r1', updatedAt: new Date('2024-01-02'), body: 'v2' });

    const older = await guardedUpsert({ _id: 'r1', updatedAt: new Date('2024-01-01'), body: 'v1' });
    expect(older).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect((await records.findOne({ _id: 'r1' }))?.body).toBe('v2');

    const newer = await guardedUpsert({ _id: 'r1', updatedAt: new Date('2024-01-03'), body: 'v3' });
    expect(newer).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect((await records.findOne({ _id: 'r1' }))?.body).toBe('v3');
  });

  it('runs an unordered bulk write of 2,000 operations, reporting one duplicate key and applying the rest', async () => {
    const items = db.collection<{ _id: number; n: number }>('items');
    await items.insertOne({ _id: 500, n: -1 });
    const operations: AnyBulkWriteOperation<{ _id: number; n: number }>[] = [];
    for (let i = 0; i < 1_000; i += 1) operations.push({ insertOne: { document: { _id: i, n: i } } });
    for (let i = 0; i < 1_000; i += 1) {
      operations.push({ updateOne: { filter: { _id: 10_000 + i }, update: { $set: { n: i } }, upsert: true } });
    }
    const error: unknown = await items.bulkWrite(operations, { ordered: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulkError = error as MongoBulkWriteError;
    expect(bulkError.writeErrors).toHaveLength(1);
    const [writeError] = Array.isArray(bulkError.writeErrors) ? bulkError.writeErrors : [bulkError.writeErrors];
    expect(writeError?.code).toBe(11000);
    expect(writeError?.index).toBe(500);
    expect(bulkError.result.insertedCount).toBe(999);
    expect(bulkError.result.upsertedCount).toBe(1_000);
    expect(await items.countDocuments()).toBe(2_000);
    expect((await items.findOne({ _id: 500 }))?.n).toBe(-1);
  });

  it('stops an ordered insert at the first duplicate key', async () => {
    const items = db.collection<{ _id: number }>('items');
    const error: unknown = await items.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    expect((error as MongoBulkWriteError).code).toBe(11000);
    expect(await items.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }]);
  });

  it('deletes one or many documents', async () => {
    const coll = db.collection<Person>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));
    expect((await coll.deleteOne({ team: 'core' })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ team: 'core' })).deletedCount).toBe(2);
    expect((await coll.deleteMany({ team: 'none' })).deletedCount).toBe(0);
    expect(await coll.countDocuments()).toBe(2);
  });

  it('aggregates with $match, $group and $sort, and counts and lists distinct values', async () => {
    const coll = db.collection<Person>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));
    const byTeam = await coll
      .aggregate<{ _id: string; members: number; oldest: number }>([
        { $match: { age: { $gte: 20 } } },
        { $group: { _id: '$team', members: { $sum: 1 }, oldest: { $max: '$age' } } },
        { $sort: { members: -1 } },
      ])
      .toArray();
    expect(byTeam).toEqual([
      { _id: 'core', members: 3, oldest: 41 },
      { _id: 'ops', members: 1, oldest: 25 },
    ]);
    expect(await coll.countDocuments({ team: 'core' })).toBe(3);
    expect(await coll.countDocuments({ team: 'nobody' })).toBe(0);
    expect(await coll.estimatedDocumentCount()).toBe(5);
    expect((await coll.distinct('team')).sort()).toEqual(['core', 'ops']);
    expect((await coll.distinct('tags', { team: 'core' })).sort()).toEqual(['math', 'ops']);
  });

  it('aggregates with $lookup, $unwind, $facet and $count', async () => {
    const coll = db.collection<Person>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));
    await db.collection('teams').insertMany([{ _id: 'core', floor: 3 } as never, { _id: 'ops', floor: 1 } as never]);
    const joined = await coll
      .aggregate([
        { $match: { _id: { $in: [1, 2] } } },
        { $lookup: { from: 'teams', localField: 'team', foreignField: '_id', as: 'teamInfo' } },
        { $unwind: '$teamInfo' },
        { $project: { _id: 1, floor: '$teamInfo.floor' } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(joined).toEqual([
      { _id: 1, floor: 3 },
      { _id: 2, floor: 1 },
    ]);
    const [facets] = await coll.aggregate([{ $facet: { total: [{ $count: 'n' }], none: [{ $match: { age: { $gt: 100 } } }, { $count: 'n' }] } }]).toArray();
    expect(facets).toEqual({ total: [{ n: 5 }], none: [] });
    expect(await coll.aggregate([{ $match: { age: { $gt: 100 } } }, { $count: 'n' }]).toArray()).toEqual([]);
    const tags = await coll.aggregate([{ $unwind: '$tags' }, { $group: { _id: '$tags', n: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
    expect(tags).toEqual([
      { _id: 'math', n: 2 },
      { _id: 'ops', n: 1 },
    ]);
  });

  it('joins by localField/foreignField with a pipeline over the matched documents only, and runs uncorrelated sub-pipelines', async () => {
    const coll = db.collection<Person>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));
    await db.collection('groups').insertMany([
      { _id: 'g1', members: [1, 3, 99] },
      { _id: 'g2', members: [] },
      { _id: 'g3', members: 2 },
    ] as never[]);
    const groups = await db
      .collection('groups')
      .aggregate([
        { $match: { _id: { $in: ['g1', 'g2', 'g3'] } } },
        { $sort: { _id: 1 } },
        { $lookup: { from: 'people', localField: 'members', foreignField: '_id', pipeline: [{ $project: { _id: 1 } }], as: 'found' } },
        {
          $lookup: {
            from: 'people',
            pipeline: [{ $match: { team: 'ops' } }, { $sort: { age: 1 } }, { $limit: 1 }, { $project: { name: 1 } }],
            as: 'youngestOps',
          },
        },
        { $project: { found: 1, youngestOps: 1 } },
      ])
      .toArray();
    expect(groups.map((group) => ({ ...group, found: (group.found as { _id: number }[]).map((p) => p._id).sort() }))).toEqual([
      { _id: 'g1', found: [1, 3], youngestOps: [{ _id: 4, name: 'di' }] },
      { _id: 'g2', found: [], youngestOps: [{ _id: 4, name: 'di' }] },
      { _id: 'g3', found: [2], youngestOps: [{ _id: 4, name: 'di' }] },
    ]);
  });

  it('appends a $unionWith count to a sorted, limited page, and a reshaping stage leaves stored documents as they are', async () => {
    const coll = db.collection<Person>('people');
    await coll.insertMany(people.map((person) => ({ ...person })));
    await coll.createIndex({ team: 1, age: -1, _id: -1 });
    const rows = await coll
      .aggregate([
        { $match: { team: 'core' } },
        { $sort: { age: -1, _id: -1 } },
        { $limit: 2 },
        { $project: { tags: 0, team: 0 } },
        { $unionWith: { coll: 'people', pipeline: [{ $match: { team: 'core' } }, { $limit: 10 }, { $group: { _id: null, matches: { $sum: 1 } } }] } },
      ])
      .toArray();
    expect(rows).toEqual([
      { _id: 3, name: 'cy', age: 41 },
      { _id: 1, name: 'ada', age: 36 },
      { _id: null, matches: 3 },
    ]);
    const none = await coll
      .aggregate([
        { $match: { team: 'none' } },
        { $unionWith: { coll: 'people', pipeline: [{ $match: { team: 'none' } }, { $group: { _id: null, matches: { $sum: 1 } } }] } },
      ])
      .toArray();
    expect(none).toEqual([]);
    expect(await coll.findOne({ _id: 3 })).toEqual(people[2]);
  });

  it('finds and updates atomically, returning the new document or upserting', async () => {
    const counters = db.collection<{ _id: string; seq: number }>('counters');
    const created = await counters.findOneAndUpdate({ _id: 'invoice' }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' });
    expect(created).toEqual({ _id: 'invoice', seq: 1 });
    const before = await counters.findOneAndUpdate({ _id: 'invoice' }, { $inc: { seq: 1 } }, { returnDocument: 'before' });
    expect(before).toEqual({ _id: 'invoice', seq: 1 });
    const after = await counters.findOneAndUpdate({ _id: 'invoice' }, { $inc: { seq: 1 } }, { returnDocument: 'after', projection: { _id: 0 } });
    expect(after).toEqual({ seq: 3 });
    expect(await counters.findOneAndUpdate({ _id: 'missing' }, { $inc: { seq: 1 } })).toBeNull();
    expect(await counters.findOneAndDelete({ _id: 'invoice' })).toEqual({ _id: 'invoice', seq: 3 });
    expect(await counters.countDocuments()).toBe(0);
  });

  it('enforces unique indexes and lists them', async () => {
    const users = db.collection<{ email: string; tenant: string }>('users');
    const name = await users.createIndex({ tenant: 1, email: 1 }, { unique: true });
    expect(name).toBe('tenant_1_email_1');
    await users.insertOne({ tenant: 't1', email: 'a@x.io' });
    await users.insertOne({ tenant: 't2', email: 'a@x.io' });
    const failure = await users.insertOne({ tenant: 't1', email: 'a@x.io' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MongoServerError);
    expect((failure as MongoServerError).code).toBe(11000);
    expect((failure as MongoServerError).message).toMatch(/E11000 duplicate key error collection: .*users index: tenant_1_email_1/);

    const dup = await users.updateOne({ tenant: 't2' }, { $set: { tenant: 't1' } }).catch((e: unknown) => e);
    expect((dup as MongoServerError).code).toBe(11000);

    const indexes = await users.listIndexes().toArray();
    expect(indexes.map((index) => index.name).sort()).toEqual(['_id_', 'tenant_1_email_1']);
    expect(indexes.find((index) => index.name === 'tenant_1_email_1')).toMatchObject({ key: { tenant: 1, email: 1 }, unique: true });

    await users.dropIndex('tenant_1_email_1');
    expect((await users.listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('refuses to create a unique index over existing duplicates', async () => {
    const users = db.collection<{ email: string }>('users');
    await users.insertMany([{ email: 'a@x.io' }, { email: 'a@x.io' }]);
    await expect(users.createIndex({ email: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });
    expect((await users.listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('lists collections, drops one and drops the database', async () => {
    await db.createCollection('alpha');
    await db.collection('beta').insertOne({ x: 1 });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name).sort();
    expect(names).toEqual(['alpha', 'beta']);
    expect((await db.listCollections({ name: 'beta' }).toArray()).map((info) => info.name)).toEqual(['beta']);
    const databases = await client.db().admin().listDatabases();
    expect(databases.databases.map((database) => database.name)).toContain(db.databaseName);

    expect(await db.collection('alpha').drop()).toBe(true);
    expect((await db.listCollections().toArray()).map((info) => info.name)).toEqual(['beta']);
    expect(await db.dropDatabase()).toBe(true);
    expect(await db.listCollections().toArray()).toEqual([]);
    expect(await db.collection('beta').countDocuments()).toBe(0);
  });
});
