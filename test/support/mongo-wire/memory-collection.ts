import { UUID, type Document } from 'bson';
import { isPlainDocument } from './bson-order.js';
import { CommandError, ErrorCode } from './command-error.js';
import { CollectionIndex, duplicateKeyError, ID_INDEX_SPEC, type IndexSpec } from './collection-index.js';
import { canonicalKey } from './index-key.js';

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
    const byId = equalityValue(filter, '_id');
    if (byId) {
      const stored = this.documents.get(canonicalKey(byId.value));
      return stored ? [stored.document] : [];
    }
    for (const index of this.secondaryIndexes) {
      if (!index.coversAllDocuments) continue;
      const values = index.fieldNames.map((field) => equalityValue(filter, field));
      if (values.some((value) => value === undefined)) continue;
      const holders = index.lookup(index.keyForValues(values.map((value) => value?.value)));
      return [...(holders ?? [])]
        .map((idKey) => this.documents.get(idKey))
        .filter((stored): stored is StoredDocument => stored !== undefined)
        .sort((a, b) => a.sequence - b.sequence)
        .map((stored) => stored.document);
    }
    return this.all();
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
    const index = new CollectionIndex(spec);
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
