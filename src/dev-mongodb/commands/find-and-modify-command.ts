import type { Document } from 'bson';
import { CommandError, ErrorCode } from '../command-error.js';
import { selectDocuments } from '../query-engine.js';
import { applyUpdate, buildUpsertDocument } from '../update-application.js';
import { documentChanged } from './write-commands.js';
import { collectionNameOf, optionalDocument, type CommandHandler } from './command-context.js';

function project(document: Document | null, fields: Document | undefined): Document | null {
  if (!document || !fields || Object.keys(fields).length === 0) return document;
  return selectDocuments([document], {}, { projection: fields })[0] ?? null;
}

const findAndModify: CommandHandler = (command, context) => {
  const commandName = 'findAndModify' in command ? 'findAndModify' : 'findandmodify';
  const collection = context.storage.collectionForWrite(context.databaseName, collectionNameOf(command, commandName));
  const filter = optionalDocument(command, 'query') ?? {};
  const fields = optionalDocument(command, 'fields');
  const remove = command.remove === true;
  const update: unknown = command.update;
  if (remove && update !== undefined) {
    throw new CommandError(ErrorCode.FailedToParse, 'Cannot specify both an update and remove=true');
  }
  if (!remove && update === undefined) {
    throw new CommandError(ErrorCode.FailedToParse, 'Either an update or remove=true must be specified');
  }
  if (remove && command.upsert === true) {
    throw new CommandError(ErrorCode.FailedToParse, 'Cannot specify both upsert=true and remove=true');
  }
  const sort = optionalDocument(command, 'sort');
  const [current] = selectDocuments(collection.candidates(filter), filter, { sort, limit: 1 });
  const arrayFilters = Array.isArray(command.arrayFilters) ? (command.arrayFilters as Document[]) : undefined;
  const returnNew = command.new === true;

  if (remove) {
    if (current) collection.remove(current);
    return { lastErrorObject: { n: current ? 1 : 0 }, value: project(current ?? null, fields) };
  }
  if (current) {
    const next = applyUpdate(current, update, { filter, arrayFilters });
    if (documentChanged(current, next)) collection.replace(current, next);
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(returnNew ? next : current, fields),
    };
  }
  if (command.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  const inserted = buildUpsertDocument(update, { filter, arrayFilters });
  collection.insert(inserted);
  return {
    lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted._id },
    value: returnNew ? project(inserted, fields) : null,
  };
};

/** findAndModify (driver: findOneAndUpdate, findOneAndReplace, findOneAndDelete). */
export const findAndModifyCommands: Record<string, CommandHandler> = {
  findAndModify,
  findandmodify: findAndModify,
};
