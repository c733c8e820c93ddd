import type { Document } from 'bson';
import { isPlainDocument } from './bson-order.js';

/**
 * Deep copy of plain objects and arrays, keeping bson class instances (ObjectId, Long, Binary…) as they are;
 * `structuredClone` would drop their prototypes. Dates are copied.
 *
 * @example
 * ```ts
 * const copy = copyValue({ _id: new ObjectId(), tags: ['a'] });
 * ```
 */
export function copyValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map((element: unknown) => copyValue(element)) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isPlainDocument(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(value)) out[key] = copyValue(element);
    return out as T;
  }
  return value;
}

/** A deep copy of a document. */
export function copyDocument(document: Document): Document {
  return copyValue(document);
}

/** The document with `_id` moved to the first position, as MongoDB stores it. */
export function withIdFirst(document: Document): Document {
  if (!('_id' in document) || Object.keys(document)[0] === '_id') return document;
  const { _id, ...rest } = document;
  return { _id, ...rest };
}
