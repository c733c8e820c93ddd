import type { Document } from 'bson';
import { CommandError, ErrorCode } from './command-error.js';
import { compareBsonValues, numericValue } from './bson-order.js';
import { canonicalKey, collectPathValues, formatKeyValue } from './index-key.js';
import { compileFilter, type CompiledFilter } from './query-engine.js';

/** An index as `listIndexes` reports it. */
export interface IndexSpec extends Document {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

/** The `_id_` index every collection has. */
export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

interface IndexEntry {
  key: string;
  values: unknown[];
}

/** One key of an index in its order: the indexed values and the `_id` key of the document holding them. */
export interface OrderedIndexEntry {
  values: readonly unknown[];
  idKey: string;
}

/** Pending entries merged one by one (binary insertion) up to this many; more are sorted and merged in one pass. */
const INCREMENTAL_MERGE_LIMIT = 64;

/** A duplicate key found by a unique index. */
export interface DuplicateKey {
  keyPattern: Document;
  keyValue: Document;
}

/** Builds the E11000 error MongoDB answers for a duplicate key. */
export function duplicateKeyError(namespace: string, indexName: string, duplicate: DuplicateKey): CommandError {
  return new CommandError(
    ErrorCode.DuplicateKey,
    `E11000 duplicate key error collection: ${namespace} index: ${indexName} dup key: ${formatKeyValue(duplicate.keyValue)}`,
    { keyPattern: duplicate.keyPattern, keyValue: duplicate.keyValue },
  );
}

/** The documents an index covers, as `[_id key, document]` pairs (the collection's current contents). */
export type IndexedDocuments = () => Iterable<[string, Document]>;

/**
 * A secondary index: its spec plus a map from index key to the `_id` keys of the documents holding it, so equality
 * lookups and unique checks take a Map lookup instead of a scan, and the keys in index order for sorted reads.
 * Arrays are indexed per element (multikey). A unique index keeps its map from the start; other indexes build
 * their map and their order from the documents on first use and keep them up to date from then on, so bulk
 * loads into collections that are not read yet stay cheap.
 */
export class CollectionIndex {
  /** Index key → the `_id` key holding it (most keys have one holder) or the set of them. */
  private keyMap: Map<string, string | Set<string>> | undefined;
  private readonly fields: string[];
  private readonly partialFilter: CompiledFilter | undefined;
  private readonly fieldDirections: (1 | -1)[] | undefined;
  /** The keys in index order, built on the first ordered read and then kept up to date. */
  private ordered: OrderedIndexEntry[] | undefined;
  /** Keys added since the last ordered read, merged into {@link ordered} on the next one. */
  private unmerged: OrderedIndexEntry[] = [];
  /** Positions of fields that held several values in some indexed document (multikey), never cleared. */
  private readonly multikey = new Set<number>();

  constructor(
    readonly spec: IndexSpec,
    private readonly documents: IndexedDocuments,
  ) {
    this.fields = Object.keys(spec.key);
    const directions = Object.values(spec.key).map((direction) => numericValue(direction));
    this.fieldDirections = directions.every((d) => d === 1 || d === -1) ? (directions as (1 | -1)[]) : undefined;
    this.partialFilter = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
    if (spec.unique === true) this.keyMap = new Map();
  }

  get name(): string {
    return this.spec.name;
  }

  get fieldNames(): readonly string[] {
    return this.fields;
  }

  /** True when every document has an entry, so an equality lookup finds all matches. */
  get coversAllDocuments(): boolean {
    return this.spec.sparse !== true && this.partialFilter === undefined;
  }

  private entriesOf(document: Document): IndexEntry[] {
    if (this.partialFilter && !this.partialFilter.test(document)) return [];
    const perField = this.fields.map((field) => collectPathValues(document, field));
    let single = true;
    perField.forEach((values, position) => {
      if (values.length > 1) {
        this.multikey.add(position);
        single = false;
      }
    });
    if (this.spec.sparse === true && perField.every((values) => values.length === 0)) return [];
    if (single) {
      const values = perField.map((fieldValues) => (fieldValues.length === 0 ? null : fieldValues[0]));
      return [{ key: values.map(canonicalKey).join('|'), values }];
    }
    let tuples: unknown[][] = [[]];
    for (const values of perField) {
      const choices = values.length === 0 ? [null] : values;
      tuples = tuples.flatMap((tuple) => choices.map((value) => [...tuple, value]));
    }
    const seen = new Map<string, IndexEntry>();
    for (const values of tuples) {
      const key = values.map(canonicalKey).join('|');
      if (!seen.has(key)) seen.set(key, { key, values });
    }
    return [...seen.values()];
  }

  /** The index key for equality values of every indexed field, in the format used by {@link lookup}. */
  keyForValues(values: readonly unknown[]): string {
    return values.map(canonicalKey).join('|');
  }

  private keys(): Map<string, string | Set<string>> {
    if (!this.keyMap) {
      this.keyMap = new Map();
      for (const [idKey, document] of this.documents()) this.addKeys(this.keyMap, idKey, this.entriesOf(document));
    }
    return this.keyMap;
  }

  private addKeys(map: Map<string, string | Set<string>>, idKey: string, entries: IndexEntry[]): void {
    for (const entry of entries) {
      const holders = map.get(entry.key);
      if (holders === undefined) map.set(entry.key, idKey);
      else if (typeof holders !== 'string') holders.add(idKey);
      else if (holders !== idKey) map.set(entry.key, new Set([holders, idKey]));
    }
  }

