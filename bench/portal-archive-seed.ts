/**
 * Seeds a tenant's online archive for the portal benchmark with the documents and indexes of production: the
 * archive's indexes first (`ArchiveStore.ensureIndexes`, as the importer does before loading), then the demo
 * generator's records turned into archive documents by `archive-documents.ts` (the functions the archive writer
 * stores) and written with unordered `insertMany` batches (a few in flight) into a fresh database.
 */
import type { Db, Document } from 'mongodb';
import { generateRecords } from '../src/records/demo-generator.js';
import type { RecordByType } from '../src/records/archive-record.js';
import type { RecordType } from '../src/records/record-type.js';
import { ARCHIVE_COLLECTIONS, callLogDocument, chatDocuments, contactDocument } from '../src/store/archive/archive-documents.js';
import type { ArchiveStore } from '../src/store/archive/archive-store.js';

/** Share of each record type in the seeded archive: mostly call logs, plus chats (with transcripts) and contacts. */
export const SEED_SHARES: Readonly<Record<RecordType, number>> = { 'call-logs': 0.85, contacts: 0.1, chats: 0.05 };

/** Options of {@link seedArchive}. */
export interface SeedArchiveOptions {
  /** Records in all (call logs, chats and contacts); chat messages come on top. */
  count: number;
  /** Start of the generated records' window; the window lasts {@link SeedArchiveOptions.days}. */
  from: Date;
  /** Length of the window in days. Default 30. */
  days?: number;
  /** Documents per `insertMany`. Default 1,000 (the archive writer's batch size). */
  batchSize?: number;
  /** Called after every batch with the records written so far. */
  onProgress?: (records: number) => void;
}

/** What {@link seedArchive} wrote. */
export interface SeedResult {
  records: Record<RecordType, number>;
  messages: number;
  /** The chat with the longest transcript (the benchmark's transcript page). */
  longestChat: { id: string; messages: number };
  seconds: number;
}

/** Batches sent before waiting for an answer, so generating the next batch overlaps the server's work. */
const MAX_WRITES_IN_FLIGHT = 3;
const SRC = 'bench/portal/manifest-seed.json';

/**
 * Writes `count` demo records of `tenantId` into its archive database `db`.
 *
 * @example
 * const seeded = await seedArchive(db, archiveStore, 'bench-portal', { count: 1_000_000, from: new Date('2026-01-01T00:00:00Z') });
 */
export async function seedArchive(db: Db, archiveStore: ArchiveStore, tenantId: string, options: SeedArchiveOptions): Promise<SeedResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 1_000;
  const hours = (options.days ?? 30) * 24;
  const to = new Date(options.from.getTime() + hours * 3_600_000);
  await archiveStore.ensureIndexes(tenantId);
  const pending = new Map<string, Document[]>();
  const inFlight = new Set<Promise<void>>();
  const flush = async (collection: string): Promise<void> => {
    const documents = pending.get(collection);
    if (!documents || documents.length === 0) return;
    pending.set(collection, []);
    const write: Promise<void> = db
      .collection(collection)
      .insertMany(documents, { ordered: false })
      .then(() => void inFlight.delete(write));
    inFlight.add(write);
    if (inFlight.size >= MAX_WRITES_IN_FLIGHT) await Promise.race(inFlight);
  };
  const push = async (collection: string, document: Document): Promise<void> => {
    const documents = pending.get(collection) ?? [];
    pending.set(collection, documents);
    documents.push(document);
    if (documents.length >= batchSize) await flush(collection);
  };

  const records: Record<RecordType, number> = { 'call-logs': 0, contacts: 0, chats: 0 };
  let messages = 0;
  let written = 0;
  const longestChat = { id: '', messages: -1 };
  for (const [type, share] of Object.entries(SEED_SHARES) as [RecordType, number][]) {
    const wanted = Math.round(options.count * share);
    if (wanted === 0) continue;
    const ratesPerHour = { [type]: Math.ceil(wanted / hours) + 1 };
    for (const record of generateRecords({ seed: 1, tenantId, type, from: options.from, to, ratesPerHour })) {
      if (records[type] >= wanted) break;
      if (type === 'call-logs') {
        await push(ARCHIVE_COLLECTIONS.callLogs, callLogDocument(record as RecordByType['call-logs'], SRC));
      } else if (type === 'contacts') {
        await push(ARCHIVE_COLLECTIONS.contacts, contactDocument(record as RecordByType['contacts'], SRC));
      } else {
        const { room, messages: transcript } = chatDocuments(record as RecordByType['chats'], SRC);
        await push(ARCHIVE_COLLECTIONS.chats, room);
        for (const message of transcript) await push(ARCHIVE_COLLECTIONS.chatMessages, message);
        messages += transcript.length;
        if (transcript.length > longestChat.messages) Object.assign(longestChat, { id: room._id, messages: transcript.length });
      }
      records[type] += 1;
      written += 1;
      if (written % 50_000 === 0) options.onProgress?.(written);
    }
  }
  for (const collection of Object.values(ARCHIVE_COLLECTIONS)) await flush(collection);
  await Promise.all(inFlight);
  return { records, messages, longestChat, seconds: (performance.now() - started) / 1000 };
}
