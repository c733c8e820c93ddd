import type { Document } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { Context, evalExpr } from 'mingo/core';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import { copyDocument } from './document-copy.js';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Query } from 'mingo/query';
import type { AnyObject, Options } from 'mingo/types';
import { update } from 'mingo/updater';
import { compareBsonValues } from './bson-order.js';
import { CommandError, ErrorCode } from './command-error.js';

type ExpressionFunction = (obj: AnyObject, expr: unknown, options: Options) => unknown;

function comparison(name: string, accept: (order: number) => boolean): ExpressionFunction {
  return (obj, expr, options) => {
    const args: unknown = evalExpr(obj, expr, options);
    if (!Array.isArray(args) || args.length !== 2) {
      throw new CommandError(ErrorCode.BadValue, `Expression ${name} takes exactly 2 arguments.`);
    }
    return accept(compareBsonValues(args[0], args[1]));
  };
}

/**
 * mingo compares values of different types as "not comparable" in expressions; MongoDB compares them by BSON type
 * order (a date is greater than a missing field), which "replace only if newer" guards rely on.
 */
const bsonOrderComparisons: Record<string, ExpressionFunction> = {
  $eq: comparison('$eq', (c) => c === 0),
  $ne: comparison('$ne', (c) => c !== 0),
  $gt: comparison('$gt', (c) => c > 0),
  $gte: comparison('$gte', (c) => c >= 0),
  $lt: comparison('$lt', (c) => c < 0),
  $lte: comparison('$lte', (c) => c <= 0),
  $cmp: (obj, expr, options) => {
    const args: unknown = evalExpr(obj, expr, options);
    if (!Array.isArray(args) || args.length !== 2) {
      throw new CommandError(ErrorCode.BadValue, 'Expression $cmp takes exactly 2 arguments.');
    }
    return compareBsonValues(args[0], args[1]);
  },
};

const context = Context.init({
  accumulator: { ...accumulatorOperators },
  expression: { ...expressionOperators, ...(bsonOrderComparisons as Partial<typeof expressionOperators>) },
  pipeline: { ...pipelineOperators },
  projection: { ...projectionOperators },
  query: { ...queryOperators },
  window: { ...windowOperators },
});

/** Resolves a collection name of the current database to its documents (for `$lookup`). */
export type CollectionResolver = (name: string) => Document[];

function engineOptions(resolver?: CollectionResolver): Partial<Options> {
  return {
    context,
    useStrictMode: true,
    ...(resolver ? { collectionResolver: (name: string): AnyObject[] => resolver(name) } : {}),
  };
}

/** A compiled query filter. */
export interface CompiledFilter {
  test(document: Document): boolean;
}

/**
 * Compiles a MongoDB query filter.
 *
 * @example
 * ```ts
 * compileFilter({ age: { $gte: 18 } }).test({ age: 20 }); // true
 * ```
 */
export function compileFilter(filter: Document): CompiledFilter {
  return new Query(filter, engineOptions());
}

/** Options of {@link selectDocuments}. */
export interface SelectionOptions {
  sort?: Document;
  skip?: number;
  limit?: number;
  projection?: Document;
}

/** Filters, sorts, skips, limits and projects documents with MongoDB semantics. */
export function selectDocuments(documents: Document[], filter: Document, options: SelectionOptions = {}): Document[] {
  const query = new Query(filter, engineOptions());
  const projection = options.projection && Object.keys(options.projection).length > 0 ? options.projection : undefined;
  // The projection comes last, as in MongoDB, and on copies: mingo's exclusion projection deletes the fields from
  // the documents it is given, which are the stored ones.
  const cursor = query.find<Document>(documents);
  const sort = options.sort ? withoutNaturalOrder(options.sort) : undefined;
  if (sort && Object.keys(sort).length > 0) cursor.sort(sort as Record<string, 1 | -1>);
  if (options.skip !== undefined && options.skip > 0) cursor.skip(options.skip);
  if (options.limit !== undefined && options.limit > 0) cursor.limit(options.limit);
  const selected = cursor.all();
  return projection === undefined ? selected : new Query({}, engineOptions()).find<Document>(selected.map(copyDocument), projection).all();
}

function withoutNaturalOrder(sort: Document): Document {
  const { $natural: _natural, ...rest } = sort;
  return rest;
}

/** Runs an aggregation pipeline over documents. */
export function runPipeline(pipeline: Document[], documents: Document[], resolver?: CollectionResolver): Document[] {
  return new Aggregator(pipeline, engineOptions(resolver)).run<Document>(documents);
}

/**
 * Applies update operators (`$set`, `$inc`, `$push`…) to a document in place; `filter` resolves the positional
 * `$` operator and `arrayFilters` the `$[name]` ones. Returns the modified paths.
 */
export function applyUpdateOperators(document: Document, operators: Document, arrayFilters: Document[] | undefined, filter: Document): string[] {
  return update(document, operators, arrayFilters, filter, { cloneMode: 'deep', queryOptions: engineOptions() });
}
