import { Long, type Document } from 'bson';
import { compareBsonValues, isPlainDocument } from '../bson-order.js';
import { CommandError, ErrorCode } from '../command-error.js';
import { canonicalKey, collectPathValues } from '../index-key.js';
import { aggregate as runAggregation } from '../aggregation.js';
import { selectDocuments } from '../query-engine.js';
import { matchingDocuments } from './write-commands.js';
import { collectionNameOf, optionalDocument, optionalNumber, type CommandHandler } from './command-context.js';

const find: CommandHandler = (command, context) => {
  const name = collectionNameOf(command, 'find');
  const collection = context.storage.collection(context.databaseName, name);
  const filter = optionalDocument(command, 'filter') ?? {};
  let limit = optionalNumber(command, 'limit');
  let singleBatch = command.singleBatch === true;
  if (limit !== undefined && limit < 0) {
    limit = -limit;
    singleBatch = true;
  }
  const skip = optionalNumber(command, 'skip');
  if (skip !== undefined && skip < 0) throw new CommandError(ErrorCode.BadValue, 'skip value must be non-negative');
  const sort = optionalDocument(command, 'sort');
  const wanted = limit !== undefined && limit > 0 ? (skip ?? 0) + limit : undefined;
  const inOrder = collection && sort ? collection.orderedMatches(filter, sort, wanted) : undefined;
  const documents = collection
    ? selectDocuments(inOrder ?? collection.candidates(filter), filter, {
        sort,
        projection: optionalDocument(command, 'projection'),
        skip,
        limit,
      })
    : [];
  const batchSize = optionalNumber(command, 'batchSize');
  const firstBatchSize = limit !== undefined && limit > 0 && (batchSize === undefined || batchSize > limit) ? limit : batchSize;
  const cursor = context.cursors.open(`${context.databaseName}.${name}`, documents, firstBatchSize, singleBatch);
  return { cursor };
};

const getMore: CommandHandler = (command, context) => {
  const cursorId: unknown = command.getMore;
  if (typeof cursorId !== 'number' && !Long.isLong(cursorId)) {
    throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'getMore.getMore' is the wrong type, expected type 'long'");
  }
  return { cursor: context.cursors.getMore(cursorId, optionalNumber(command, 'batchSize')) };
};

const killCursors: CommandHandler = (command, context) => {
  const ids: unknown = command.cursors;
  if (!Array.isArray(ids)) throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'killCursors.cursors' is missing or not an array");
  const cursorsKilled: Long[] = [];
  const cursorsNotFound: Long[] = [];
  for (const id of ids) {
    const asLong = Long.isLong(id) ? id : Long.fromNumber(Number(id));
    (context.cursors.kill(id) ? cursorsKilled : cursorsNotFound).push(asLong);
  }
  return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [] };
};

const count: CommandHandler = (command, context) => {
  const collection = context.storage.collection(context.databaseName, collectionNameOf(command, 'count'));
  const filter = optionalDocument(command, 'query') ?? {};
  const skip = optionalNumber(command, 'skip') ?? 0;
  const limit = Math.abs(optionalNumber(command, 'limit') ?? 0);
  const matched = Math.max(0, matchingDocuments(collection, filter).length - skip);
  return { n: limit > 0 ? Math.min(limit, matched) : matched };
};

const distinct: CommandHandler = (command, context) => {
  const collection = context.storage.collection(context.databaseName, collectionNameOf(command, 'distinct'));
  const key: unknown = command.key;
  if (typeof key !== 'string') throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'distinct.key' is missing or not a string");
  const values = new Map<string, unknown>();
  for (const document of matchingDocuments(collection, optionalDocument(command, 'query') ?? {})) {
    for (const value of collectPathValues(document, key)) {
      const valueKey = canonicalKey(value);
      if (!values.has(valueKey)) values.set(valueKey, value);
    }
  }
  return { values: [...values.values()].sort(compareBsonValues) };
};

const UNSUPPORTED_STAGES = new Set(['$out', '$merge', '$changeStream', '$currentOp', '$listSessions', '$collStats', '$indexStats']);

/** Rewrites stages mingo handles differently from MongoDB (`$count` yields nothing on empty input). */
function normalizePipeline(pipeline: Document[]): Document[] {
  return pipeline.flatMap((stage): Document[] => {
    const name = Object.keys(stage)[0] ?? '';
    const argument: unknown = stage[name];
    if (UNSUPPORTED_STAGES.has(name)) {
      throw new CommandError(
        ErrorCode.UnrecognizedPipelineStage,
        `Unrecognized pipeline stage name: '${name}' (not supported by the retention wire-compatible development server)`,
      );
    }
    if (name === '$count' && typeof argument === 'string') {
      return [{ $group: { _id: null, [argument]: { $sum: 1 } } }, { $project: { _id: 0 } }];
    }
    if (name === '$facet' && isPlainDocument(argument)) {
      const facets: Document = {};
      for (const [facet, sub] of Object.entries(argument)) facets[facet] = normalizePipeline(sub as Document[]);
      return [{ $facet: facets }];
    }
    if ((name === '$lookup' || name === '$unionWith') && isPlainDocument(argument) && Array.isArray(argument.pipeline)) {
      return [{ [name]: { ...argument, pipeline: normalizePipeline(argument.pipeline as Document[]) } }];
    }
    return [stage];
  });
}

const aggregate: CommandHandler = (command, context) => {
  const pipelineValue: unknown = command.pipeline;
  if (!Array.isArray(pipelineValue) || !pipelineValue.every(isPlainDocument)) {
    throw new CommandError(ErrorCode.TypeMismatch, "'pipeline' option must be specified as an array");
  }
  const cursorOptions = optionalDocument(command, 'cursor');
  if (!cursorOptions && command.explain !== true) {
    throw new CommandError(ErrorCode.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  const pipeline = normalizePipeline(pipelineValue);
  const collections = (name: string) => context.storage.collection(context.databaseName, name);
  const name = command.aggregate === 1 ? '$cmd.aggregate' : collectionNameOf(command, 'aggregate');
  const input = command.aggregate === 1 ? { documents: [] } : { collection: collections(name) };
  const results = runAggregation(pipeline, input, collections);
  const batchSize = cursorOptions ? optionalNumber(cursorOptions, 'batchSize') : undefined;
  return { cursor: context.cursors.open(`${context.databaseName}.${name}`, results, batchSize) };
};

/** find, getMore, killCursors, count, distinct and aggregate. */
export const queryCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
};
