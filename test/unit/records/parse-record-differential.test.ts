import { describe, expect, it } from 'vitest';
import type { RecordByType } from '../../../src/records/archive-record.js';
import { isCanonicalRecord } from '../../../src/records/canonical-record-check.js';
import { SeededRandom } from '../../../src/records/demo/seeded-random.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord, parseRecordWithSchema } from '../../../src/records/parse-record.js';
import { CORRUPTION_KINDS, corruptRecord, type CorruptionKind } from '../../../src/records/record-corruption.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';

type Node = Record<string, unknown> | unknown[];
type Path = (string | number)[];

const SEED = 'parse-record-differential';
const CASES_PER_TYPE = 1500;
const FROM = new Date('2024-05-01T00:00:00.000Z');
const TO = new Date('2024-05-02T00:00:00.000Z');

/** Demo records and the demo's corrupted copies of some of them: what the mutations start from. */
function basesOf<T extends RecordType>(type: T): Record<string, unknown>[] {
  const records: RecordByType[T][] = [];
  for (const record of generateRecords({ seed: SEED, tenantId: 'acme-co', type, from: FROM, to: TO })) {
    records.push(record);
    if (records.length === 40) break;
  }
  const corrupted = records
    .slice(0, 4)
    .flatMap((record) => CORRUPTION_KINDS[type].map((kind) => corruptRecord(type, record, kind as CorruptionKind<T>).record));
  return [...(records as unknown as Record<string, unknown>[]), ...corrupted];
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}

/** Every place in `root` that holds a value, depth first: the path of the container and the key within it. */
function slotsOf(root: Node): { container: Node; key: string | number; path: Path }[] {
  const slots: { container: Node; key: string | number; path: Path }[] = [];
  const visit = (node: Node, path: Path): void => {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, index) => index) : Object.keys(node);
    for (const key of keys) {
      const value: unknown = (node as Record<string | number, unknown>)[key];
      slots.push({ container: node, key, path: [...path, key] });
      if (isNode(value)) visit(value, [...path, key]);
    }
  };
  visit(root, []);
  return slots;
}

function objectsOf(root: Record<string, unknown>): { node: Record<string, unknown>; path: Path }[] {
  const found = [{ node: root, path: [] as Path }];
  for (const { container, key, path } of slotsOf(root)) {
    const value: unknown = (container as Record<string | number, unknown>)[key];
    if (isNode(value) && !Array.isArray(value)) found.push({ node: value, path });
  }
  return found;
}

function setOwn(node: Node, key: string | number, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

const OTHER_TYPES: readonly unknown[] = [null, 0, 1.5, -7, '', 'text', true, false, [], {}, [1, 'a'], { nested: { deeper: true } }];
const NUMBERS: readonly number[] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, -1, 0.5, 1, 5, 6, 2 ** 53, 2 ** 53 + 2];
const MORE_NUMBERS: readonly number[] = [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2_592_000, 2_592_001, 1e21, 5e-324];
const LENGTHS: readonly number[] = [0, 1, 2, 19, 20, 21, 50, 51, 64, 65, 100, 101, 200, 201, 254, 255, 256, 500, 501, 2000, 2001, 2048, 2049, 10_001];
const UNITS: readonly string[] = ['x', 'é', '😀', 'a-', '9'];
const TIMESTAMPS: readonly string[] = [
  '2024-05-01T10:00:00Z',
  '2024-05-01T10:00:00.1Z',
  '2024-05-01T10:00:00.123456Z',
  '2024-05-01T10:00:00.000+00:00',
  '2024-05-01T10:00:00.000z',
  '2024-05-01 10:00:00.000Z',
  '2024-05-01T10:00Z',
  '2024-02-29T10:00:00.000Z',
  '2023-02-29T10:00:00.000Z',
  '2024-04-31T10:00:00.000Z',
  '2024-05-01T24:00:00.000Z',
  '2024-05-01T10:60:00.000Z',
  '0000-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '+002024-05-01T10:00:00.000Z',
  '2024-05-01',
  '1714557600000',
];
const DEFAULTED: readonly string[] = [
  'attributes',
  'tags',
  'agents',
  'recordings',
  'visitor',
  'messages',
  'emails',
  'phones',
  'social',
  'externalIds',
  'customFields',
];
const EXTRA_KEYS: readonly string[] = ['crmCaseId', 'sentiment', 'attributes', 'id', 'toJSON', 'constructor', '0', 'a b', ''];
const NESTED_ATTRIBUTES: readonly unknown[] = [
  { region: 'eu-west-1', nested: { level: { deep: [1, { x: null }] } } },
  { list: [[], {}, [[[]]]], empty: {} },
  JSON.parse('{"__proto__":{"polluted":true}}'),
  { inner: JSON.parse('{"__proto__":1}') },
  [],
  null,
  'text',
];

