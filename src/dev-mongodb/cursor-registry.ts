import { calculateObjectSize, Long, type Document } from 'bson';
import { CommandError, ErrorCode } from './command-error.js';

const MAX_BATCH_BYTES = 16 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** MongoDB's default size of a first batch. */
export const DEFAULT_FIRST_BATCH_SIZE = 101;

interface OpenCursor {
  id: Long;
  namespace: string;
  remaining: Document[];
  lastUsed: number;
}

/** The `cursor` sub-document of a find/aggregate/getMore reply. */
export interface CursorReply {
  id: Long;
  ns: string;
  firstBatch?: Document[];
  nextBatch?: Document[];
}

function takeBatch(documents: Document[], batchSize: number | undefined): Document[] {
  const limit = batchSize === undefined ? Number.POSITIVE_INFINITY : batchSize;
  const batch: Document[] = [];
  let bytes = 0;
  while (batch.length < limit && batch.length < documents.length) {
    const next = documents[batch.length] as Document;
    bytes += calculateObjectSize(next);
    if (batch.length > 0 && bytes > MAX_BATCH_BYTES) break;
    batch.push(next);
  }
  documents.splice(0, batch.length);
  return batch;
}

/**
 * Server-side cursors over result snapshots. Ids are non-zero Longs; a cursor closes (id 0) once its last batch is
 * sent. Idle cursors are dropped after ten minutes, as MongoDB does.
 */
export class CursorRegistry {
  private readonly cursors = new Map<string, OpenCursor>();
  private nextId = BigInt(Math.floor(Math.random() * 1e9)) * 1000n + 1n;

  /** Sends the first batch of `documents`; keeps the rest under a new cursor id unless `singleBatch`. */
  open(namespace: string, documents: Document[], batchSize: number | undefined, singleBatch = false): CursorReply {
    this.dropIdle();
    const remaining = [...documents];
    const firstBatch = takeBatch(remaining, batchSize ?? DEFAULT_FIRST_BATCH_SIZE);
    if (remaining.length === 0 || singleBatch) return { id: Long.ZERO, ns: namespace, firstBatch };
    const id = Long.fromBigInt((this.nextId += 1n));
    this.cursors.set(id.toString(), { id, namespace, remaining, lastUsed: Date.now() });
    return { id, ns: namespace, firstBatch };
  }

  /** The next batch of an open cursor; throws CursorNotFound for an unknown or exhausted id. */
  getMore(cursorId: unknown, batchSize: number | undefined): CursorReply {
    const key = String(cursorId);
    const cursor = this.cursors.get(key);
    if (!cursor) throw new CommandError(ErrorCode.CursorNotFound, `cursor id ${key} not found`);
    const nextBatch = takeBatch(cursor.remaining, batchSize && batchSize > 0 ? batchSize : undefined);
    cursor.lastUsed = Date.now();
    if (cursor.remaining.length > 0) return { id: cursor.id, ns: cursor.namespace, nextBatch };
    this.cursors.delete(key);
    return { id: Long.ZERO, ns: cursor.namespace, nextBatch };
  }

  /** Closes a cursor; false when it was not open. */
  kill(cursorId: unknown): boolean {
    return this.cursors.delete(String(cursorId));
  }

  /** Number of open cursors. */
  get openCount(): number {
    return this.cursors.size;
  }

  private dropIdle(): void {
    const now = Date.now();
    for (const [key, cursor] of this.cursors) {
      if (now - cursor.lastUsed > IDLE_TIMEOUT_MS) this.cursors.delete(key);
    }
  }
}
