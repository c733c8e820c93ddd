import { describe, expect, it } from 'vitest';
import {
  assertPathSegment,
  assertRelativePath,
  assertTenantId,
  deriveRunId,
  formatCompactUtc,
  isManifestFileName,
  manifestPath,
  parseManifestPath,
  recordFileName,
  recordFilePath,
  rejectedFilePath,
} from '../../../src/archive/drop-layout.js';
import { RetentionError } from '../../../src/errors.js';

const window = { from: new Date('2026-11-23T17:00:00Z'), to: new Date('2026-11-23T18:00:00Z') };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof RetentionError ? error.code : 'not-a-retention-error';
  }
  return undefined;
}

describe('tenant ids', () => {
  it.each(['abc', 'acme-support', 'a1b', '0-0', 'a'.repeat(63)])('accepts %j', (id) => {
    expect(assertTenantId(id)).toBe(id);
  });

  it.each([
    ['empty', ''],
    ['too short', 'ab'],
    ['too long', 'a'.repeat(64)],
    ['uppercase', 'Acme'],
    ['leading dash', '-acme'],
    ['trailing dash', 'acme-'],
    ['dot dot', '..'],
    ['traversal', '../etc'],
    ['slash', 'ac/me'],
    ['backslash', 'ac\\me'],
    ['NUL', 'acme\u0000'],
    ['control', 'ac\tme'],
    ['trailing newline', 'acme\n'],
    ['underscore', 'ac_me'],
    ['space', 'ac me'],
    ['Cyrillic a', '\u0430cme'],
    ['fullwidth slash', 'ac\uff0fme'],
    ['division slash', 'ac\u2215me'],
    ['not a string', 42],
  ])('refuses %s', (_label, id) => {
    expect(codeOf(() => assertTenantId(id))).toBe('ERR_TENANT_ID_INVALID');
  });
});