/** A timestamp `ms` milliseconds off `value`, in the canonical form: shifts the cross-field rules, not the format. */
function shifted(value: string, ms: number): string | undefined {
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at + ms).toISOString();
}

/** The mutations: each changes one random place of `record` in place and says what it did. */
const MUTATIONS: Record<string, (record: Record<string, unknown>, random: SeededRandom) => string> = {
  'top-level key reorder': (record, random) => {
    const entries = Object.entries(record);
    const moved = entries.splice(random.int(0, entries.length - 1), 1);
    entries.splice(random.int(0, entries.length), 0, ...moved);
    for (const key of Object.keys(record)) delete record[key];
    for (const [key, value] of entries) setOwn(record, key, value);
    return `move ${moved[0]?.[0]} in (record)`;
  },
  'defaulted field left out': (record, random) => {
    const present = DEFAULTED.filter((key) => Object.hasOwn(record, key));
    if (present.length === 0) return 'no defaulted field';
    const key = random.pick(present);
    delete record[key];
    return `remove ${key}`;
  },
  'unknown top-level field': (record, random) => {
    const key = random.pick(['crmCaseId', 'sentiment', 'region']);
    record[key] = random.pick(['CASE-9', { score: 0.8 }, [1, 2], null]);
    return `extra ${key}`;
  },
  'type change': (record, random) => {
    const slot = random.pick(slotsOf(record));
    const value = random.pick(OTHER_TYPES);
    setOwn(slot.container, slot.key, structuredClone(value));
    return `${slot.path.join('.')} = ${JSON.stringify(value)}`;
  },
  'key reorder': (record, random) => {
    const { node, path } = random.pick(objectsOf(record));
    const entries = Object.entries(node);
    const moved = entries.splice(random.int(0, Math.max(0, entries.length - 1)), 1);
    entries.splice(random.int(0, entries.length), 0, ...moved);
    for (const key of Object.keys(node)) delete node[key];
    for (const [key, value] of entries) setOwn(node, key, value);
    return `reorder ${path.join('.') || '(record)'}`;
  },
  'extra key': (record, random) => {
    const { node, path } = random.pick(objectsOf(record));
    const key = random.pick(EXTRA_KEYS);
    setOwn(node, key, random.pick(['value', 1, null, { a: 1 }]));
    return `extra ${path.join('.') || '(record)'}.${key}`;
  },
  '__proto__ key': (record, random) => {
    const candidates = objectsOf(record);
    const { node, path } = random.chance(0.5) ? { node: record, path: [] } : random.pick(candidates);
    setOwn(node, '__proto__', random.pick([{ polluted: true }, 'x', null]));
    return `__proto__ on ${path.join('.') || '(record)'}`;
  },
  'missing field': (record, random) => {
    const { node, path } = random.pick(objectsOf(record).filter((entry) => Object.keys(entry.node).length > 0));
    const key = random.pick(Object.keys(node));
    delete node[key];
    return `remove ${[...path, key].join('.')}`;
  },
  'undefined field': (record, random) => {
    const { node, path } = random.pick(objectsOf(record).filter((entry) => Object.keys(entry.node).length > 0));
    const key = random.pick(Object.keys(node));
    node[key] = undefined;
    return `${[...path, key].join('.')} = undefined`;
  },
  'overlong string': (record, random) => {
    const strings = slotsOf(record).filter((slot) => typeof (slot.container as Record<string | number, unknown>)[slot.key] === 'string');
    const slot = random.pick(strings);
    const length = random.pick(LENGTHS);
    const unit = random.pick(UNITS);
    setOwn(slot.container, slot.key, unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
    return `${slot.path.join('.')} = ${length} chars of ${unit}`;
  },
  'non-canonical timestamp': (record, random) => {
    const timestamps = slotsOf(record).filter((slot) => {
      const value: unknown = (slot.container as Record<string | number, unknown>)[slot.key];
      return typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value);
    });
    if (timestamps.length === 0) return 'no timestamp';
    const slot = random.pick(timestamps);
    const current = (slot.container as Record<string | number, unknown>)[slot.key] as string;
    const value = random.chance(0.4) ? (shifted(current, random.pick([-86_400_000, -1, 1, 86_400_000])) ?? current) : random.pick(TIMESTAMPS);
    setOwn(slot.container, slot.key, value);
    return `${slot.path.join('.')} = ${value}`;
  },
  'odd number': (record, random) => {
    const numbers = slotsOf(record).filter((slot) => typeof (slot.container as Record<string | number, unknown>)[slot.key] === 'number');
    const slot = random.pick(numbers.length > 0 ? numbers : slotsOf(record));
    const value = random.pick(random.chance(0.7) ? NUMBERS : MORE_NUMBERS);
    setOwn(slot.container, slot.key, value);
    return `${slot.path.join('.')} = ${Object.is(value, -0) ? '-0' : String(value)}`;
  },
  'nested attributes': (record, random) => {
    const value = structuredClone(random.pick(NESTED_ATTRIBUTES));
    const key = random.pick(['attributes', 'customFields', 'externalIds']);
    if (!Object.hasOwn(record, key) && key !== 'attributes') return `no ${key}`;
    setOwn(record, key, value);
    return `${key} = ${JSON.stringify(value)}`;
  },
  'array edit': (record, random) => {
    const arrays = slotsOf(record).filter((slot) => Array.isArray((slot.container as Record<string | number, unknown>)[slot.key]));
    if (arrays.length === 0) return 'no array';
    const slot = random.pick(arrays);
    const array = (slot.container as Record<string | number, unknown[]>)[slot.key] as unknown[];
    const edit = random.pick(['duplicate', 'remove', 'swap', 'empty', 'grow']);
    if (edit === 'duplicate' && array.length > 0) array.push(structuredClone(random.pick(array)));
    if (edit === 'remove' && array.length > 0) array.splice(random.int(0, array.length - 1), 1);
    if (edit === 'swap' && array.length > 1) array.reverse();
    if (edit === 'empty') array.length = 0;
    if (edit === 'grow' && array.length > 0) while (array.length <= 50) array.push(structuredClone(array[0]));
    return `${edit} ${slot.path.join('.')}`;
  },
};
/**
 * A third of the cases draws from every mutation; a third from those that often leave a record valid but not canonical
 * (zod copies it); a third from edits of values only, which often leave it canonical (handed back as it is).
 */
