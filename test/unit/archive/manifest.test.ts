import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveRunId } from '../../../src/archive/drop-layout.js';
import {
  buildManifest,
  hashManifest,
  manifestPathOf,
  parseManifest,
  recordFileEntry,
  rejectedFileEntry,
  serializeManifest,
  type ManifestInput,
} from '../../../src/archive/manifest.js';
import { RetentionError } from '../../../src/errors.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const chatsWindow = { from: new Date('2026-11-23T16:00:00Z'), to: new Date('2026-11-23T18:00:00Z') };
const contactsWindow = { from: new Date('2026-11-22T18:00:00Z'), to: new Date('2026-11-23T18:00:00Z') };
const slice1 = { from: chatsWindow.from, to: new Date('2026-11-23T17:00:00Z') };
const slice2 = { from: slice1.to, to: chatsWindow.to };
const windows = { contacts: contactsWindow, chats: chatsWindow };
const runId = deriveRunId('acme', windows);
const format = { encoding: 'json', gzip: true } as const;

function input(): ManifestInput {
  return {
    tenantId: 'acme',
    runId,
    windows,
    previous: { path: 'acme/2026/11/22/manifest-previous-run.json', sha256: sha('previous') },
    files: [
      recordFileEntry('acme', runId, 'chats', slice2, { part: 1, records: 10, bytes: 1000, sha256: sha('c2') }, format),
      recordFileEntry('acme', runId, 'chats', slice1, { part: 2, records: 3, bytes: 300, sha256: sha('c1b') }, format),
      recordFileEntry('acme', runId, 'chats', slice1, { part: 1, records: 50, bytes: 5000, sha256: sha('c1a') }, format),
      rejectedFileEntry('acme', runId, 'chats', slice1, { records: 2, bytes: 200, sha256: sha('r1') }),
      recordFileEntry('acme', runId, 'contacts', contactsWindow, { part: 1, records: 0, bytes: 23, sha256: sha('empty') }, format),
    ],
  };
}

