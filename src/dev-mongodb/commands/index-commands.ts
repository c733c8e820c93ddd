import type { Document } from 'bson';
import { isPlainDocument } from '../bson-order.js';
import { CommandError, ErrorCode } from '../command-error.js';
import type { IndexSpec } from '../collection-index.js';
import { canonicalKey } from '../index-key.js';
import type { MemoryCollection } from '../memory-collection.js';
import { collectionNameOf, documentArray, type CommandContext, type CommandHandler } from './command-context.js';

const COMPARED_OPTIONS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'collation'] as const;

function toIndexSpec(raw: Document): IndexSpec {
  const { key, name, v: _version, ...options } = raw;
  if (!isPlainDocument(key) || Object.keys(key).length === 0) {
    throw new CommandError(ErrorCode.FailedToParse, "The 'key' field of an index specification must be a non-empty object");
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new CommandError(ErrorCode.FailedToParse, "The 'name' field of an index specification must be a non-empty string");
  }
  return { v: 2, key, name, ...options };
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return COMPARED_OPTIONS.every((option) => canonicalKey(a[option] ?? null) === canonicalKey(b[option] ?? null));
}

function existingCollection(context: CommandContext, name: string): MemoryCollection {
  const collection = context.storage.collection(context.databaseName, name);
  if (!collection) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${context.databaseName}.${name}`);
  return collection;
}

const createIndexes: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'createIndexes');
  const specs = documentArray(command, 'indexes').map(toIndexSpec);
  const createdCollectionAutomatically = !context.storage.collection(context.databaseName, name);
  const collection = context.storage.collectionForWrite(context.databaseName, name);
  const numIndexesBefore = collection.indexSpecs().length;
  for (const spec of specs) {
    const existing = collection.indexSpecs().find((index) => index.name === spec.name);
    if (existing) {
      if (canonicalKey(existing.key) === canonicalKey(spec.key) && sameOptions(existing, spec)) continue;
      throw new CommandError(
        ErrorCode.IndexKeySpecsConflict,
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing)}`,
      );
    }
    const sameKey = collection.indexSpecs().find((index) => canonicalKey(index.key) === canonicalKey(spec.key));
    if (sameKey) {
      throw new CommandError(ErrorCode.IndexOptionsConflict, `Index already exists with a different name: ${sameKey.name}`);
    }
    collection.addIndex(spec);
  }
  const numIndexesAfter = collection.indexSpecs().length;
  return {
    numIndexesBefore,
    numIndexesAfter,
    createdCollectionAutomatically,
    ...(numIndexesAfter === numIndexesBefore ? { note: 'all indexes already exist' } : {}),
  };
};

const listIndexes: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'listIndexes');
  const collection = existingCollection(context, name);
  const cursorOptions: unknown = command.cursor;
  const batchSize = isPlainDocument(cursorOptions) && typeof cursorOptions.batchSize === 'number' ? cursorOptions.batchSize : undefined;
  return { cursor: context.cursors.open(`${context.databaseName}.${name}`, collection.indexSpecs(), batchSize) };
};

function indexNamesToDrop(collection: MemoryCollection, target: unknown): string[] {
  if (target === '*')
    return collection
      .indexSpecs()
      .slice(1)
      .map((spec) => spec.name);
  if (typeof target === 'string') return [target];
  if (Array.isArray(target)) return target.map(String);
  if (isPlainDocument(target)) {
    const spec = collection.indexSpecs().find((index) => canonicalKey(index.key) === canonicalKey(target));
    if (!spec) throw new CommandError(ErrorCode.IndexNotFound, `can't find index with key: ${JSON.stringify(target)}`);
    return [spec.name];
  }
  throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'dropIndexes.index' must be a string, an array or an object");
}

const dropIndexes: CommandHandler = (command, context) => {
  const commandName = 'dropIndexes' in command ? 'dropIndexes' : 'deleteIndexes';
  const name = collectionNameOf(command, commandName);
  const collection = existingCollection(context, name);
  const nIndexesWas = collection.indexSpecs().length;
  const names = indexNamesToDrop(collection, command.index);
  for (const indexName of names) {
    if (indexName === '_id_') throw new CommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
    if (!collection.findIndex(indexName)) {
      throw new CommandError(ErrorCode.IndexNotFound, `index not found with name [${indexName}]`);
    }
  }
  for (const indexName of names) collection.dropIndex(indexName);
  return { nIndexesWas };
};

/** createIndexes, listIndexes and dropIndexes; unique indexes are enforced by the collection. */
export const indexCommands: Record<string, CommandHandler> = {
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};
