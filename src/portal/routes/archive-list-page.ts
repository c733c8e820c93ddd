import type { Request, Response } from 'express';
import { routeAllowed, type RouteId } from '../../access/route-permissions.js';
import { hasErrorCode, type ErrorCode } from '../../errors.js';
import type { RecordType } from '../../records/record-type.js';
import { TIME_ORDERS, type Page, type TimeOrder } from '../../store/archive/archive-filters.js';
import type { ArchiveStore, MatchCount } from '../../store/archive/archive-store.js';
import type { PortalServices } from '../portal-services.js';
import { auditedFilterString, listReturnParam, MAX_BACK_CURSORS, pagerLinks, parseListQuery, personalDataFilterProblems } from './archive-list-query.js';
import { archiveViewFormat } from './archive-view-format.js';
import { archiveStoreOf, auditArchiveRead, authorizedReader, type ArchiveReader } from './archive-reader.js';

const isTimeOrder = (value: string | undefined): value is TimeOrder => (TIME_ORDERS as readonly (string | undefined)[]).includes(value);

/** Links that show the same filter in each time order, from the first page. */
function orderLinks(path: string, values: Record<string, string>): Record<TimeOrder, string> {
  const link = (order: TimeOrder): string => {
    const params = new URLSearchParams({ ...values, order });
    if (order === 'newest') params.delete('order');
    const query = params.toString();
    return query === '' ? path : `${path}?${query}`;
  };
  return { newest: link('newest'), oldest: link('oldest') };
}

/** Items per list page. */
export const LIST_PAGE_SIZE = 50;

/** A list counts its matches exactly up to this many, then says "more than". */
export const LIST_COUNT_LIMIT = 1_000;

const INPUT_ERRORS: readonly ErrorCode[] = ['ERR_ARCHIVE_FILTER_INVALID', 'ERR_ARCHIVE_CURSOR_INVALID'];

/** What a list's records are called, for its result count. */
export interface ListNoun {
  one: string;
  other: string;
}

const COUNT = new Intl.NumberFormat('en-US');

/**
 * The result count a list prints above its table: exact up to {@link LIST_COUNT_LIMIT}, then "more than", with the
 * range of this page where its number is known. `undefined` when the page shows nothing (the list says why itself).
 *
 * @example
 * matchSummary({ count: 734, more: false }, { one: 'call log', other: 'call logs' }, { filtered: true, page: 2, shown: 50 });
 * // '734 call logs match. Showing 51–100.'
 */
export function matchSummary(matches: MatchCount, noun: ListNoun, at: { filtered: boolean; page: number | undefined; shown: number }): string | undefined {
  if (matches.count === 0 || at.shown === 0) return undefined;
  const single = matches.count === 1 && !matches.more;
  const total = `${matches.more ? 'More than ' : ''}${COUNT.format(matches.count)} ${single ? noun.one : noun.other}`;
  const verb = at.filtered ? (single ? 'matches' : 'match') : 'in the archive';
  if (at.page === 1 && !matches.more && matches.count <= at.shown) return `${total} ${verb}.`;
  if (at.page === undefined) return `${total} ${verb}. Showing ${COUNT.format(at.shown)} on this page.`;
  const first = (at.page - 1) * LIST_PAGE_SIZE + 1;
  return `${total} ${verb}. Showing ${COUNT.format(first)}–${COUNT.format(first + at.shown - 1)}.`;
}

/** One archive list page: its route, record type, filter fields and how it reads and masks a page. */
export interface ArchiveListDefinition<T> {
  routeId: RouteId;
  type: RecordType;
  path: '/call-logs' | '/chats' | '/contacts';
  view: string;
  title: string;
  noun: ListNoun;
  fields: readonly string[];
  /** Allowed values of the filters shown as a choice (e.g. call outcomes). */
  choices?: Record<string, readonly string[]>;
  /** Reads one page with the reader's access (the store checks scope and filter again) and masks it. */
  read(
    store: ArchiveStore,
    reader: ArchiveReader,
    filter: Record<string, string>,
    page: { limit: number; cursor?: string; order?: TimeOrder; countUpTo?: number },
  ): Promise<Page<T>>;
}

/**
 * The handler of an archive list page: checks the route permission, reads the filter from the URL (problems are
 * shown, with status 400, and the store is not asked), reads one page through the store with the reader's access,
 * audits the search (`records.searched`, also when refused as invalid) and renders the list with its pager.
 */
export function archiveListHandler<T>(services: PortalServices, definition: ArchiveListDefinition<T>) {
  return async (req: Request, res: Response): Promise<void> => {
    const reader = authorizedReader(res, definition.routeId);
    const store = archiveStoreOf(services);
    const query = parseListQuery(req.query, definition.fields);
    const { order, ...filter } = query.filter;
    let page: Page<T> = { items: [], nextCursor: null };
    let matches: MatchCount | undefined;
    const problems = [...query.problems, ...personalDataFilterProblems(filter, reader.unmasked)];
    if (order !== undefined && !isTimeOrder(order)) problems.push('Sort by "newest" (newest first) or "oldest" (oldest first).');
    if (problems.length === 0) {
      try {
        const cursor = query.position.after;
        // the page and its count in one round trip
        page = await definition.read(store, reader, filter, {
          limit: LIST_PAGE_SIZE,
          countUpTo: LIST_COUNT_LIMIT,
          ...(cursor !== undefined ? { cursor } : {}),
          ...(isTimeOrder(order) ? { order } : {}),
        });
        matches = page.matches;
      } catch (err) {
        if (!INPUT_ERRORS.some((code) => hasErrorCode(err, code))) throw err;
        problems.push((err as Error).message);
      }
    }
    const auditedFilter = auditedFilterString(query.values);
    await auditArchiveRead(services, req, reader, {
      action: 'records.searched',
      type: definition.type,
      outcome: problems.length === 0 ? 'success' : 'failure',
      details: { filter: auditedFilter, results: page.items.length, page: query.position.after === undefined ? 1 : query.position.back.length + 2 },
    });
    const returnTo = listReturnParam(query.values, query.position);
    res.status(problems.length === 0 ? 200 : 400).render(definition.view, {
      matchSummary:
        matches === undefined
          ? undefined
          : matchSummary(matches, definition.noun, {
              filtered: Object.keys(filter).length > 0,
              // a list remembers MAX_BACK_CURSORS earlier pages: further on, the page's number is not known
              page: query.position.after === undefined ? 1 : query.position.back.length < MAX_BACK_CURSORS ? query.position.back.length + 2 : undefined,
              shown: page.items.length,
            }),
      /** A record's page, with this list page to return to. */
      recordLink: (id: string): string => {
        const link = archiveViewFormat.link(definition.path, id);
        return returnTo === '' ? link : `${link}?${new URLSearchParams({ list: returnTo }).toString()}`;
      },
      title: definition.title,
      path: definition.path,
      items: page.items,
      values: query.values,
      filtered: Object.keys(query.values).some((key) => key !== 'order'),
      order: isTimeOrder(order) ? order : 'newest',
      orderLinks: definition.fields.includes('order') ? orderLinks(definition.path, query.values) : undefined,
      choices: definition.choices ?? {},
      firstPage: query.position.after === undefined,
      problems,
      pager: pagerLinks(definition.path, query.values, query.position, page.nextCursor),
      masked: !reader.unmasked,
      canRead: Object.fromEntries(reader.principal.dataTypes.map((type) => [type, true])),
      canExport: services.deps.resultsExport !== undefined && routeAllowed(reader.principal, 'exports.request'),
      exportType: definition.type,
    });
  };
}