  /** The `_id` keys of documents holding this index key. */
  lookup(key: string): readonly string[] {
    const holders = this.keys().get(key);
    return holders === undefined ? [] : typeof holders === 'string' ? [holders] : [...holders];
  }

  /** The first key of `document` already held by another document, when the index is unique. */
  findDuplicate(document: Document, idKey: string): DuplicateKey | undefined {
    if (this.spec.unique !== true) return undefined;
    for (const entry of this.entriesOf(document)) {
      const holders = this.keys().get(entry.key);
      const other = holders === undefined ? false : typeof holders === 'string' ? holders !== idKey : [...holders].some((holder) => holder !== idKey);
      if (other) return { keyPattern: this.spec.key, keyValue: this.keyValue(entry.values) };
    }
    return undefined;
  }

  private keyValue(values: unknown[]): Document {
    const keyValue: Document = {};
    this.fields.forEach((field, i) => {
      keyValue[field] = values[i] ?? null;
    });
    return keyValue;
  }

  add(idKey: string, document: Document): void {
    if (!this.keyMap && !this.ordered) return;
    const entries = this.entriesOf(document);
    if (this.keyMap) this.addKeys(this.keyMap, idKey, entries);
    if (this.ordered) for (const entry of entries) this.unmerged.push({ values: entry.values, idKey });
  }

  remove(idKey: string, document: Document): void {
    if (!this.keyMap && !this.ordered) return;
    for (const entry of this.entriesOf(document)) {
      const holders = this.keyMap?.get(entry.key);
      if (holders === idKey) this.keyMap?.delete(entry.key);
      else if (typeof holders === 'object') {
        holders.delete(idKey);
        if (holders.size === 0) this.keyMap?.delete(entry.key);
      }
      if (this.ordered) this.removeOrdered({ values: entry.values, idKey });
    }
  }

  /**
   * True when the field at `position` held several values in some indexed document (arrays make an index
   * multikey). Known once the index's map or order is built.
   */
  isMultikey(position: number): boolean {
    return this.multikey.has(position);
  }

  /** Directions of the indexed fields (1 or -1), or undefined for special indexes (text, geo, hashed). */
  get directions(): readonly (1 | -1)[] | undefined {
    return this.fieldDirections;
  }

  /**
   * Compares the first `length` values of two keys in index order (each field's direction applied), as a B-tree
   * would order them.
   */
  compareValues(a: readonly unknown[], b: readonly unknown[], length: number): number {
    const directions = this.fieldDirections ?? [];
    for (let i = 0; i < length; i += 1) {
      const order = compareBsonValues(a[i] ?? null, b[i] ?? null);
      if (order !== 0) return order * (directions[i] ?? 1);
    }
    return 0;
  }

  private compareEntries(a: OrderedIndexEntry, b: OrderedIndexEntry): number {
    return this.compareValues(a.values, b.values, this.fields.length) || (a.idKey < b.idKey ? -1 : a.idKey > b.idKey ? 1 : 0);
  }

  /** Position of the first entry of `list` not before `entry`. */
  private insertionPoint(list: readonly OrderedIndexEntry[], entry: OrderedIndexEntry): number {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareEntries(list[middle] as OrderedIndexEntry, entry) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private removeOrdered(entry: OrderedIndexEntry): void {
    const pending = this.unmerged.findIndex((e) => e.idKey === entry.idKey && this.compareEntries(e, entry) === 0);
    if (pending >= 0) {
      this.unmerged.splice(pending, 1);
      return;
    }
    const list = this.ordered ?? [];
    const position = this.insertionPoint(list, entry);
    const found = list[position];
    if (found !== undefined && this.compareEntries(found, entry) === 0) list.splice(position, 1);
  }

  /**
   * Every key of the index in index order (ties by `_id` key), for ordered reads (sort by the index, walk a range
   * of it). Built from the documents on the first call; later calls merge the keys added meanwhile.
   */
  orderedEntries(): readonly OrderedIndexEntry[] {
    if (!this.ordered) {
      const built: OrderedIndexEntry[] = [];
      for (const [idKey, document] of this.documents()) {
        for (const entry of this.entriesOf(document)) built.push({ values: entry.values, idKey });
      }
      this.ordered = built.sort((a, b) => this.compareEntries(a, b));
      this.unmerged = [];
      return this.ordered;
    }
    if (this.unmerged.length > 0) {
      const pending = this.unmerged;
      this.unmerged = [];
      if (pending.length <= INCREMENTAL_MERGE_LIMIT) {
        for (const entry of pending) this.ordered.splice(this.insertionPoint(this.ordered, entry), 0, entry);
      } else {
        pending.sort((a, b) => this.compareEntries(a, b));
        const merged: OrderedIndexEntry[] = [];
        let i = 0;
        let j = 0;
        while (i < this.ordered.length || j < pending.length) {
          const left = this.ordered[i];
          const right = pending[j];
          if (right === undefined || (left !== undefined && this.compareEntries(left, right) <= 0)) {
            merged.push(left as OrderedIndexEntry);
            i += 1;
          } else {
            merged.push(right);
            j += 1;
          }
        }
        this.ordered = merged;
      }
    }
    return this.ordered;
  }
}
