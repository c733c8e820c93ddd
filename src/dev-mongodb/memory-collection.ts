import { UUID, type Document } from 'bson';
import { isPlainDocument, numericValue } from './bson-order.js';
import { CommandError, ErrorCode } from './command-error.js';
import { CollectionIndex, duplicateKeyError, ID_INDEX_SPEC, type IndexSpec, type OrderedIndexEntry } from './collection-index.js';
import { canonicalKey } from './index-key.js';
import { compileFilter } from './query-engine.js';

interface StoredDocument {
  document: Document;
  sequence: number;
}

function equalityValue(filter: Document, field: string): { value: unknown } | undefined {
  if (!(field in filter)) return undefined;
  const condition: unknown = filter[field];
  if (Array.isArray(condition) || condition instanceof RegExp) return undefined;
  if (isPlainDocument(condition)) {
    const keys = Object.keys(condition);
    if (keys.some((key) => key.startsWith('$'))) {
      if (keys.length !== 1 || keys[0] !== '$eq') return undefined;
      const value: unknown = condition.$eq;
      return Array.isArray(value) || value instanceof RegExp ? undefined : { value };
    }
  }
  return { value: condition };
}

/**
 * The equality conditions a document must meet to match `filter`: its top-level fields and those of its `$and`
 * clauses (nested `$and` included). When a field has several, any one of them narrows the candidates soundly.
 */
function equalityConditions(filter: Document): Map<string, { value: unknown }> {
  const conditions = new Map<string, { value: unknown }>();
  const visit = (clause: Document): void => {
    for (const field of Object.keys(clause)) {
      if (field === '$and' && Array.isArray(clause.$and)) {
        for (const nested of clause.$and as unknown[]) if (isPlainDocument(nested)) visit(nested);
        continue;
      }
      if (field.startsWith('$') || conditions.has(field)) continue;
      const equality = equalityValue(clause, field);
      if (equality) conditions.set(field, equality);
    }
  };
  visit(filter);
  return conditions;
}

/** A sort specification as fields and directions, or undefined when it is not a plain 1/-1 sort. */
function sortFields(sort: Document): { fields: string[]; directions: (1 | -1)[] } | undefined {
  const fields: string[] = [];
  const directions: (1 | -1)[] = [];
  for (const [field, direction] of Object.entries(sort)) {
    if (field === '$natural') return undefined;
    const value = numericValue(direction);
    if (value !== 1 && value !== -1) return undefined;
    fields.push(field);
    directions.push(value);
  }
  return fields.length > 0 ? { fields, directions } : undefined;
}

/**
 * The documents of one collection, kept in insertion (natural) order and keyed by `_id`, with its indexes.
 * Stored documents are never mutated: updates replace them, so cursors hold consistent snapshots.
 */
export class MemoryCollection {
  readonly uuid = new UUID();
  private readonly documents = new Map<string, StoredDocument>();
  private readonly secondaryIndexes: CollectionIndex[] = [];
  private sequence = 0;

  constructor(
    readonly databaseName: string,
    readonly name: string,
    readonly options: Document = {},
  ) {}

  get namespace(): string {
    return `${this.databaseName}.${this.name}`;
  }

  get size(): number {
    return this.documents.size;
  }

  /** All documents in natural order. */
  all(): Document[] {
    return [...this.documents.values()].map((stored) => stored.document);
  }

  private *indexedDocuments(): Generator<[string, Document]> {
    for (const [idKey, stored] of this.documents) yield [idKey, stored.document];
  }

  /** `listIndexes` specs, `_id_` first. */
  indexSpecs(): IndexSpec[] {
    return [ID_INDEX_SPEC, ...this.secondaryIndexes.map((index) => index.spec)];
  }

  findIndex(name: string): CollectionIndex | undefined {
    return this.secondaryIndexes.find((index) => index.name === name);
  }

  /**
   * A superset of the documents matching `filter`, narrowed by `_id` or by an index when the filter holds an
   * equality on every field of one; the caller still applies the full filter.
   */
  candidates(filter: Document): Document[] {
    const equalities = equalityConditions(filter);
    const byId = equalities.get('_id');
    if (byId) {
      const stored = this.documents.get(canonicalKey(byId.value));
      return stored ? [stored.document] : [];
    }
    for (const index of this.secondaryIndexes) {
      if (!index.coversAllDocuments) continue;
      const values = index.fieldNames.map((field) => equalities.get(field));
      if (values.some((value) => value === undefined)) continue;
      const holders = index.lookup(index.keyForValues(values.map((value) => value?.value)));
      return holders
        .map((idKey) => this.documents.get(idKey))
        .filter((stored): stored is StoredDocument => stored !== undefined)
        .sort((a, b) => a.sequence - b.sequence)
        .map((stored) => stored.document);
    }
    return this.all();
  }

