import type { Document } from 'bson';
import { CommandError, ErrorCode } from './command-error.js';
import { MemoryCollection } from './memory-collection.js';

function checkDatabaseName(name: string): void {
  if (name.length === 0 || name.length > 63 || /[/\\. "$\0]/.test(name)) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid database name: '${name}'`);
  }
}

function checkCollectionName(databaseName: string, name: string): void {
  if (name.length === 0 || name.includes('$') || name.includes('\0') || name.startsWith('.')) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid collection name: ${databaseName}.${name}`);
  }
}

/** All databases and collections of a wire server, in memory. A database exists while it holds a collection. */
export class MemoryStorage {
  private readonly databases = new Map<string, Map<string, MemoryCollection>>();

  collection(databaseName: string, name: string): MemoryCollection | undefined {
    return this.databases.get(databaseName)?.get(name);
  }

  /** The collection, created implicitly (as a write does) when missing. */
  collectionForWrite(databaseName: string, name: string): MemoryCollection {
    return this.collection(databaseName, name) ?? this.createCollection(databaseName, name, {});
  }

  /** Creates a collection; throws NamespaceExists when it already exists. */
  createCollection(databaseName: string, name: string, options: Document): MemoryCollection {
    checkDatabaseName(databaseName);
    checkCollectionName(databaseName, name);
    let database = this.databases.get(databaseName);
    if (!database) {
      database = new Map();
      this.databases.set(databaseName, database);
    }
    if (database.has(name)) {
      throw new CommandError(ErrorCode.NamespaceExists, `Collection ${databaseName}.${name} already exists.`);
    }
    const collection = new MemoryCollection(databaseName, name, options);
    database.set(name, collection);
    return collection;
  }

  dropCollection(databaseName: string, name: string): MemoryCollection | undefined {
    const database = this.databases.get(databaseName);
    const collection = database?.get(name);
    database?.delete(name);
    if (database?.size === 0) this.databases.delete(databaseName);
    return collection;
  }

  dropDatabase(databaseName: string): void {
    this.databases.delete(databaseName);
  }

  collections(databaseName: string): MemoryCollection[] {
    return [...(this.databases.get(databaseName)?.values() ?? [])];
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }
}
