import { describe, expect, it } from 'vitest';
import {
  assertPathSegment,
  assertRelativePath,
  assertTenantId,
  deriveRunId,
  formatCompactUtc,
  isManifestFileName,
  manifestPath,
  parseDropFilePath,
  parseManifestPath,
  recordFileName,
  recordFilePath,
  rejectedFileName,
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

  const RUN = '20261123T181456Z-cd6ecee2e6688020';

  it('builds record file paths named for their run, under the UTC date of the window start', () => {
    expect(recordFilePath('acme', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: RUN })).toBe(
      `acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-${RUN}-0001.json`,
    );
    expect(recordFilePath('acme', { type: 'call-logs', window, part: 12, encoding: 'ndjson', gzip: true, runId: `${RUN}-r2` })).toBe(
      `acme/2026/11/23/call-logs/call-logs-20261123T170000Z-20261123T180000Z-${RUN}-r2-0012.ndjson.gz`,
    );
    const acrossMidnight = { from: new Date('2026-12-31T23:00:00Z'), to: new Date('2027-01-01T01:00:00Z') };
    expect(recordFilePath('acme', { type: 'contacts', window: acrossMidnight, part: 9999, encoding: 'json', gzip: true, runId: 'r1' })).toBe(
      'acme/2026/12/31/contacts/contacts-20261231T230000Z-20270101T010000Z-r1-9999.json.gz',
    );
  });

  it('builds the legacy names without a run id for readers of old drops', () => {
    expect(recordFilePath('acme', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: null })).toBe(
      'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-0001.json',
    );
    expect(rejectedFilePath('acme', 'chats', window, null)).toBe('acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z.json');
  });

  it('gives two runs over the same slice different names, and the same run the same names', () => {
    const spec = { type: 'chats', window, part: 1, encoding: 'json', gzip: true } as const;
    expect(recordFileName({ ...spec, runId: RUN })).toBe(recordFileName({ ...spec, runId: RUN }));
    expect(recordFileName({ ...spec, runId: RUN })).not.toBe(recordFileName({ ...spec, runId: `${RUN}-r1` }));
    expect(rejectedFileName('chats', window, RUN)).not.toBe(rejectedFileName('chats', window, `${RUN}-r1`));
  });

  it('builds rejected and manifest paths', () => {
    expect(rejectedFilePath('acme', 'chats', window, RUN)).toBe(`acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z-${RUN}.json`);
    expect(manifestPath('acme', 'r-1_a', new Date('2026-11-24T00:00:00Z'))).toBe('acme/2026/11/24/manifest-r-1_a.json');
  });

  it.each([
    ['part 0', { type: 'chats', window, part: 0, encoding: 'json', gzip: false, runId: 'r1' }, 'ERR_PART_INVALID'],
    ['part 10000', { type: 'chats', window, part: 10_000, encoding: 'json', gzip: false, runId: 'r1' }, 'ERR_PART_INVALID'],
    ['fractional part', { type: 'chats', window, part: 1.5, encoding: 'json', gzip: false, runId: 'r1' }, 'ERR_PART_INVALID'],
    ['unknown type', { type: '../chats', window, part: 1, encoding: 'json', gzip: false, runId: 'r1' }, 'ERR_RECORD_TYPE_INVALID'],
    ['unknown encoding', { type: 'chats', window, part: 1, encoding: 'csv', gzip: false, runId: 'r1' }, 'ERR_ENCODING_INVALID'],
    [
      'empty window',
      { type: 'chats', window: { from: window.to, to: window.from }, part: 1, encoding: 'json', gzip: false, runId: 'r1' },
      'ERR_WINDOW_INVALID',
    ],
    [
      'invalid date',
      { type: 'chats', window: { from: new Date('x'), to: window.to }, part: 1, encoding: 'json', gzip: false, runId: 'r1' },
      'ERR_WINDOW_INVALID',
    ],
    ['run id with a dot', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: 'r.1' }, 'ERR_RUN_ID_INVALID'],
    ['run id with a slash', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: '../r1' }, 'ERR_RUN_ID_INVALID'],
    ['empty run id', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: '' }, 'ERR_RUN_ID_INVALID'],
    ['run id of 129 characters', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: 'r'.repeat(129) }, 'ERR_RUN_ID_INVALID'],
  ])('refuses a record file name with %s', (_label, spec, code) => {
    expect(codeOf(() => recordFileName(spec as Parameters<typeof recordFileName>[0]))).toBe(code);
  });

  it.each([
    ['bad tenant', () => recordFilePath('../x', { type: 'chats', window, part: 1, encoding: 'json', gzip: false, runId: 'r1' }), 'ERR_TENANT_ID_INVALID'],
    ['rejected file with a bad run id', () => rejectedFilePath('acme', 'chats', window, 'run:1'), 'ERR_RUN_ID_INVALID'],
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

describe('drop file path parser', () => {
  const RUN = '20261123T181456Z-cd6ecee2e6688020';
  const from = window.from;
  const to = window.to;
  const records = (extra: object) => ({ kind: 'records', tenantId: 'acme', type: 'chats', window: { from, to }, encoding: 'json', gzip: false, ...extra });
  const rejected = (runId: string | null) => ({
    kind: 'rejected',
    tenantId: 'acme',
    type: 'chats',
    window: { from, to },
    runId,
    part: null,
    encoding: 'json',
    gzip: false,
  });

  it.each([
    ['a records file of a run', `acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-${RUN}-0001.json`, records({ runId: RUN, part: 1 })],
    [
      'a records file of a retried attempt',
      `acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-${RUN}-r3-0002.json.gz`,
      records({ runId: `${RUN}-r3`, part: 2, gzip: true }),
    ],
    [
      'a run id that looks like a part',
      'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-0007-0002.ndjson',
      records({ runId: '0007', part: 2, encoding: 'ndjson' }),
    ],
    [
      'a legacy records file',
      'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-0012.ndjson.gz',
      records({ runId: null, part: 12, encoding: 'ndjson', gzip: true }),
    ],
    ['a rejected file of a run', `acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z-${RUN}.json`, rejected(RUN)],
    ['a legacy rejected file', 'acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z.json', rejected(null)],
  ])('parses %s', (_label, path, parts) => {
    expect(parseDropFilePath(path)).toEqual(parts);
  });

  it('parses what the builders build, in both forms', () => {
    const bounds = { from: new Date('2026-12-31T23:59:59.250Z'), to: new Date('2027-01-01T00:00:00Z') };
    for (const runId of [RUN, `${RUN}-r1`, 'a_b-c', 'x'.repeat(128), null]) {
      for (const type of ['call-logs', 'chats', 'contacts'] as const) {
        const spec = { type, window: bounds, part: 42, encoding: 'ndjson', gzip: true, runId } as const;
        expect(parseDropFilePath(recordFilePath('acme-support', spec))).toEqual({ kind: 'records', tenantId: 'acme-support', ...spec });
        expect(parseDropFilePath(rejectedFilePath('acme-support', type, bounds, runId))).toMatchObject({ kind: 'rejected', type, window: bounds, runId });
      }
    }
  });

  it.each([
    ['a manifest', 'acme/2026/11/23/manifest-r1.json'],
    ['an upload in progress', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.json.part'],
    ['an unknown type folder', 'acme/2026/11/23/emails/emails-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['a type that does not match its folder', 'acme/2026/11/23/chats/contacts-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['a date folder that is not the window start', 'acme/2026/11/24/chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['a bad tenant', 'ACME/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['too shallow', 'acme/2026/11/chats-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['part 0000', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0000.json'],
    ['a three-digit part', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-001.json'],
    ['no part', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1.json'],
    ['a rejected file with a part', 'acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z-r1-0001.json.gz'],
    ['a gzipped rejected file', 'acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z-r1.json.gz'],
    ['an empty run id', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z--0001.json'],
    ['a run id with a dot', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r.1-0001.json'],
    ['a run id of 129 characters', `acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-${'r'.repeat(129)}-0001.json`],
    ['zero milliseconds spelled out', 'acme/2026/11/23/chats/chats-20261123T170000.000Z-20261123T180000Z-r1-0001.json'],
    ['an impossible date', 'acme/2026/02/30/chats/chats-20260230T170000Z-20260230T180000Z-r1-0001.json'],
    ['an empty window', 'acme/2026/11/23/chats/chats-20261123T180000Z-20261123T170000Z-r1-0001.json'],
    ['an unknown extension', 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.csv'],
    ['a traversal', 'acme/2026/11/../chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.json'],
    ['a look-alike separator', 'acme/2026/11/23/chats\u2215chats-20261123T170000Z-20261123T180000Z-r1-0001.json'],
  ])('refuses %s', (_label, path) => {
    expect(codeOf(() => parseDropFilePath(path))).toBe('ERR_PATH_INVALID');
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
