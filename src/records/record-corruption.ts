import type { ArchiveRecord, RecordByType } from './archive-record.js';
import { hashString, SeededRandom } from './demo/seeded-random.js';
import { formatIssuePath } from './record-issue-path.js';
import type { RecordType } from './record-type.js';

type Path = readonly (string | number)[];
/** What to change, and where validation will complain when that differs from `path`. */
type Change = ({ value: unknown } | { remove: true }) & { path: Path; issuePath?: Path };
type Mutation = (record: Record<string, unknown>) => Change;

const DAY_MS = 86_400_000;

const COMMON = {
  'missing-id': () => ({ path: ['id'], remove: true }),
  'bad-tenant-id': () => ({ path: ['tenantId'], value: '../other-tenant' }),
  'created-after-updated': (record) => ({
    path: ['createdAt'],
    issuePath: ['updatedAt'],
    value: new Date(Date.parse(String(record['updatedAt'])) + DAY_MS).toISOString(),
  }),
  'wrong-schema-version': () => ({ path: ['schemaVersion'], value: 2 }),
} satisfies Record<string, Mutation>;

const BY_TYPE = {
  'call-logs': {
    'bad-e164': () => ({ path: ['from', 'e164'], value: '555-0100' }),
    'negative-seconds': () => ({ path: ['durationSec'], value: -5 }),
    'unknown-enum': () => ({ path: ['outcome'], value: 'exploded' }),
    'bad-date': () => ({ path: ['startedAt'], value: '2024-02-30T10:00:00Z' }),
    'ended-before-started': (record) => ({
      path: ['endedAt'],
      value: new Date(Date.parse(String(record['startedAt'])) - DAY_MS).toISOString(),
    }),
    'bad-sha256': () => ({
      path: ['recordings', 0],
      issuePath: ['recordings', 0, 'sha256'],
      value: { id: 'rec-bad', uri: 's3://demo/bad.wav', durationSec: 1, sizeBytes: 1, sha256: 'not-a-digest' },
    }),
  },
  chats: {
    'unknown-sender': () => ({ path: ['messages', 0, 'senderId'], value: 'ghost-participant' }),
    'unknown-enum': () => ({ path: ['channel'], value: 'carrier-pigeon' }),
    'bad-rating': () => ({ path: ['rating'], value: 7 }),
    'bad-date': () => ({ path: ['startedAt'], value: 'yesterday' }),
    'seq-not-increasing': (record) => {
      const messages = record['messages'] as Record<string, unknown>[];
      const first = messages[0] ?? {};
      return {
        path: ['messages', messages.length],
        issuePath: ['messages', messages.length, 'seq'],
        value: { ...first, id: `${String(first['id'])}-again` },
      };
    },
  },
  contacts: {
    'bad-email': () => ({ path: ['emails', 0, 'value'], value: 'not-an-email' }),
    'bad-e164': () => ({ path: ['phones', 0, 'e164'], value: '+0123' }),
    'bad-timezone': () => ({ path: ['timezone'], value: 'Mars/Olympus_Mons' }),
    'unknown-enum': () => ({ path: ['emails', 0, 'type'], value: 'pager' }),
    'bad-date': () => ({ path: ['createdAt'], value: '2024-13-01T00:00:00Z' }),
  },
} satisfies Record<RecordType, Record<string, Mutation>>;

/** A way {@link corruptRecord} can break a record of type `T`. */
export type CorruptionKind<T extends RecordType = RecordType> = keyof typeof COMMON | keyof (typeof BY_TYPE)[T];

function kindsOf<T extends RecordType>(type: T): readonly CorruptionKind<T>[] {
  return [...Object.keys(COMMON), ...Object.keys(BY_TYPE[type])] as CorruptionKind<T>[];
}

/** Every corruption that applies to each record type. None touches `updatedAt`, so windows and order still hold. */
export const CORRUPTION_KINDS: { readonly [T in RecordType]: readonly CorruptionKind<T>[] } = {
  'call-logs': kindsOf('call-logs'),
  chats: kindsOf('chats'),
  contacts: kindsOf('contacts'),
};

/** A record broken on purpose, and the field its first validation issue names (`messages[0].senderId`). */
export interface CorruptedRecord {
  kind: string;
  record: Record<string, unknown>;
  /** The path `parseRecord` reports for it (array indexes as `[n]`). */
  path: string;
}

function applyAt(target: Record<string, unknown>, change: Change): void {
  const { path } = change;
  let node: unknown = target;
  for (const segment of path.slice(0, -1)) {
    node = (node as Record<string | number, unknown>)[segment];
  }
  const container = node as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if ('remove' in change) delete container[last];
  else container[last] = change.value;
}

/**
 * Returns a broken deep copy of a valid record, for tests and for the demo source's invalid share: the pipeline
 * must route such records to `rejected/`. The original is left untouched.
 *
 * @example
 * const { record, path } = corruptRecord('chats', chat, 'unknown-sender');
 * parseRecord('chats', record); // { ok: false, issues: [{ path: 'messages[0].senderId', ... }] }
 */
export function corruptRecord<T extends RecordType>(type: T, record: RecordByType[T], kind: CorruptionKind<T>): CorruptedRecord {
  const mutations: Record<string, Mutation> = { ...COMMON, ...BY_TYPE[type] };
  const mutation = mutations[kind as string];
  if (mutation === undefined) throw new RangeError(`corruption "${String(kind)}" does not apply to ${type}`);
  const copy = structuredClone(record) as unknown as Record<string, unknown>;
  const change = mutation(copy);
  applyAt(copy, change);
  return { kind: kind as string, record: copy, path: formatIssuePath(change.issuePath ?? change.path) };
}

/**
 * Passes records through, replacing a deterministic share of them (chosen by seed and record id, so the choice
 * does not depend on windows or pages) by corrupted copies.
 *
 * @example
 * for (const raw of mixInInvalidRecords('chats', generateRecords(options), { seed: 7, share: 0.05 })) send(raw);
 */
export function* mixInInvalidRecords<T extends RecordType>(
  type: T,
  records: Iterable<RecordByType[T]>,
  options: { seed: string | number; share: number },
): Generator<RecordByType[T] | Record<string, unknown>, void, undefined> {
  const seed = String(options.seed);
  const kinds = CORRUPTION_KINDS[type] as readonly CorruptionKind<T>[];
  for (const record of records) {
    if (options.share <= 0) {
      yield record;
      continue;
    }
    const random = SeededRandom.fromParts(seed, `invalid:${type}`, hashString((record as ArchiveRecord).id));
    yield random.chance(options.share) ? corruptRecord(type, record, random.pick(kinds)).record : record;
  }
}
