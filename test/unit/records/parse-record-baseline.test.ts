import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecord, type RecordIssue } from '../../../src/records/parse-record.js';
import type { RecordType } from '../../../src/records/record-type.js';

type StoredChange =
  { path: (string | number)[]; value: unknown } | { path: (string | number)[]; remove: true } | { path: (string | number)[]; repeat: string; times: number };

interface StoredCase {
  id: string;
  type: RecordType;
  base: string;
  changes: StoredChange[];
  expected: { ok: true; sha256: string; chars: number } | { ok: false; issues: RecordIssue[] };
}

/**
 * What the zod-only `parseRecord` answered before validation got its compiled fast path (written by
 * `fixtures/write-parse-record-baseline.ts`): the demo's corrupted records of every kind, valid demo records, and a
 * table of edge cases (wrong types, missing and unknown fields, over-long strings, bad timestamps and numbers).
 * Read with JSON.parse, which keeps `__proto__` keys as own properties the way the sources' JSON.parse does.
 */
const baseline = JSON.parse(readFileSync(new URL('./fixtures/parse-record-baseline.json', import.meta.url), 'utf8')) as {
  bases: Record<string, unknown>;
  cases: StoredCase[];
};

function rebuildInput(entry: StoredCase): unknown {
  const copy: unknown = structuredClone(baseline.bases[entry.base]);
  for (const change of entry.changes) {
    let node = copy as Record<string | number, unknown>;
    for (const segment of change.path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
    const last = change.path.at(-1) as string | number;
    if ('remove' in change) delete node[last];
    else node[last] = 'repeat' in change ? change.repeat.repeat(change.times) : change.value;
  }
  return copy;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('parseRecord against the answers of the zod-only implementation', () => {
  it('covers every corruption of the demo and a broad table of edge cases', () => {
    const ids = baseline.cases.map((entry) => entry.id);
    expect(ids.filter((id) => id.includes(' corrupted ')).length).toBeGreaterThanOrEqual(50);
    expect(baseline.cases.filter((entry) => !entry.expected.ok).length).toBeGreaterThanOrEqual(250);
    expect(baseline.cases.filter((entry) => entry.expected.ok).length).toBeGreaterThanOrEqual(50);
  });

  it.each(baseline.cases.map((entry) => [entry.id, entry] as const))('%s', (_id, entry) => {
    const result = parseRecord(entry.type, rebuildInput(entry));
    if (!entry.expected.ok) {
      expect(result).toEqual(entry.expected);
      return;
    }
    expect(result.ok, result.ok ? '' : JSON.stringify(result.issues)).toBe(true);
    const json = result.ok ? JSON.stringify(result.record) : '';
    expect({ chars: json.length, sha256: sha256(json) }, json).toEqual({ chars: entry.expected.chars, sha256: entry.expected.sha256 });
  });
});
