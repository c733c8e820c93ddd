import type { Document } from 'bson';
import { CommandError, ErrorCode } from './command-error.js';
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

/**
 * A secondary index: its spec plus a map from index key to the `_id` keys of the documents holding it, so equality
 * lookups and unique checks take a Map lookup instead of a scan. Arrays are indexed per element (multikey).
 */
export class CollectionIndex {
  private readonly entries = new Map<string, Set<string>>();
  private readonly fields: string[];
  private readonly partialFilter: CompiledFilter | undefined;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.partialFilter = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
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
    if (this.spec.sparse === true && perField.every((values) => values.length === 0)) return [];
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

  /** The `_id` keys of documents holding this index key. */
  lookup(key: string): ReadonlySet<string> | undefined {
    return this.entries.get(key);
  }

  /** The first key of `document` already held by another document, when the index is unique. */
  findDuplicate(document: Document, idKey: string): DuplicateKey | undefined {
    if (this.spec.unique !== true) return undefined;
    for (const entry of this.entriesOf(document)) {
      const holders = this.entries.get(entry.key);
      if (holders && [...holders].some((holder) => holder !== idKey)) {
        return { keyPattern: this.spec.key, keyValue: this.keyValue(entry.values) };
      }
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
    for (const entry of this.entriesOf(document)) {
      const holders = this.entries.get(entry.key);
      if (holders) holders.add(idKey);
      else this.entries.set(entry.key, new Set([idKey]));
    }
  }

  remove(idKey: string, document: Document): void {
    for (const entry of this.entriesOf(document)) {
      const holders = this.entries.get(entry.key);
      holders?.delete(idKey);
      if (holders?.size === 0) this.entries.delete(entry.key);
    }
  }
}
