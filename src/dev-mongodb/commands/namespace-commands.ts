import type { Document } from 'bson';
import { isPlainDocument } from '../bson-order.js';
import { CommandError, ErrorCode } from '../command-error.js';
import { canonicalKey } from '../index-key.js';
import { ID_INDEX_SPEC } from '../collection-index.js';
import type { MemoryCollection } from '../memory-collection.js';
import { selectDocuments } from '../query-engine.js';
import { collectionNameOf, optionalDocument, type CommandHandler } from './command-context.js';

const COMMAND_ENVELOPE_FIELDS = new Set([
  'create',
  '$db',
  'lsid',
  '$clusterTime',
  'txnNumber',
  'writeConcern',
  '$readPreference',
  'comment',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
]);

function collectionInfo(collection: MemoryCollection): Document {
  return {
    name: collection.name,
    type: 'collection',
    options: collection.options,
    info: { readOnly: false, uuid: collection.uuid },
    idIndex: ID_INDEX_SPEC,
  };
}

function approximateSize(collection: MemoryCollection): number {
  return collection.size * 256;
}

const listCollections: CommandHandler = (command, context) => {
  const filter = optionalDocument(command, 'filter') ?? {};
  const infos = context.storage.collections(context.databaseName).map(collectionInfo);
  let selected = selectDocuments(infos, filter);
  if (command.nameOnly === true) selected = selected.map((info) => ({ name: info.name, type: info.type }));
  const cursorOptions: unknown = command.cursor;
  const batchSize = isPlainDocument(cursorOptions) && typeof cursorOptions.batchSize === 'number' ? cursorOptions.batchSize : undefined;
  return { cursor: context.cursors.open(`${context.databaseName}.$cmd.listCollections`, selected, batchSize) };
};

const listDatabases: CommandHandler = (command, context) => {
  const databases = context.storage.databaseNames().map((name) => {
    const sizeOnDisk = context.storage.collections(name).reduce((sum, collection) => sum + approximateSize(collection), 0);
    return { name, sizeOnDisk, empty: sizeOnDisk === 0 };
  });
  const selected = selectDocuments(databases, optionalDocument(command, 'filter') ?? {});
  if (command.nameOnly === true) return { databases: selected.map((database) => ({ name: database.name })) };
  const totalSize = selected.reduce((sum, database) => sum + Number(database.sizeOnDisk), 0);
  return { databases: selected, totalSize, totalSizeMb: Math.round(totalSize / 1048576) };
};

const create: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'create');
  const options: Document = {};
  for (const [key, value] of Object.entries(command)) if (!COMMAND_ENVELOPE_FIELDS.has(key)) options[key] = value;
  const existing = context.storage.collection(context.databaseName, name);
  if (existing && canonicalKey(existing.options) === canonicalKey(options)) return {};
  context.storage.createCollection(context.databaseName, name, options);
  return {};
};

const drop: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'drop');
  const dropped = context.storage.dropCollection(context.databaseName, name);
  const namespace = `${context.databaseName}.${name}`;
  return dropped ? { nIndexesWas: dropped.indexSpecs().length, ns: namespace } : {};
};

const dropDatabase: CommandHandler = (_command, context) => {
  context.storage.dropDatabase(context.databaseName);
  return { dropped: context.databaseName };
};

const dbStats: CommandHandler = (_command, context) => {
  const collections = context.storage.collections(context.databaseName);
  const objects = collections.reduce((sum, collection) => sum + collection.size, 0);
  const dataSize = collections.reduce((sum, collection) => sum + approximateSize(collection), 0);
  return {
    db: context.databaseName,
    collections: collections.length,
    views: 0,
    objects,
    avgObjSize: objects === 0 ? 0 : dataSize / objects,
    dataSize,
    storageSize: dataSize,
    indexes: collections.reduce((sum, collection) => sum + collection.indexSpecs().length, 0),
    indexSize: 0,
    scaleFactor: 1,
  };
};

const collStats: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'collStats');
  const collection = context.storage.collection(context.databaseName, name);
  if (!collection) throw new CommandError(ErrorCode.NamespaceNotFound, `Collection [${context.databaseName}.${name}] not found.`);
  const size = approximateSize(collection);
  return {
    ns: collection.namespace,
    count: collection.size,
    size,
    avgObjSize: collection.size === 0 ? 0 : size / collection.size,
    storageSize: size,
    nindexes: collection.indexSpecs().length,
    totalIndexSize: 0,
    scaleFactor: 1,
  };
};

/** listCollections, listDatabases, create, drop, dropDatabase, dbStats and collStats. Sizes are estimates. */
export const namespaceCommands: Record<string, CommandHandler> = {
  listCollections,
  listDatabases,
  create,
  drop,
  dropDatabase,
  dbStats,
  collStats,
};
