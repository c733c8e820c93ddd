import { Int32, Long, ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import { compareBsonValues } from '../../../src/dev-mongodb/bson-order.js';
import { canonicalKey, collectPathValues, formatKeyValue } from '../../../src/dev-mongodb/index-key.js';
import { buildUpsertDocument, classifyUpdate, upsertSeed } from '../../../src/dev-mongodb/update-application.js';
import { selectDocuments } from '../../../src/dev-mongodb/query-engine.js';
import { MessageFramer } from '../../../src/dev-mongodb/wire-protocol.js';

describe('compareBsonValues', () => {
  it.each([
    [new Date(5), undefined, 1],
    [new Date(5), null, 1],
    [null, undefined, 1],
    [1, 'a', -1],
    ['a', { a: 1 }, -1],
    [new ObjectId('000000000000000000000001'), true, -1],
    [true, new Date(0), -1],
    [2, new Long(2), 0],
    [[1, 2], [1, 3], -1],
  ])('orders %o against %o as %i', (a, b, expected) => {
    expect(compareBsonValues(a, b)).toBe(expected);
  });
});

describe('canonicalKey', () => {
  it('treats numbers of every BSON type as the same key', () => {
    expect(canonicalKey(1)).toBe(canonicalKey(new Int32(1)));
    expect(canonicalKey(1)).toBe(canonicalKey(Long.fromNumber(1)));
  });

  it.each([
    [
      { a: 1, b: 2 },
      { b: 2, a: 1 },
    ],
    ['1', 1],
    [null, false],
    [new ObjectId('000000000000000000000001'), '000000000000000000000001'],
  ])('distinguishes %o from %o', (a, b) => {
    expect(canonicalKey(a)).not.toBe(canonicalKey(b));
  });
});

describe('collectPathValues', () => {
  it.each([
    [{ a: [{ b: 1 }, { b: 2 }] }, 'a.b', [1, 2]],
    [{ a: { b: [3, 4] } }, 'a.b', [3, 4]],
    [{ a: 1 }, 'a.b', []],
    [{}, 'x', []],
    [{ a: [5, 6] }, 'a.1', [6]],
  ])('reads %o at %s', (document, path, expected) => {
    expect(collectPathValues(document, path)).toEqual(expected);
  });
});

describe('formatKeyValue', () => {
  it('prints keys like MongoDB duplicate key messages', () => {
    expect(formatKeyValue({ tenant: 't1', n: 2, missing: null })).toBe('{ tenant: "t1", n: 2, missing: null }');
    expect(formatKeyValue({ _id: new ObjectId('65a000000000000000000001') })).toBe("{ _id: ObjectId('65a000000000000000000001') }");
  });
});

describe('update classification and upserts', () => {
  it.each([
    [{ $set: { a: 1 } }, 'operators'],
    [{ a: 1 }, 'replacement'],
    [[{ $set: { a: 1 } }], 'pipeline'],
  ])('classifies %o as %s', (update, kind) => {
    expect(classifyUpdate(update)).toBe(kind);
  });

  it.each([
    [{ $foo: { a: 1 } }, 9],
    [{ $set: { a: 1 }, b: 2 }, 9],
    [[{ $match: { a: 1 } }], 72],
    ['text', 9],
  ])('rejects %o with code %i', (update, code) => {
    expect(() => classifyUpdate(update)).toThrow(expect.objectContaining({ code }) as Error);
  });

  it('seeds an upsert from equality conditions only', () => {
    expect(upsertSeed({ a: 1, 'b.c': 'x', d: { $gt: 1 }, e: { $eq: 5 }, $and: [{ f: true }], g: /re/ })).toEqual({
      a: 1,
      b: { c: 'x' },
      e: 5,
      f: true,
    });
  });

  it('applies $setOnInsert only when inserting and puts _id first', () => {
    const document = buildUpsertDocument({ $set: { n: 1 }, $setOnInsert: { created: true } }, { filter: { key: 'k' } });
    expect(Object.keys(document)).toEqual(['_id', 'key', 'n', 'created']);
    expect(document._id).toBeInstanceOf(ObjectId);
  });
});

describe('MessageFramer', () => {
  it('reassembles messages split across chunks and splits coalesced ones', () => {
    const message = (fill: number): Buffer => {
      const buffer = Buffer.alloc(20, fill);
      buffer.writeInt32LE(20, 0);
      return buffer;
    };
    const stream = Buffer.concat([message(1), message(2), message(3)]);
    const framer = new MessageFramer();
    const frames = [stream.subarray(0, 2), stream.subarray(2, 25), stream.subarray(25)].flatMap((chunk) => framer.push(chunk));
    expect(frames.map((frame) => frame[19])).toEqual([1, 2, 3]);
  });
});

describe('selectDocuments with a projection', () => {
  it('filters and sorts on fields the projection leaves out, and never changes the stored documents', () => {
    const stored = [
      { _id: 'a', ix: { at: 2, tokens: ['x', 'y'] } },
      { _id: 'b', ix: { at: 1, tokens: ['y'] } },
      { _id: 'c', ix: { at: 3, tokens: ['z'] } },
    ];
    const before = structuredClone(stored);
    const projection = { 'ix.tokens': 0 };
    for (let round = 0; round < 2; round += 1) {
      expect(selectDocuments(stored, { 'ix.tokens': 'y' }, { sort: { 'ix.at': -1 }, projection })).toEqual([
        { _id: 'a', ix: { at: 2 } },
        { _id: 'b', ix: { at: 1 } },
      ]);
    }
    expect(stored).toEqual(before);
  });
});