describe('path segments and relative paths', () => {
  it.each(['chats', 'chats-20261123T170000Z-20261123T180000Z-0001.json.gz', 'manifest-r1.json', 'a.b_c-d'])('accepts segment %j', (segment) => {
    expect(assertPathSegment(segment)).toBe(segment);
  });

  it.each([
    ['empty', ''],
    ['dot', '.'],
    ['dot dot', '..'],
    ['leading dot', '.hidden'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['control', 'a\u0007b'],
    ['DEL', 'a\u007fb'],
    ['newline', 'a\nb'],
    ['Cyrillic a', 'ch\u0430ts'],
    ['fullwidth slash', 'a\uff0fb'],
    ['division slash', 'a\u2215b'],
    ['fullwidth dot dot', '\uff0e\uff0e'],
    ['emoji', 'a\u{1f600}'],
    ['space', 'a b'],
    ['colon', 'a:b'],
    ['too long', 'a'.repeat(256)],
    ['not a string', null],
  ])('refuses segment: %s', (_label, segment) => {
    expect(codeOf(() => assertPathSegment(segment))).toBe('ERR_PATH_INVALID');
  });

  it('accepts a relative path of safe segments', () => {
    expect(assertRelativePath('acme/2026/11/23/chats/x.json')).toBe('acme/2026/11/23/chats/x.json');
  });

  it.each([
    ['absolute', '/etc/passwd'],
    ['traversal', 'acme/../other/x.json'],
    ['empty segment', 'acme//x.json'],
    ['trailing slash', 'acme/'],
    ['empty', ''],
    ['backslash traversal', 'acme\\..\\x'],
    ['look-alike separator', 'acme\u2215..\u2215x'],
  ])('refuses path: %s', (_label, path) => {
    expect(codeOf(() => assertRelativePath(path))).toBe('ERR_PATH_INVALID');
  });
});

describe('path builders', () => {
  it('formats instants compactly in UTC, with milliseconds only when present', () => {
    expect(formatCompactUtc(new Date('2026-11-23T17:00:00Z'))).toBe('20261123T170000Z');
    expect(formatCompactUtc(new Date('2026-03-29T01:30:05.250+01:00'))).toBe('20260329T003005.250Z');
  });

  it('builds record file paths under the UTC date of the window start', () => {
    expect(recordFilePath('acme', { type: 'chats', window, part: 1, encoding: 'json', gzip: false })).toBe(
      'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-0001.json',
    );
    expect(recordFilePath('acme', { type: 'call-logs', window, part: 12, encoding: 'ndjson', gzip: true })).toBe(
      'acme/2026/11/23/call-logs/call-logs-20261123T170000Z-20261123T180000Z-0012.ndjson.gz',
    );
    const acrossMidnight = { from: new Date('2026-12-31T23:00:00Z'), to: new Date('2027-01-01T01:00:00Z') };
    expect(recordFilePath('acme', { type: 'contacts', window: acrossMidnight, part: 9999, encoding: 'json', gzip: true })).toBe(
      'acme/2026/12/31/contacts/contacts-20261231T230000Z-20270101T010000Z-9999.json.gz',
    );
  });

  it('builds rejected and manifest paths', () => {
    expect(rejectedFilePath('acme', 'chats', window)).toBe('acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z.json');
    expect(manifestPath('acme', 'r-1_a', new Date('2026-11-24T00:00:00Z'))).toBe('acme/2026/11/24/manifest-r-1_a.json');
  });

  it.each([
    ['part 0', { type: 'chats', window, part: 0, encoding: 'json', gzip: false }, 'ERR_PART_INVALID'],
    ['part 10000', { type: 'chats', window, part: 10_000, encoding: 'json', gzip: false }, 'ERR_PART_INVALID'],
    ['fractional part', { type: 'chats', window, part: 1.5, encoding: 'json', gzip: false }, 'ERR_PART_INVALID'],
    ['unknown type', { type: '../chats', window, part: 1, encoding: 'json', gzip: false }, 'ERR_RECORD_TYPE_INVALID'],
    ['unknown encoding', { type: 'chats', window, part: 1, encoding: 'csv', gzip: false }, 'ERR_ENCODING_INVALID'],
    ['empty window', { type: 'chats', window: { from: window.to, to: window.from }, part: 1, encoding: 'json', gzip: false }, 'ERR_WINDOW_INVALID'],
    ['invalid date', { type: 'chats', window: { from: new Date('x'), to: window.to }, part: 1, encoding: 'json', gzip: false }, 'ERR_WINDOW_INVALID'],
  ])('refuses a record file name with %s', (_label, spec, code) => {
    expect(codeOf(() => recordFileName(spec as Parameters<typeof recordFileName>[0]))).toBe(code);
  });

  it.each([
    ['bad tenant', () => recordFilePath('../x', { type: 'chats', window, part: 1, encoding: 'json', gzip: false }), 'ERR_TENANT_ID_INVALID'],
    ['bad tenant in manifest', () => manifestPath('ACME', 'r1', window.to), 'ERR_TENANT_ID_INVALID'],
    ['run id with colon', () => manifestPath('acme', 'run:1', window.to), 'ERR_RUN_ID_INVALID'],
    ['run id with slash', () => manifestPath('acme', 'a/../b', window.to), 'ERR_RUN_ID_INVALID'],
    ['empty run id', () => manifestPath('acme', '', window.to), 'ERR_RUN_ID_INVALID'],
  ])('refuses %s', (_label, build, code) => {
    expect(codeOf(build)).toBe(code);
  });
});

describe('manifest path parser', () => {
  it('is the inverse of manifestPath', () => {
    const path = manifestPath('acme-support', '20261123T175500Z-0123456789abcdef', new Date('2026-11-23T17:55:00Z'));
    expect(parseManifestPath(path)).toEqual({ tenantId: 'acme-support', year: 2026, month: 11, day: 23, runId: '20261123T175500Z-0123456789abcdef' });
    expect(isManifestFileName('manifest-20261123T175500Z-0123456789abcdef.json')).toBe(true);
    expect(isManifestFileName('manifest-.json')).toBe(false);
    expect(isManifestFileName('manifest-a.json.part')).toBe(false);
  });

  it.each([
    ['too shallow', 'acme/2026/11/manifest-r1.json'],
    ['too deep', 'acme/2026/11/23/chats/manifest-r1.json'],
    ['bad tenant', 'ACME/2026/11/23/manifest-r1.json'],
    ['impossible date', 'acme/2026/02/30/manifest-r1.json'],
    ['month 13', 'acme/2026/13/01/manifest-r1.json'],
    ['short year', 'acme/26/11/23/manifest-r1.json'],
    ['not a manifest', 'acme/2026/11/23/chats-r1.json'],
    ['traversal', 'acme/2026/11/../manifest-r1.json'],
    ['part file', 'acme/2026/11/23/manifest-r1.json.part'],
  ])('refuses %s', (_label, path) => {
    expect(codeOf(() => parseManifestPath(path))).toMatch(/^ERR_(PATH|TENANT_ID)_INVALID$/);
  });
});

describe('deriveRunId', () => {
  const windows = {
    chats: { from: new Date('2026-11-23T16:00:00Z'), to: new Date('2026-11-23T17:55:00Z') },
    'call-logs': { from: new Date('2026-11-23T15:00:00Z'), to: new Date('2026-11-23T17:55:00Z') },
  };

  it('is deterministic, key-order independent and BullMQ-safe', () => {
    const id = deriveRunId('acme', windows);
    expect(id).toMatch(/^20261123T175500Z-[0-9a-f]{16}$/);
    expect(deriveRunId('acme', { 'call-logs': windows['call-logs'], chats: windows.chats })).toBe(id);
    expect(id).not.toContain(':');
  });

  it('changes with the tenant or any window bound', () => {
    const id = deriveRunId('acme', windows);
    expect(deriveRunId('acme2', windows)).not.toBe(id);
    expect(deriveRunId('acme', { ...windows, chats: { from: new Date('2026-11-23T16:00:01Z'), to: windows.chats.to } })).not.toBe(id);
    expect(deriveRunId('acme', { chats: windows.chats })).not.toBe(id);
  });

  it('refuses a run without windows', () => {
    expect(codeOf(() => deriveRunId('acme', {}))).toBe('ERR_WINDOW_INVALID');
  });
});