function parseError(value: unknown): RetentionError {
  try {
    parseManifest(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    if (error instanceof RetentionError) return error;
    throw error;
  }
  throw new Error('expected parseManifest to fail');
}

describe('buildManifest and serializeManifest', () => {
  it('sorts files by path, computes totals per type and has no wall-clock field', () => {
    const manifest = buildManifest(input());
    expect(manifest.files.map((file) => file.path)).toEqual([...manifest.files.map((file) => file.path)].sort());
    expect(manifest.totals).toEqual({
      chats: { records: 63, rejected: 2, files: 4, bytes: 6500 },
      contacts: { records: 0, rejected: 0, files: 1, bytes: 23 },
    });
    const text = serializeManifest(manifest).toString('utf8');
    expect(text).not.toMatch(/createdAt|generatedAt|timestamp/);
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['format', 'formatVersion', 'tenantId', 'runId', 'windows', 'previous', 'files', 'totals']);
    expect(Object.keys((JSON.parse(text) as { windows: object }).windows)).toEqual(['chats', 'contacts']);
  });

  it('gives byte-identical output for the same run, whatever the input order', () => {
    const first = serializeManifest(buildManifest(input()));
    const shuffled = input();
    shuffled.files.reverse();
    shuffled.windows = { chats: chatsWindow, contacts: contactsWindow };
    const second = serializeManifest(buildManifest(shuffled));
    expect(second.equals(first)).toBe(true);
    expect(hashManifest(second)).toBe(hashManifest(first));
    expect(hashManifest(first)).toBe(createHash('sha256').update(first).digest('hex'));
  });

  it('round-trips through parseManifest to the same bytes', () => {
    const bytes = serializeManifest(buildManifest(input()));
    expect(serializeManifest(parseManifest(bytes)).equals(bytes)).toBe(true);
  });

  it('re-serializes a hand-reordered manifest canonically', () => {
    const manifest = buildManifest(input());
    const { format: f, formatVersion, tenantId, runId: id, windows: w, previous } = manifest;
    const reordered = { totals: manifest.totals, files: [...manifest.files].reverse(), previous, windows: w, runId: id, tenantId, formatVersion, format: f };
    expect(serializeManifest(parseManifest(JSON.stringify(reordered))).equals(serializeManifest(manifest))).toBe(true);
  });

  it('is placed under the date of its latest window end', () => {
    expect(manifestPathOf(buildManifest(input()))).toBe(`acme/2026/11/23/manifest-${runId}.json`);
  });

  it.each([
    [
      'a file outside its window',
      (i: ManifestInput) =>
        i.files.push(
          recordFileEntry(
            'acme',
            runId,
            'chats',
            { from: new Date('2026-11-23T18:00:00Z'), to: new Date('2026-11-23T19:00:00Z') },
            { part: 1, records: 1, bytes: 1, sha256: sha('x') },
            format,
          ),
        ),
      'files.',
    ],
    [
      'a type without a window',
      (i: ManifestInput) => i.files.push(recordFileEntry('acme', runId, 'call-logs', slice1, { part: 1, records: 1, bytes: 1, sha256: sha('x') }, format)),
      'files.',
    ],
    ['a duplicate path', (i: ManifestInput) => i.files.push(i.files[0]!), 'files.'],
    ['a path of another tenant', (i: ManifestInput) => (i.files[0]!.path = i.files[0]!.path.replace('acme/', 'other/')), 'files.'],
    ['no window', (i: ManifestInput) => (i.windows = {}), 'windows'],
    ['a bad checksum', (i: ManifestInput) => (i.files[0]!.sha256 = 'ABC'), 'files.'],
    ['a previous of another tenant', (i: ManifestInput) => (i.previous = { path: 'other/2026/11/22/manifest-x.json', sha256: sha('p') }), 'previous.path'],
    [
      'a previous that names itself',
      (i: ManifestInput) => (i.previous = { path: `acme/2026/11/23/manifest-${runId}.json`, sha256: sha('p') }),
      'previous.path',
    ],
  ])('refuses %s with ERR_MANIFEST_INVALID', (_label, mutate, field) => {
    const bad = input();
    mutate(bad);
    try {
      buildManifest(bad);
      expect.unreachable('buildManifest accepted it');
    } catch (error) {
      expect((error as RetentionError).code).toBe('ERR_MANIFEST_INVALID');
      expect((error as RetentionError).message).toContain(`"${field}`);
    }
  });
});

