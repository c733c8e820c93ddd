import { ObjectId, type Document } from 'bson';
import { isPlainDocument } from './bson-order.js';
import { CommandError, ErrorCode } from './command-error.js';
import { copyDocument, copyValue, withIdFirst } from './document-copy.js';
import { canonicalKey } from './index-key.js';
import { applyUpdateOperators, runPipeline } from './query-engine.js';

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$rename',
  '$min',
  '$max',
  '$currentDate',
  '$push',
  '$addToSet',
  '$pull',
  '$pullAll',
  '$pop',
  '$bit',
  '$setOnInsert',
]);

const PIPELINE_UPDATE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

/** The three forms of the `u` field of an update statement. */
export type UpdateKind = 'operators' | 'replacement' | 'pipeline';

/** Classifies and validates an update (`u` of an update statement, `update` of findAndModify). */
export function classifyUpdate(update: unknown): UpdateKind {
  if (Array.isArray(update)) {
    for (const stage of update) {
      const name = isPlainDocument(stage) ? Object.keys(stage)[0] : undefined;
      if (name === undefined || !PIPELINE_UPDATE_STAGES.has(name)) {
        throw new CommandError(
          ErrorCode.InvalidOptions,
          `${String(name)} is not allowed to be used within an update; allowed stages: ${[...PIPELINE_UPDATE_STAGES].join(', ')}`,
        );
      }
    }
    return 'pipeline';
  }
  if (!isPlainDocument(update)) throw new CommandError(ErrorCode.FailedToParse, 'Update argument must be either an object or an array');
  const keys = Object.keys(update);
  const operatorKeys = keys.filter((key) => key.startsWith('$'));
  if (operatorKeys.length === 0) return 'replacement';
  for (const key of keys) {
    if (!UPDATE_OPERATORS.has(key)) {
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${key}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
  }
  return 'operators';
}

/** Context of one update: the statement's filter (for the positional `$`) and its array filters. */
export interface UpdateContext {
  filter: Document;
  arrayFilters?: Document[];
}

function checkIdUnchanged(before: Document, after: Document): void {
  if (canonicalKey(before._id) !== canonicalKey(after._id)) {
    throw new CommandError(ErrorCode.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
}

function applyOperatorsOnce(document: Document, operators: Document, context: UpdateContext): void {
  try {
    applyUpdateOperators(document, operators, context.arrayFilters, context.filter);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/immutable field/.test(message)) throw new CommandError(ErrorCode.ImmutableField, message);
    throw error;
  }
}

function applyOperators(document: Document, update: Document, context: UpdateContext, inserting: boolean): void {
  const { $setOnInsert: setOnInsert, ...operators } = update;
  if (Object.keys(operators).length > 0) applyOperatorsOnce(document, operators, context);
  if (inserting && isPlainDocument(setOnInsert)) applyOperatorsOnce(document, { $set: setOnInsert }, context);
}

function applyPipeline(document: Document, pipeline: Document[]): Document {
  const [result] = runPipeline(pipeline, [document]);
  if (!result) throw new CommandError(ErrorCode.BadValue, 'update pipeline produced no document');
  if (!('_id' in result) && '_id' in document) return { _id: document._id, ...result };
  return result;
}

/**
 * Applies an update to a stored document and returns the new version (the stored one is not touched).
 * Throws ImmutableField when the update would change `_id`.
 *
 * @example
 * ```ts
 * applyUpdate({ _id: 1, n: 1 }, { $inc: { n: 1 } }, { filter: { _id: 1 } }); // { _id: 1, n: 2 }
 * ```
 */
export function applyUpdate(current: Document, update: unknown, context: UpdateContext): Document {
  const kind = classifyUpdate(update);
  let next: Document;
  if (kind === 'replacement') {
    next = withIdFirst({ _id: current._id, ...copyDocument(update as Document) });
  } else if (kind === 'pipeline') {
    next = withIdFirst(applyPipeline(copyDocument(current), update as Document[]));
  } else {
    next = copyDocument(current);
    applyOperators(next, update as Document, context, false);
  }
  checkIdUnchanged(current, next);
  return next;
}

function setPath(document: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let target: Document = document;
  for (const part of parts.slice(0, -1)) {
    const existing: unknown = target[part];
    if (isPlainDocument(existing)) target = existing;
    else {
      const created: Document = {};
      target[part] = created;
      target = created;
    }
  }
  target[parts[parts.length - 1] as string] = copyValue(value);
}

/** The document an upsert starts from: the equality conditions of the filter (`{ a: 1 }`, `{ a: { $eq: 1 } }`, `$and`). */
export function upsertSeed(filter: Document): Document {
  const seed: Document = {};
  const visit = (condition: Document): void => {
    for (const [field, value] of Object.entries(condition)) {
      if (field === '$and' && Array.isArray(value)) {
        for (const part of value) if (isPlainDocument(part)) visit(part);
        continue;
      }
      if (field.startsWith('$') || value instanceof RegExp) continue;
      if (isPlainDocument(value)) {
        const keys = Object.keys(value);
        if (keys.some((key) => key.startsWith('$'))) {
          if ('$eq' in value) setPath(seed, field, value.$eq);
          continue;
        }
      }
      setPath(seed, field, value);
    }
  };
  visit(filter);
  return seed;
}

/**
 * Builds the document an upsert inserts: operator and pipeline updates apply to the filter's equality fields
 * (`$setOnInsert` included); a replacement keeps only the filter's `_id`. An `_id` is generated when missing.
 */
export function buildUpsertDocument(update: unknown, context: UpdateContext): Document {
  const kind = classifyUpdate(update);
  const seed = upsertSeed(context.filter);
  let document: Document;
  if (kind === 'replacement') {
    document = copyDocument(update as Document);
    if (!('_id' in document) && '_id' in seed) document = { _id: seed._id, ...document };
  } else if (kind === 'pipeline') {
    document = applyPipeline(seed, update as Document[]);
  } else {
    document = seed;
    // The filter only resolves a positional `$` against a matched document; the seed of an upsert never has to match
    // the filter's other conditions (`{ _id, expiresAt: { $lt: now } }` inserts `{ _id }` and applies the update).
    applyOperators(document, update as Document, { ...context, filter: {} }, true);
    if ('_id' in seed) checkIdUnchanged(seed, document);
  }
  if (!('_id' in document)) document = { _id: new ObjectId(), ...document };
  return withIdFirst(document);
}
