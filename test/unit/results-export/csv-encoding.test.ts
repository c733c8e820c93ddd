import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../../../src/results-export/csv-encoding.js';
import { EXPORT_COLUMNS, exportCells, exportHeader } from '../../../src/results-export/export-columns.js';
import { resolveResultsExportOptions } from '../../../src/results-export/results-export-options.js';
import { isWellFormedDownloadToken, issueDownloadToken, verifyDownloadToken } from '../../../src/results-export/download-tokens.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { validCallLog, validChat, validContact } from '../records/record-fixtures.js';
import { parseCsv } from './rfc4180-parser.js';

describe('csvCell', () => {
  it.each<[string, unknown, string]>([
    ['plain text', 'hello', 'hello'],
    ['empty', '', ''],
    ['null', null, ''],
    ['undefined', undefined, ''],
    ['number', 42.5, '42.5'],
    ['negative number (typed, not text)', -3, '-3'],
    ['not a number', Number.NaN, ''],
    ['boolean', true, 'true'],
    ['comma', 'a,b', '"a,b"'],
    ['quote', 'say "hi"', '"say ""hi"""'],
    ['newline', 'a\nb', '"a\nb"'],
    ['CRLF', 'a\r\nb', '"a\r\nb"'],
    ['formula =', '=1+1', "'=1+1"],
    ['a phone number stays E.164', '+4930123456789', '+4930123456789'],
    ['a masked phone number', '+49 ••• ••• ••12', '+49 ••• ••• ••12'],
    ['a list of phone numbers', '+4930123456; +14155550100', '+4930123456; +14155550100'],
    ['formula + that is not a phone number', '+1+cmd|calc', "'+1+cmd|calc"],
    ['formula + with a letter after digits', '+49301A1', "'+49301A1"],
    ['formula + ending in a separator', '+4930; ', "'+4930; "],
    ['a lone +', '+', "'+"],
    ['formula -', '-2+3', "'-2+3"],
    ['formula @', '@SUM(A1)', "'@SUM(A1)"],
    ['formula tab', '\t=1', "'\t=1"],
    ['formula CR', '\r=1', '"\'\r=1"'],
    ['formula with quotes and commas', '=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['full-width formula', '＝1+1', "'＝1+1"],
    ['unicode', 'Grüße 👋 日本', 'Grüße 👋 日本'],
    ['equals inside', 'a=b', 'a=b'],
  ])('%s', (_name, value, encoded) => {
    expect(csvCell(value as string)).toBe(encoded);
  });

  it('round-trips hostile cells through an RFC 4180 parser', () => {
    const cells = ['=cmd|" /C calc"!A0', 'a,b', 'x"y', 'line\r\nbreak', '', '@x', 'plain'];
    const [row] = parseCsv(csvLine(cells));
    expect(row).toEqual(cells.map((cell) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell)));
  });
});

describe('export columns', () => {
  it.each(RECORD_TYPES)('gives one cell per header for %s', (type) => {
    const record = { 'call-logs': validCallLog, chats: () => ({ ...validChat(), messageCount: 4 }), contacts: validContact }[type]();
    const cells = exportCells(type, record as never);
    expect(cells).toHaveLength(exportHeader(type).length);
    expect(new Set(exportHeader(type)).size).toBe(EXPORT_COLUMNS[type].length);
    expect(cells[0]).toBe(record.id);
  });

  it('flattens lists with "; "', () => {
    const cells = Object.fromEntries(exportHeader('contacts').map((h, i) => [h, exportCells('contacts', validContact())[i]]));
    expect(cells.emails).toBe('mohammed.alotaibi@example.com; mohammed@example.net');
    expect(cells.phones).toBe('+966512345678; +12125550100');
  });
});

describe('resolveResultsExportOptions', () => {
  it('applies defaults', () => {
    expect(resolveResultsExportOptions({ spoolDir: '/spool' })).toEqual({
      spoolDir: '/spool',
      maxRecords: 100_000,
      maxBytes: 100 * 1024 ** 2,
      linkLifetimeSeconds: 900,
      keepSeconds: 86_400,
      pageSize: 200,
    });
  });

  it.each([
    [{ maxRecords: 0 }],
    [{ maxRecords: 1.5 }],
    [{ maxBytes: 10 }],
    [{ pageSize: 500 }],
    [{ linkLifetimeSeconds: 30 }],
    [{ linkLifetimeSeconds: 7200, keepSeconds: 3600 }],
  ])('refuses %j', (options) => {
    expect(() => resolveResultsExportOptions(options)).toThrow(expect.objectContaining({ code: 'ERR_EXPORT_OPTIONS_INVALID' }));
  });
});

describe('download tokens', () => {
  it('are 256-bit, base64url, stored as a hash and verified against it only', () => {
    const first = issueDownloadToken();
    const second = issueDownloadToken();
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(first.token, 'base64url')).toHaveLength(32);
    expect(first.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.tokenHash).not.toContain(first.token);
    expect(verifyDownloadToken(first.token, first.tokenHash)).toBe(true);
    expect(verifyDownloadToken(second.token, first.tokenHash)).toBe(false);
    expect(verifyDownloadToken(first.tokenHash, first.tokenHash)).toBe(false);
  });

  it.each([[''], ['short'], ['x'.repeat(44)], [`${'a'.repeat(42)}=`], [null], [42]])('refuses the malformed token %j', (token) => {
    expect(isWellFormedDownloadToken(token)).toBe(false);
  });
});
