import type { Document } from 'bson';
import { isPlainDocument, numericValue } from './bson-order.js';
import { copyDocument } from './document-copy.js';
import { collectPathValues } from './index-key.js';
import type { MemoryCollection } from './memory-collection.js';
import { compileFilter, runPipeline } from './query-engine.js';

/** Finds a collection of the aggregation's database by name (undefined when it does not exist). */
export type CollectionFinder = (name: string) => MemoryCollection | undefined;

/** Where an aggregation reads from: a stored collection (its indexes can narrow a leading `$match`) or documents. */
export type AggregationInput = { collection: MemoryCollection | undefined } | { documents: Document[] };

/** Stages that only choose, order or count documents (or build new ones): they never change what they are given. */
const SELECTING_STAGES: ReadonlySet<string> = new Set(['$match', '$sort', '$skip', '$limit', '$group', '$count', '$sortByCount']);

/**
 * Runs an aggregation pipeline with MongoDB's semantics, reading as MongoDB does where mingo would not:
 * - a leading `$match` (with a `$sort` and `$limit` after it) is read through the collection's indexes, like `find`;
 * - `$lookup` by `localField`/`foreignField` joins only the foreign documents that match (mingo would hand the whole
 *   foreign collection to a `pipeline` given beside them), and an uncorrelated `$lookup` or a `$unionWith` runs its
 *   sub-pipeline once, its own leading `$match` read through the foreign collection's indexes;
 * - documents are copied before any stage that reshapes them (mingo's `$project` removes excluded fields from the
 *   documents it is given, which would be the stored ones).
 * Every other stage is mingo's. A `$lookup` with `let` is left to mingo.
 */
export function aggregate(pipeline: Document[], input: AggregationInput, collections: CollectionFinder): Document[] {
  const selection = leadingSelection(pipeline, input);
  let documents = selection.documents;
  const rest = selection.rest;
  let segment: Document[] = [];
  const flush = (): void => {
    if (segment.length > 0) documents = runSegment(segment, documents, collections);
    segment = [];
  };
  for (const stage of rest) {
    const name = Object.keys(stage)[0] ?? '';
    const argument: unknown = stage[name];
    if (name === '$unionWith' && isPlainDocument(argument) && typeof argument.coll === 'string') {
      flush();
      const sub = Array.isArray(argument.pipeline) ? (argument.pipeline as Document[]) : [];
      documents = [...documents, ...aggregate(sub, { collection: collections(argument.coll) }, collections)];
      continue;
    }
    if (name === '$lookup' && isPlainDocument(argument) && typeof argument.from === 'string' && typeof argument.as === 'string' && argument.let === undefined) {
      flush();
      documents = lookup(documents, { ...argument, from: argument.from, as: argument.as }, collections);
      continue;
    }
    segment.push(stage);
  }
  flush();
  return documents;
}

interface LookupStage {
  from: string;
  as: string;
  localField?: unknown;
  foreignField?: unknown;
  pipeline?: unknown;
}

/** The documents a pipeline starts from, and the stages left once a leading `$match` (`$sort`, `$limit`) was read. */
function leadingSelection(pipeline: Document[], input: AggregationInput): { documents: Document[]; rest: Document[] } {
  if ('documents' in input) return { documents: input.documents, rest: pipeline };
  const collection = input.collection;
  if (collection === undefined) return { documents: [], rest: pipeline };
  const [first, second, third] = pipeline;
  const match = first !== undefined && isPlainDocument(first.$match) ? first.$match : undefined;
  if (match === undefined) return { documents: collection.all(), rest: pipeline };
  const sort = second !== undefined && isPlainDocument(second.$sort) ? second.$sort : undefined;
  const limit = sort !== undefined && third !== undefined ? numericValue(third.$limit) : undefined;
  const wanted = limit !== undefined && Number.isInteger(limit) && limit > 0 ? limit : undefined;
  const ordered = sort !== undefined ? collection.orderedMatches(match, sort, wanted) : undefined;
  if (ordered !== undefined) {
    return wanted !== undefined ? { documents: ordered.slice(0, wanted), rest: pipeline.slice(3) } : { documents: ordered, rest: pipeline.slice(2) };
  }
  return { documents: collection.candidates(match), rest: pipeline };
}

/** Runs mingo stages: those that only select first, on the documents as they are; the rest on copies. */
function runSegment(stages: Document[], documents: Document[], collections: CollectionFinder): Document[] {
  const resolver = (name: string): Document[] => collections(name)?.all() ?? [];
  const reshaping = stages.findIndex((stage) => !SELECTING_STAGES.has(Object.keys(stage)[0] ?? ''));
  if (reshaping === -1) return runPipeline(stages, documents, resolver);
  const selected = reshaping === 0 ? documents : runPipeline(stages.slice(0, reshaping), documents, resolver);
  return runPipeline(stages.slice(reshaping), selected.map(copyDocument), resolver);
}

function lookup(documents: Document[], stage: LookupStage, collections: CollectionFinder): Document[] {
  const foreign = collections(stage.from);
  const pipeline = Array.isArray(stage.pipeline) ? (stage.pipeline as Document[]) : [];
  if (typeof stage.localField === 'string' && typeof stage.foreignField === 'string') {
    const localField = stage.localField;
    const foreignField = stage.foreignField;
    return documents.map((document) => {
      const values = collectPathValues(document, localField);
      const matched = foreign === undefined ? [] : equalMatches(foreign, foreignField, values.length === 0 ? [null] : values);
      return { ...document, [stage.as]: aggregate(pipeline, { documents: matched }, collections) };
    });
  }
  const joined = aggregate(pipeline, { collection: foreign }, collections);
  return documents.map((document) => ({ ...document, [stage.as]: joined }));
}

/** The foreign documents whose `field` equals one of `values` (or holds one in an array); MongoDB promises no order. */
function equalMatches(foreign: MemoryCollection, field: string, values: unknown[]): Document[] {
  const filter = compileFilter({ [field]: { $in: values } });
  const scalar = values.every((value) => typeof value === 'string' || numericValue(value) !== undefined);
  if (!scalar) return foreign.all().filter((document) => filter.test(document));
  const found = new Set<Document>();
  for (const value of values) for (const document of foreign.candidates({ [field]: value })) if (filter.test(document)) found.add(document);
  return [...found];
}
