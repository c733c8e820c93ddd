import type { Binary, Document, ObjectId } from 'bson';
import { bsonTypeOf, isPlainDocument, numericValue } from './bson-order.js';

/**
 * A string that is equal for two values exactly when MongoDB treats them as the same index key: numbers of any
 * type compare by value, embedded documents by field order and values.
 *
 * @example
 * ```ts
 * canonicalKey(1) === canonicalKey(new Int32(1)); // true
 * ```
 */
export function canonicalKey(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  const numeric = numericValue(value);
  if (numeric !== undefined) return `n:${Object.is(numeric, -0) ? 0 : numeric}`;
  if (typeof value === 'string') return `s:${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `b:${value}`;
  if (value instanceof Date) return `d:${value.getTime()}`;
  if (value instanceof RegExp) return `r:${value.source}/${value.flags}`;
  if (value instanceof Uint8Array) return `x:0:${Buffer.from(value).toString('base64')}`;
  if (Array.isArray(value)) return `[${value.map(canonicalKey).join(',')}]`;
  const tag = bsonTypeOf(value);
  if (tag === 'ObjectId') return `o:${(value as ObjectId).toHexString()}`;
  if (tag === 'Binary') {
    const binary = value as Binary;
    return `x:${binary.sub_type}:${Buffer.from(binary.buffer).toString('base64')}`;
  }
  if (tag !== undefined) return `${tag}:${String(value)}`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalKey(v)}`).join(',')}}`;
}

function collect(value: unknown, parts: readonly string[], depth: number, out: unknown[]): void {
  if (depth === parts.length) {
    if (Array.isArray(value)) out.push(...value);
    else if (value !== undefined) out.push(value);
    return;
  }
  const part = parts[depth] as string;
  if (Array.isArray(value)) {
    const position = /^\d+$/.test(part) ? Number(part) : undefined;
    if (position !== undefined && position < value.length) {
      collect(value[position], parts, depth + 1, out);
      return;
    }
    for (const element of value) collect(element, parts, depth, out);
    return;
  }
  if (isPlainDocument(value)) collect(value[part], parts, depth + 1, out);
}

/**
 * The values a dotted path reaches in a document, with arrays expanded one level (multikey semantics, as used by
 * indexes and `distinct`). Missing paths yield an empty list.
 *
 * @example
 * ```ts
 * collectPathValues({ a: [{ b: 1 }, { b: 2 }] }, 'a.b'); // [1, 2]
 * ```
 */
export function collectPathValues(document: Document, path: string): unknown[] {
  const out: unknown[] = [];
  collect(document, path.split('.'), 0, out);
  return out;
}

function formatValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  const numeric = numericValue(value);
  if (numeric !== undefined) return String(numeric);
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (Array.isArray(value)) return `[ ${value.map(formatValue).join(', ')} ]`;
  const tag = bsonTypeOf(value);
  if (tag === 'ObjectId') return `ObjectId('${(value as ObjectId).toHexString()}')`;
  if (tag !== undefined || value instanceof RegExp || value instanceof Uint8Array) return String(value);
  return formatKeyValue(value as Document);
}

/**
 * Renders a key the way MongoDB prints it in a duplicate key message: `{ email: "a@b.c" }`.
 *
 * @example
 * ```ts
 * formatKeyValue({ tenantId: 't1', n: 2 }); // '{ tenantId: "t1", n: 2 }'
 * ```
 */
export function formatKeyValue(keyValue: Document): string {
  const parts = Object.entries(keyValue).map(([k, v]) => `${k}: ${formatValue(v)}`);
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}
