import { ObjectId, serialize, type Document } from 'bson';
import { CommandError, ErrorCode, toCommandError } from '../command-error.js';
import { withIdFirst } from '../document-copy.js';
import type { MemoryCollection } from '../memory-collection.js';
import { compileFilter } from '../query-engine.js';
import { applyUpdate, buildUpsertDocument, classifyUpdate } from '../update-application.js';
import { MAX_WRITE_BATCH_SIZE } from './handshake-commands.js';
import { collectionNameOf, documentArray, optionalDocument, optionalNumber, type CommandContext, type CommandHandler } from './command-context.js';

/** Runs `statements` one by one, collecting write errors; `ordered` stops at the first error. */
function runStatements(command: Document, field: string, run: (statement: Document, index: number) => void): Document[] {
  const statements = documentArray(command, field);
  if (statements.length > MAX_WRITE_BATCH_SIZE) {
    throw new CommandError(ErrorCode.InvalidOptions, `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${statements.length} operations.`);
  }
  const ordered = command.ordered !== false;
  const writeErrors: Document[] = [];
  for (const [index, statement] of statements.entries()) {
    try {
      run(statement, index);
    } catch (error) {
      writeErrors.push(toCommandError(error).toWriteError(index));
      if (ordered) break;
    }
  }
  return writeErrors;
}

function withWriteErrors(reply: Document, writeErrors: Document[]): Document {
  return writeErrors.length > 0 ? { ...reply, writeErrors } : reply;
}

/** Matching documents of a filter, in natural order. */
export function matchingDocuments(collection: MemoryCollection | undefined, filter: Document): Document[] {
  if (!collection) return [];
  const compiled = compileFilter(filter);
  return collection.candidates(filter).filter((document) => compiled.test(document));
}

/** True when two versions of a document differ, byte for byte, as BSON. */
export function documentChanged(before: Document, after: Document): boolean {
  return !Buffer.from(serialize(before)).equals(Buffer.from(serialize(after)));
}

function prepareInsert(document: Document): Document {
  if (!('_id' in document)) return { _id: new ObjectId(), ...document };
  if (Array.isArray(document._id)) {
    throw new CommandError(ErrorCode.BadValue, "The '_id' value cannot be of type array");
  }
  return withIdFirst(document);
}

const insert: CommandHandler = (command, context) => {
  const collection = context.storage.collectionForWrite(context.databaseName, collectionNameOf(command, 'insert'));
  let n = 0;
  const writeErrors = runStatements(command, 'documents', (document) => {
    collection.insert(prepareInsert(document));
    n += 1;
  });
  return withWriteErrors({ n }, writeErrors);
};

/** Applies one update statement; returns matched, modified and the upserted `_id` if any. */
export function runUpdateStatement(collection: MemoryCollection, statement: Document): { matched: number; modified: number; upsertedId?: unknown } {
  const filter = optionalDocument(statement, 'q') ?? {};
  const update: unknown = statement.u;
  const kind = classifyUpdate(update);
  const multi = statement.multi === true;
  if (multi && kind === 'replacement') {
    throw new CommandError(ErrorCode.FailedToParse, 'multi update is not supported for replacement-style update');
  }
  const arrayFilters = Array.isArray(statement.arrayFilters) ? (statement.arrayFilters as Document[]) : undefined;
  const matches = matchingDocuments(collection, filter);
  const targets = multi ? matches : matches.slice(0, 1);
  let modified = 0;
  for (const current of targets) {
    const next = applyUpdate(current, update, { filter, arrayFilters });
    if (documentChanged(current, next)) {
      collection.replace(current, next);
      modified += 1;
    }
  }
  if (targets.length > 0 || statement.upsert !== true) return { matched: targets.length, modified };
  const inserted = buildUpsertDocument(update, { filter, arrayFilters });
  collection.insert(inserted);
  return { matched: 0, modified: 0, upsertedId: inserted._id };
}

const update: CommandHandler = (command, context) => {
  const collection = context.storage.collectionForWrite(context.databaseName, collectionNameOf(command, 'update'));
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors = runStatements(command, 'updates', (statement, index) => {
    const result = runUpdateStatement(collection, statement);
    n += result.matched;
    nModified += result.modified;
    if (result.upsertedId !== undefined) {
      n += 1;
      upserted.push({ index, _id: result.upsertedId });
    }
  });
  return withWriteErrors({ n, nModified, ...(upserted.length > 0 ? { upserted } : {}) }, writeErrors);
};

function deleteStatement(collection: MemoryCollection | undefined, statement: Document): number {
  const filter = optionalDocument(statement, 'q') ?? {};
  const limit = optionalNumber(statement, 'limit') ?? 0;
  if (limit !== 0 && limit !== 1) {
    throw new CommandError(ErrorCode.FailedToParse, `The limit field in delete objects must be 0 or 1. Got ${limit}`);
  }
  const matches = matchingDocuments(collection, filter);
  const targets = limit === 1 ? matches.slice(0, 1) : matches;
  for (const document of targets) collection?.remove(document);
  return targets.length;
}

const deleteCommand: CommandHandler = (command, context: CommandContext) => {
  const collection = context.storage.collection(context.databaseName, collectionNameOf(command, 'delete'));
  let n = 0;
  const writeErrors = runStatements(command, 'deletes', (statement) => {
    n += deleteStatement(collection, statement);
  });
  return withWriteErrors({ n }, writeErrors);
};

/** insert, update and delete with MongoDB's batch semantics (`ordered`, `writeErrors`, `upserted`). */
export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: deleteCommand,
};
