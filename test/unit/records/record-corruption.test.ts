import { describe, expect, it } from 'vitest';
import type { RecordByType } from '../../../src/records/archive-record.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import { CORRUPTION_KINDS, corruptRecord, mixInInvalidRecords, type CorruptionKind } from '../../../src/records/record-corruption.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';

const FROM = new Date('2024-05-01T00:00:00.000Z');
const TO = new Date('2024-05-01T12:00:00.000Z');

function sample<T extends RecordType>(type: T): RecordByType[T][] {
  return [...generateRecords({ seed: 3, tenantId: 'acme-co', type, from: FROM, to: TO })];
}

const ROWS = RECORD_TYPES.flatMap((type) => CORRUPTION_KINDS[type].map((kind) => [type, kind] as [RecordType, string]));

describe('corruptRecord', () => {
  it('offers at least eight kinds per type', () => {
    for (const type of RECORD_TYPES) expect(CORRUPTION_KINDS[type].length).toBeGreaterThanOrEqual(8);
  });

  it.each(ROWS)('%s / %s: every corrupted record is rejected with an issue at the reported path', (type, kind) => {
    for (const record of sample(type).slice(0, 40)) {
      const before = JSON.stringify(record);
      const corrupted = corruptRecord(type, record, kind as CorruptionKind<typeof type>);
      const result = parseRecord(type, corrupted.record);
      expect(result.ok).toBe(false);
      const paths = result.ok ? [] : result.issues.map((issue) => issue.path);
      expect(paths).toContain(corrupted.path);
      expect(JSON.stringify(record)).toBe(before);
      expect(corrupted.record['updatedAt']).toBe(record.updatedAt);
    }
  });

  it('refuses a kind that does not apply to the type', () => {
    const [chat] = sample('chats');
    expect(() => corruptRecord('chats', chat as RecordByType['chats'], 'bad-sha256' as CorruptionKind<'chats'>)).toThrow(RangeError);
  });
});

describe('mixInInvalidRecords', () => {
  it('corrupts about the requested share, deterministically, keeping order and count', () => {
    const records = sample('call-logs');
    const mixed = () => [...mixInInvalidRecords('call-logs', records, { seed: 3, share: 0.1 })];
    const first = mixed();
    expect(JSON.stringify(mixed())).toBe(JSON.stringify(first));
    expect(first).toHaveLength(records.length);
    const invalid = first.filter((raw) => !parseRecord('call-logs', raw).ok).length / first.length;
    expect(invalid).toBeGreaterThan(0.05);
    expect(invalid).toBeLessThan(0.16);
    expect(first.map((raw) => raw['updatedAt'])).toEqual(records.map((record) => record.updatedAt));
  });

  it('passes every record through untouched for share 0', () => {
    const records = sample('contacts');
    const mixed = [...mixInInvalidRecords('contacts', records, { seed: 3, share: 0 })];
    expect(mixed).toEqual(records);
    expect(mixed[0]).toBe(records[0]);
  });
});
