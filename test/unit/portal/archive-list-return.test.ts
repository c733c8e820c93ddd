import { describe, expect, it } from 'vitest';
import { matchSummary } from '../../../src/portal/routes/archive-list-page.js';
import { listReturnHref, listReturnParam } from '../../../src/portal/routes/archive-list-query.js';
import { CALL_LOG_LIST_FIELDS } from '../../../src/portal/routes/archive-call-logs-routes.js';

const CURSOR = 'eyJ2IjoxLCJrIjoiMjAyNi0wNS0wNFQwODoxMjozM1oifQ';
const calls = { one: 'call log', other: 'call logs' };

describe('the list a record page returns to', () => {
  it('carries the filters and the page position there and back', () => {
    const param = listReturnParam({ outcome: 'missed', agent: 'Jean-Luc Núñez' }, { after: CURSOR, back: ['a1', 'b2'] });
    expect(listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, param)).toBe(`/call-logs?${param}`);
    expect(new URLSearchParams(param).get('agent')).toBe('Jean-Luc Núñez');
    expect(listReturnParam({}, { after: undefined, back: [] })).toBe('');
  });

  it.each([
    ['nothing', undefined],
    ['an empty value', ''],
    ['an array', ['outcome=missed']],
    ['another site', 'https://evil.example/'],
    ['a protocol-relative URL', '//evil.example/call-logs'],
    ['a filter of another list', 'channel=web'],
    ['a filter given twice', 'outcome=missed&outcome=answered'],
    ['an invalid cursor', 'after=%3Cscript%3E'],
    ['an invalid day', 'from=2026-02-30'],
    ['an over-long query', `tag=${'x'.repeat(20_000)}`],
  ])('falls back to the first page for %s', (_case, raw) => {
    expect(listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, raw)).toBe('/call-logs');
  });

  it('rebuilds the query from checked values, never passes the text through', () => {
    expect(listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, 'outcome=%20missed%20&&tag=')).toBe('/call-logs?outcome=missed');
  });
});

describe('the result count of a list', () => {
  it.each([
    [{ count: 1, more: false }, { filtered: true, page: 1, shown: 1 }, '1 call log matches.'],
    [{ count: 37, more: false }, { filtered: true, page: 1, shown: 37 }, '37 call logs match.'],
    [{ count: 37, more: false }, { filtered: false, page: 1, shown: 37 }, '37 call logs in the archive.'],
    [{ count: 734, more: false }, { filtered: true, page: 1, shown: 50 }, '734 call logs match. Showing 1–50.'],
    [{ count: 734, more: false }, { filtered: true, page: 15, shown: 34 }, '734 call logs match. Showing 701–734.'],
    [{ count: 1000, more: true }, { filtered: false, page: 2, shown: 50 }, 'More than 1,000 call logs in the archive. Showing 51–100.'],
    [{ count: 1000, more: true }, { filtered: true, page: undefined, shown: 50 }, 'More than 1,000 call logs match. Showing 50 on this page.'],
  ])('%j on %j reads "%s"', (matches, at, expected) => {
    expect(matchSummary(matches, calls, at)).toBe(expected);
  });

  it('says nothing when the page shows nothing (the list says why)', () => {
    expect(matchSummary({ count: 0, more: false }, calls, { filtered: true, page: 1, shown: 0 })).toBeUndefined();
  });
});