const KIND_SETS: readonly (readonly string[])[] = [
  Object.keys(MUTATIONS),
  ['top-level key reorder', 'defaulted field left out', 'unknown top-level field', 'nested attributes', 'non-canonical timestamp'],
  ['overlong string', 'odd number', 'non-canonical timestamp', 'array edit'],
];

/** JSON text that also shows what JSON.stringify hides: undefined values, NaN and infinities, -0. */
function shown(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item === undefined
      ? '<undefined>'
      : typeof item === 'number' && (!Number.isFinite(item) || Object.is(item, -0))
        ? `<${Object.is(item, -0) ? '-0' : String(item)}>`
        : item,
  );
}

describe('parseRecord against the zod-only parseRecordWithSchema, on random mutations of demo records', () => {
  it.each(RECORD_TYPES.map((type) => [type]))('%s: the same answer for every mutation', (type) => {
    const bases = basesOf(type);
    const tally = { canonical: 0, acceptedOtherwise: 0, rejected: 0 };
    const mismatches: string[] = [];
    for (let index = 0; index < CASES_PER_TYPE; index += 1) {
      const random = SeededRandom.fromParts(SEED, type, index);
      const input = structuredClone(random.pick(bases));
      const kinds = KIND_SETS[index % KIND_SETS.length] as readonly string[];
      const applied = [MUTATIONS[kinds[Math.floor(index / KIND_SETS.length) % kinds.length] as string]?.(input, random)];
      for (let extra = random.int(0, 2); extra > 0; extra -= 1) applied.push(MUTATIONS[random.pick(kinds)]?.(input, random));
      const before = shown(input);

      const reference = parseRecordWithSchema(type, input);
      const fast = parseRecord(type, input);

      if (isCanonicalRecord(type, input)) tally.canonical += 1;
      else if (reference.ok) tally.acceptedOtherwise += 1;
      else tally.rejected += 1;
      const same =
        fast.ok && reference.ok ? JSON.stringify(fast.record) === JSON.stringify(reference.record) : JSON.stringify(fast) === JSON.stringify(reference);
      if (!same || shown(input) !== before) {
        mismatches.push(`case ${index} (${applied.join('; ')}): fast ${shown(fast).slice(0, 400)} / zod ${shown(reference).slice(0, 400)}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(tally.canonical, JSON.stringify(tally)).toBeGreaterThan(CASES_PER_TYPE * 0.05);
    expect(tally.acceptedOtherwise, JSON.stringify(tally)).toBeGreaterThan(CASES_PER_TYPE * 0.05);
    expect(tally.rejected, JSON.stringify(tally)).toBeGreaterThan(CASES_PER_TYPE * 0.3);
  });

  it('hands a canonical record back as it is, and copies any other', () => {
    const [record] = generateRecords({ seed: SEED, tenantId: 'acme-co', type: 'chats', from: FROM, to: TO });
    const canonical = parseRecord('chats', record);
    expect(canonical.ok && canonical.record).toBe(record);
    const reordered = { tenantId: record?.tenantId, ...record };
    const copied = parseRecord('chats', reordered);
    expect(copied.ok && copied.record).not.toBe(reordered);
    expect(JSON.stringify(copied.ok && copied.record)).toBe(JSON.stringify(record));
  });
});
