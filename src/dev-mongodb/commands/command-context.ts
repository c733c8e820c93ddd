import type { Document } from 'bson';
import { isPlainDocument, numericValue } from '../bson-order.js';
import { CommandError, ErrorCode } from '../command-error.js';
import type { CursorRegistry } from '../cursor-registry.js';
import type { MemoryStorage } from '../memory-storage.js';

/** What a command handler receives besides the command document. */
export interface CommandContext {
  /** The `$db` of the command. */
  readonly databaseName: string;
  readonly storage: MemoryStorage;
  readonly cursors: CursorRegistry;
  readonly connectionId: number;
}

/** Runs one command; returns the reply without `ok` (the dispatcher adds it). */
export type CommandHandler = (command: Document, context: CommandContext) => Document;

/** The string value of the command's first field: the collection name of `find`, `insert`… */
export function collectionNameOf(command: Document, commandName: string): string {
  const value: unknown = command[commandName];
  if (typeof value !== 'string' || value.length === 0) {
    throw new CommandError(ErrorCode.InvalidNamespace, `collection name has invalid type ${typeof value}; ${commandName} expects a collection name string`);
  }
  return value;
}

/** An optional embedded document field. */
export function optionalDocument(command: Document, field: string): Document | undefined {
  const value: unknown = command[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainDocument(value)) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is the wrong type, expected type 'object'`);
  }
  return value;
}

/** An optional numeric field (any BSON number type). */
export function optionalNumber(command: Document, field: string): number | undefined {
  const value: unknown = command[field];
  if (value === undefined || value === null) return undefined;
  const numeric = numericValue(value);
  if (numeric === undefined) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is the wrong type, expected a number`);
  }
  return numeric;
}

/** A required array field of documents. */
export function documentArray(command: Document, field: string): Document[] {
  const value: unknown = command[field];
  if (!Array.isArray(value) || !value.every(isPlainDocument)) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is missing or not an array of objects`);
  }
  return value;
}
