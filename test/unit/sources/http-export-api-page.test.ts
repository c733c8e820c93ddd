import { describe, expect, it } from 'vitest';
import { parseExportApiPage } from '../../../src/sources/export-api-page.js';

describe('parseExportApiPage', () => {
  it.each([
    ['a last page', '{"records":[{"id":"a"}],"nextCursor":null}', { records: [{ id: 'a' }], nextCursor: null }],
    ['a page with a cursor', '{"records":[],"nextCursor":"b2Zmc2V0OjU"}', { records: [], nextCursor: 'b2Zmc2V0OjU' }],
    ['non-object records, passed through', '{"records":[1,"x",null,[]],"nextCursor":null}', { records: [1, 'x', null, []], nextCursor: null }],
    ['extra top-level fields, ignored', '{"records":[],"nextCursor":null,"total":0}', { records: [], nextCursor: null }],
  ])('accepts %s', (_label, text, page) => {
    expect(parseExportApiPage(text)).toEqual({ ok: true, page });
  });

  it.each([
    ['an empty body', '', /ends early/],
    ['cut JSON', '{"records":[{"id":"a"},{"id"', /ends early \(truncated after 28 characters\)/],
    ['HTML', '<html>Bad Gateway</html>', /^the body is not valid JSON( \(error at character 0 of 24\))?$/],
    ['trailing garbage', '{"records":[],"nextCursor":null} x', /not valid JSON \(error at character 33 of 34\)/],
    ['an array', '[]', /expected a JSON object .*got an array/],
    ['null', 'null', /got null/],
    ['a string', '"records"', /got a string/],
    ['records missing', '{"nextCursor":null}', /"records" must be an array, got a undefined/],
    ['records an object', '{"records":{},"nextCursor":null}', /"records" must be an array, got a object/],
    ['records null', '{"records":null,"nextCursor":null}', /"records" must be an array, got null/],
    ['nextCursor missing', '{"records":[]}', /"nextCursor" is missing/],
    ['nextCursor a number', '{"records":[],"nextCursor":5}', /"nextCursor" must be a string or null, got a number/],
    ['nextCursor an object', '{"records":[],"nextCursor":{}}', /got a object/],
    ['nextCursor empty', '{"records":[],"nextCursor":""}', /empty string/],
  ])('refuses %s, saying what is wrong', (_label, text, problem) => {
    const result = parseExportApiPage(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });

  it('does not quote the body in the problem (it may hold personal data)', () => {
    const result = parseExportApiPage('{"records":[{"name":"Jane Roe", oops}],"nextCursor":null}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).not.toContain('Jane');
  });
});
