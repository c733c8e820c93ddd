import { describe, expect, it } from 'vitest';
import { sliceRecordChecker, type SliceRules } from '../../../src/archive/slice-records.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import { CORRUPTION_KINDS, corruptRecord } from '../../../src/records/record-corruption.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';

const FROM = '2026-03-01T10:00:00.000Z';
const TO = '2026-03-01T11:00:00.000Z';

function rulesFor(type: RecordType): SliceRules {
  return { type, tenantId: 'acme', from: FROM, to: TO };
}

function someRecords(type: RecordType, count: number): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const record of generateRecords({ seed: 'slice', tenantId: 'acme', type, from: new Date(FROM), to: new Date(TO), ratesPerHour: { [type]: 200 } })) {
    records.push(record as unknown as Record<string, unknown>);
    if (records.length === count) break;
  }
  return records;
}

describe('sliceRecordChecker: which records of a slice are delivered, and why the others are rejected', () => {
  it.each(RECORD_TYPES)('delivers a valid %s of the tenant inside the window, with its updatedAt in milliseconds', (type) => {
    const check = sliceRecordChecker(rulesFor(type));
    for (const raw of someRecords(type, 20)) {
      const verdict = check(raw);
      expect(verdict.ok).toBe(true);
      if (verdict.ok) expect(verdict.updatedAtMs).toBe(Date.parse(String(raw['updatedAt'])));
    }
  });

  it.each(RECORD_TYPES)('rejects every corrupted %s for its schema, with the issues parseRecord gives', (type) => {
    const check = sliceRecordChecker(rulesFor(type));
    const [valid] = someRecords(type, 1);
    for (const kind of CORRUPTION_KINDS[type]) {
      const { record } = corruptRecord(type, valid as never, kind as never);
      const parsed = parseRecord(type, record);
      expect(parsed.ok, kind).toBe(false);
      expect(check(record), kind).toEqual({ ok: false, rejection: { reason: 'schema', issues: parsed.ok ? [] : parsed.issues } });
    }
  });

  it('rejects a valid record of another tenant, naming both tenants, before looking at its window', () => {
    const check = sliceRecordChecker({ ...rulesFor('call-logs'), tenantId: 'globex' });
    const [raw] = someRecords('call-logs', 1);
    expect(check({ ...raw, createdAt: '2019-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z' })).toEqual({
      ok: false,
      rejection: { reason: 'tenant', issues: [{ path: 'tenantId', message: 'record belongs to "acme", not "globex"' }] },
    });
  });

  it('keeps the window half-open: updatedAt at from is delivered, at to or before from is rejected', () => {
    const check = sliceRecordChecker(rulesFor('contacts'));
    const [raw] = someRecords('contacts', 1);
    const at = (updatedAt: string) => check({ ...raw, createdAt: '2020-01-01T00:00:00.000Z', updatedAt });
    expect(at(FROM).ok).toBe(true);
    expect(at('2026-03-01T10:59:59.999Z').ok).toBe(true);
    const outside = { ok: false, rejection: { reason: 'window', issues: [{ path: 'updatedAt', message: `outside the requested window ${FROM} to ${TO}` }] } };
    expect(at(TO)).toEqual(outside);
    expect(at('2026-03-01T09:59:59.999Z')).toEqual(outside);
  });
});