describe('parseManifest', () => {
  const good = (): Record<string, unknown> => JSON.parse(serializeManifest(buildManifest(input())).toString('utf8')) as Record<string, unknown>;
  const files = (m: Record<string, unknown>): Record<string, unknown>[] => m.files as Record<string, unknown>[];

  it.each([
    ['an array', () => '[]', '(root)'],
    ['a wrong format', () => ({ ...good(), format: 'other' }), 'format'],
    ['a future version', () => ({ ...good(), formatVersion: 2 }), 'formatVersion'],
    ['an unknown field', () => ({ ...good(), createdAt: '2026-11-23T18:00:00Z' }), '(root)'],
    ['a bad tenant', () => ({ ...good(), tenantId: 'ACME' }), 'tenantId'],
    ['a run id with a colon', () => ({ ...good(), runId: 'a:b' }), 'runId'],
    ['an unknown window type', () => ({ ...good(), windows: { emails: { from: '2026-11-23T16:00:00.000Z', to: '2026-11-23T18:00:00.000Z' } } }), 'windows'],
    [
      'a window with an offset',
      () => ({ ...good(), windows: { ...(good().windows as object), chats: { from: '2026-11-23T16:00:00+01:00', to: '2026-11-23T18:00:00.000Z' } } }),
      'windows.chats.from',
    ],
    [
      'a negative record count',
      () => {
        const m = good();
        files(m)[0]!.records = -1;
        return m;
      },
      'files.0.records',
    ],
    [
      'a fractional byte count',
      () => {
        const m = good();
        files(m)[1]!.bytes = 1.5;
        return m;
      },
      'files.1.bytes',
    ],
    [
      'an uppercase sha256',
      () => {
        const m = good();
        files(m)[2]!.sha256 = sha('x').toUpperCase();
        return m;
      },
      'files.2.sha256',
    ],
    [
      'a traversal path',
      () => {
        const m = good();
        files(m)[0]!.path = 'acme/../etc/passwd';
        return m;
      },
      'files.0.path',
    ],
    [
      'a path that does not match its part',
      () => {
        const m = good();
        files(m)[0]!.part = 7;
        return m;
      },
      'files.0.path',
    ],
    [
      'a file named for another run',
      () => {
        const m = good();
        files(m)[0]!.path = String(files(m)[0]!.path).replace(runId, `${runId}-r1`);
        return m;
      },
      'files.0.path',
    ],
    [
      'a rejected file named for another run',
      () => {
        const m = good();
        const r = files(m).find((f) => f.kind === 'rejected')!;
        r.path = String(r.path).replace(runId, 'other-run');
        return m;
      },
      'files.',
    ],
    [
      'a rejected file with a part',
      () => {
        const m = good();
        const r = files(m).find((f) => f.kind === 'rejected')!;
        r.part = 1;
        return m;
      },
      'files.',
    ],
    [
      'totals that do not add up',
      () => {
        const m = good();
        (m.totals as { chats: { records: number } }).chats.records = 64;
        return m;
      },
      'totals.chats.records',
    ],
    ['missing totals', () => ({ ...good(), totals: {} }), 'totals.chats'],
    [
      'a missing previous field',
      () => {
        const m = good();
        delete m.previous;
        return m;
      },
      'previous',
    ],
  ])('refuses %s, naming the field', (_label, make, field) => {
    const error = parseError(make());
    expect(error.code).toBe('ERR_MANIFEST_INVALID');
    expect(error.message).toContain(`"${field}`);
  });

  it('refuses bytes that are not JSON', () => {
    const error = parseError('{"format":');
    expect(error.code).toBe('ERR_MANIFEST_INVALID');
    expect(error.message).toContain('not valid JSON');
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d]))).toThrowError(expect.objectContaining({ code: 'ERR_MANIFEST_INVALID' }));
  });

  it('names every file for its run', () => {
    const manifest = buildManifest(input());
    for (const file of manifest.files) expect(file.path).toContain(`-${runId}`);
  });

  it('accepts a manifest delivered before file names carried the run id (legacy names), and re-serializes it unchanged', () => {
    const legacy = input();
    legacy.files = [
      recordFileEntry('acme', null, 'chats', slice1, { part: 1, records: 50, bytes: 5000, sha256: sha('c1a') }, format),
      rejectedFileEntry('acme', null, 'chats', slice1, { records: 2, bytes: 200, sha256: sha('r1') }),
      recordFileEntry('acme', null, 'contacts', contactsWindow, { part: 1, records: 0, bytes: 23, sha256: sha('empty') }, format),
    ];
    const bytes = serializeManifest(buildManifest(legacy));
    const parsed = parseManifest(bytes);
    expect(parsed.files.map((file) => file.path)).toEqual([
      'acme/2026/11/22/contacts/contacts-20261122T180000Z-20261123T180000Z-0001.json.gz',
      'acme/2026/11/23/chats/chats-20261123T160000Z-20261123T170000Z-0001.json.gz',
      'acme/2026/11/23/rejected/chats-20261123T160000Z-20261123T170000Z.json',
    ]);
    expect(serializeManifest(parsed).equals(bytes)).toBe(true);
  });

  it('accepts a genesis manifest', () => {
    const genesis = { ...input(), previous: null };
    expect(parseManifest(serializeManifest(buildManifest(genesis))).previous).toBeNull();
  });
});
