import type { Binary, Decimal128, Long, ObjectId, Timestamp } from 'bson';

/** The `_bsontype` tag of bson class instances (ObjectId, Long, Binary…), or undefined for plain values. */
export function bsonTypeOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** True for a plain embedded document (not an array, Date, RegExp, Buffer or bson class instance). */
export function isPlainDocument(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value) || value instanceof Date || value instanceof RegExp || value instanceof Uint8Array) return false;
  return bsonTypeOf(value) === undefined;
}

const NUMERIC_TYPES = new Set(['Long', 'Int32', 'Double', 'Decimal128']);

/** The numeric value of a JS number or a bson numeric wrapper, or undefined for non-numbers. */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const tag = bsonTypeOf(value);
  if (tag === undefined || !NUMERIC_TYPES.has(tag)) return undefined;
  if (tag === 'Long') return (value as Long).toNumber();
  if (tag === 'Decimal128') return Number((value as Decimal128).toString());
  return Number((value as { value: number }).value);
}

/**
 * Rank of a value in MongoDB's comparison/sort order: MinKey, missing, null, numbers, strings, objects, arrays,
 * binary, ObjectId, booleans, dates, timestamps, regular expressions, MaxKey.
 */
export function bsonTypeRank(value: unknown): number {
  if (value === undefined) return 1;
  if (value === null) return 2;
  if (numericValue(value) !== undefined) return 3;
  if (typeof value === 'string') return 4;
  if (typeof value === 'boolean') return 9;
  if (Array.isArray(value)) return 6;
  if (value instanceof Date) return 10;
  if (value instanceof RegExp) return 12;
  if (value instanceof Uint8Array) return 7;
  switch (bsonTypeOf(value)) {
    case 'MinKey':
      return 0;
    case 'BSONSymbol':
      return 4;
    case 'Binary':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    case 'MaxKey':
      return 13;
    default:
      return 5;
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return sign(a.length - b.length);
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length));
}

function compareSameRank(rank: number, a: unknown, b: unknown): number {
  switch (rank) {
    case 3:
      return sign((numericValue(a) ?? 0) - (numericValue(b) ?? 0));
    case 4: {
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 5:
      return compareDocuments(a as Record<string, unknown>, b as Record<string, unknown>);
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
        const c = compareBsonValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return sign(x.length - y.length);
    }
    case 7: {
      const x = a instanceof Uint8Array ? a : (a as Binary).buffer;
      const y = b instanceof Uint8Array ? b : (b as Binary).buffer;
      return compareBytes(x, y);
    }
    case 8:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 9:
      return sign(Number(a) - Number(b));
    case 10:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    case 12:
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
    default:
      return 0;
  }
}

function compareDocuments(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const x = Object.entries(a);
  const y = Object.entries(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const [ka, va] = x[i] as [string, unknown];
    const [kb, vb] = y[i] as [string, unknown];
    const byType = sign(bsonTypeRank(va) - bsonTypeRank(vb));
    if (byType !== 0) return byType;
    if (ka !== kb) return ka < kb ? -1 : 1;
    const byValue = compareBsonValues(va, vb);
    if (byValue !== 0) return byValue;
  }
  return sign(x.length - y.length);
}

/**
 * Compares two values the way MongoDB's aggregation expressions do (`$cmp`, `$gt`…): first by type rank, then by
 * value. A missing field (undefined) sorts before null.
 *
 * @example
 * ```ts
 * compareBsonValues(new Date(5), null); // 1: dates sort after null
 * ```
 */
export function compareBsonValues(a: unknown, b: unknown): number {
  const rankA = bsonTypeRank(a);
  const rankB = bsonTypeRank(b);
  if (rankA !== rankB) return sign(rankA - rankB);
  return compareSameRank(rankA, a, b);
}