  /**
   * The documents matching `filter` in `sort` order, read from an index whose fields are equalities of the filter
   * followed by exactly the sort's fields (in the index's directions or all reversed), as MongoDB does for an
   * indexed sort: walks that range of the index (the one with the most equalities) and stops once `wanted`
   * documents matched. Only for a total order (the index ends in `_id` or is unique) on fields that never held
   * arrays, so the result is the one a full sort gives. Undefined when no index fits or the filter names an `_id`
   * (the caller then filters and sorts the candidates).
   *
   * @example
   * ```ts
   * collection.orderedMatches({ chatId: 'c1' }, { seq: 1, _id: 1 }, 101); // via an index { chatId: 1, seq: 1, _id: 1 }
   * ```
   */
  orderedMatches(filter: Document, sort: Document, wanted: number | undefined): Document[] | undefined {
    const order = sortFields(sort);
    const equalities = equalityConditions(filter);
    if (!order || equalities.has('_id')) return undefined;
    let best: { index: CollectionIndex; equal: number; forward: boolean } | undefined;
    for (const index of this.secondaryIndexes) {
      const directions = index.directions;
      const fields = index.fieldNames;
      if (!index.coversAllDocuments || !directions || !(fields.at(-1) === '_id' || index.spec.unique === true)) continue;
      const equal = fields.length - order.fields.length;
      if (equal < 0 || (best !== undefined && best.equal >= equal)) continue;
      if (!fields.slice(0, equal).every((field) => equalities.has(field))) continue;
      if (!order.fields.every((field, i) => fields[equal + i] === field)) continue;
      const forward = order.directions.every((direction, i) => direction === directions[equal + i]);
      const backward = order.directions.every((direction, i) => direction === -(directions[equal + i] as number));
      if (forward || backward) best = { index, equal, forward };
    }
    if (!best) return undefined;
    const { index, equal, forward } = best;
    const entries = index.orderedEntries();
    if (order.fields.some((_field, i) => index.isMultikey(equal + i))) return undefined;
    const prefixValues = index.fieldNames.slice(0, equal).map((field) => equalities.get(field)?.value);
    return this.walkIndex(index, entries, prefixValues, forward, filter, wanted);
  }

  private walkIndex(
    index: CollectionIndex,
    entries: readonly OrderedIndexEntry[],
    prefix: unknown[],
    forward: boolean,
    filter: Document,
    wanted: number | undefined,
  ): Document[] {
    const bound = (strict: boolean): number => {
      let low = 0;
      let high = entries.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const order = index.compareValues((entries[middle] as OrderedIndexEntry).values, prefix, prefix.length);
        if (order < 0 || (strict && order === 0)) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    const start = bound(false);
    const end = bound(true);
    const compiled = compileFilter(filter);
    const seen = new Set<string>();
    const matches: Document[] = [];
    for (let i = forward ? start : end - 1; forward ? i < end : i >= start; i += forward ? 1 : -1) {
      const idKey = (entries[i] as OrderedIndexEntry).idKey;
      if (seen.has(idKey)) continue;
      seen.add(idKey);
      const document = this.documents.get(idKey)?.document;
      if (document === undefined || !compiled.test(document)) continue;
      matches.push(document);
      if (wanted !== undefined && matches.length >= wanted) break;
    }
    return matches;
  }

  private checkUnique(document: Document, idKey: string): void {
    for (const index of this.secondaryIndexes) {
      const duplicate = index.findDuplicate(document, idKey);
      if (duplicate) throw duplicateKeyError(this.namespace, index.name, duplicate);
    }
  }

  /** Stores a new document (which must have an `_id`); throws E11000 on a duplicate `_id` or unique key. */
  insert(document: Document): void {
    const idKey = canonicalKey(document._id);
    if (this.documents.has(idKey)) {
      throw duplicateKeyError(this.namespace, '_id_', { keyPattern: { _id: 1 }, keyValue: { _id: document._id } });
    }
    this.checkUnique(document, idKey);
    this.documents.set(idKey, { document, sequence: (this.sequence += 1) });
    for (const index of this.secondaryIndexes) index.add(idKey, document);
  }

  /** Replaces a stored document by a new version with the same `_id`; throws E11000 on a unique key clash. */
  replace(current: Document, next: Document): void {
    const idKey = canonicalKey(current._id);
    const stored = this.documents.get(idKey);
    if (!stored) throw new CommandError(ErrorCode.InternalError, `document ${idKey} vanished from ${this.namespace}`);
    this.checkUnique(next, idKey);
    for (const index of this.secondaryIndexes) {
      index.remove(idKey, stored.document);
      index.add(idKey, next);
    }
    stored.document = next;
  }

  remove(document: Document): void {
    const idKey = canonicalKey(document._id);
    const stored = this.documents.get(idKey);
    if (!stored) return;
    for (const index of this.secondaryIndexes) index.remove(idKey, stored.document);
    this.documents.delete(idKey);
  }

  /** Builds and adds an index; a unique index over existing duplicates fails with E11000 and is not added. */
  addIndex(spec: IndexSpec): void {
    const index = new CollectionIndex(spec, () => this.indexedDocuments());
    for (const [idKey, stored] of this.documents) {
      const duplicate = index.findDuplicate(stored.document, idKey);
      if (duplicate) {
        const error = duplicateKeyError(this.namespace, spec.name, duplicate);
        throw new CommandError(ErrorCode.DuplicateKey, `Index build failed: ${error.message}`, error.details);
      }
      index.add(idKey, stored.document);
    }
    this.secondaryIndexes.push(index);
  }

  dropIndex(name: string): void {
    const position = this.secondaryIndexes.findIndex((index) => index.name === name);
    if (position >= 0) this.secondaryIndexes.splice(position, 1);
  }
}
