import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Binary, type Collection, type Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
import { assertTenantId } from '../tenants/tenant-id.js';

/** The two file formats of a results export. */
export type ExportFormat = 'json' | 'csv';
export type ResultExportStatus = 'queued' | 'running' | 'done' | 'failed';

/** The finished file of an export, kept in MongoDB in chunks so any portal process can serve it. */
export interface ResultExportFile {
  name: string;
  contentType: string;
  records: number;
  /** Transcript messages in the file (exports of chats with their messages only). */
  messages?: number;
  bytes: number;
  sha256: string;
}

/** How far a running export got: records (and, with messages, transcript messages) and bytes written. */
export interface ResultExportProgress {
  records: number;
  messages?: number;
  bytes: number;
}

/** One results export: who asked for what, how far it got, and its file once done. */
export interface ResultExport {
  id: string;
  tenantId: string;
  /** The user who asked; only they see it and download it. */
  userId: string;
  type: RecordType;
  format: ExportFormat;
  /** The validated archive filter, JSON-safe (instants as ISO-8601 text). */
  filter: Record<string, unknown>;
  /** Personal data masked (the user could not see it unmasked when asking). */
  masked: boolean;
  /**
   * Chats only: each chat with its transcript (JSON: a `messages` array per chat; CSV: one row per message, the
   * chat's columns repeated). False for the other types and for "chats only".
   */
  withMessages: boolean;
  status: ResultExportStatus;
  progress: ResultExportProgress;
  limits: { maxRecords: number; maxBytes: number };
  file: ResultExportFile | null;
  error: { code: string; message: string } | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** When the export and its file are deleted (TTL). */
  expiresAt: Date;
}

/** The current download link of an export: only the token's hash is stored. */
interface DownloadLinkDocument {
  tokenHash: string;
  expiresAt: Date;
  usedAt: Date | null;
}

interface ResultExportDocument extends Omit<ResultExport, 'id' | 'withMessages'> {
  _id: string;
  /** Absent on exports asked for before chats could carry their messages. */
  withMessages?: boolean;
  link: DownloadLinkDocument | null;
}

interface ResultExportChunkDocument {
  _id: string;
  exportId: string;
  tenantId: string;
  n: number;
  data: Binary;
  expiresAt: Date;
}

/** Bytes per stored chunk (well under MongoDB's 16 MiB document limit). */
export const RESULT_EXPORT_CHUNK_BYTES = 255 * 1024;

/** The state of an export's download link, as {@link ResultExportsStore.useLink} found it. */
export type LinkUse = { ok: true; export: ResultExport } | { ok: false; reason: 'invalid' | 'expired' | 'used' };

const toExport = ({ _id, link: _link, withMessages, ...rest }: ResultExportDocument): ResultExport => ({
  id: _id,
  ...rest,
  withMessages: withMessages ?? false,
});

/**
 * The control plane's `resultExports` collection (one document per export, with the hash of its current download
 * link) and `resultExportChunks` (the finished file in chunks of {@link RESULT_EXPORT_CHUNK_BYTES}). Both carry
 * `expiresAt` with a TTL index, so exports and files disappear on their own; expiry is also checked on every read.
 * Every method is scoped to one tenant.
 *
 * @example
 * const exports = new ResultExportsStore(db);
 * await exports.ensureIndexes();
 */
export class ResultExportsStore {
  private readonly exports: Collection<ResultExportDocument>;
  private readonly chunks: Collection<ResultExportChunkDocument>;

  constructor(db: Db) {
    this.exports = db.collection<ResultExportDocument>('resultExports');
    this.chunks = db.collection<ResultExportChunkDocument>('resultExportChunks');
  }

  async ensureIndexes(): Promise<void> {
    await this.exports.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires_ttl' });
    await this.exports.createIndex({ tenantId: 1, userId: 1, createdAt: -1 }, { name: 'tenant_user_created' });
    await this.chunks.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires_ttl' });
    await this.chunks.createIndex({ exportId: 1, n: 1 }, { name: 'export_n' });
  }

  /** Stores a new export in status `queued` (`withMessages` defaults to false). */
  async create(
    input: Omit<ResultExport, 'status' | 'progress' | 'file' | 'error' | 'updatedAt' | 'finishedAt' | 'withMessages'> & { withMessages?: boolean },
  ): Promise<ResultExport> {
    const doc: ResultExportDocument = {
      _id: input.id,
      tenantId: assertTenantId(input.tenantId),
      userId: input.userId,
      type: input.type,
      format: input.format,
      filter: input.filter,
      masked: input.masked,
      withMessages: input.withMessages ?? false,
      status: 'queued',
      progress: { records: 0, bytes: 0 },
      limits: input.limits,
      file: null,
      error: null,
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
      finishedAt: null,
      expiresAt: input.expiresAt,
      link: null,
    };
    await this.exports.insertOne(doc);
    return toExport(doc);
  }

  /** The export, unless it does not exist, belongs to another tenant or has expired. */
  async get(tenantId: string, exportId: string, now = new Date()): Promise<ResultExport | undefined> {
    const doc = await this.exports.findOne({ _id: String(exportId), tenantId: assertTenantId(tenantId) });
    return doc && doc.expiresAt.getTime() > now.getTime() ? toExport(doc) : undefined;
  }

  /** A user's exports, newest first (at most `limit`, default 20). */
  async listForUser(tenantId: string, userId: string, now = new Date(), limit = 20): Promise<ResultExport[]> {
    const docs = await this.exports
      .find({ tenantId: assertTenantId(tenantId), userId: String(userId), expiresAt: { $gt: now } })
      .sort({ createdAt: -1 })
      .limit(Math.min(Math.max(limit, 1), 100))
      .toArray();
    return docs.map(toExport);
  }

  /** Marks a queued (or retried) export as running; false when it is already done or failed. */
  async markRunning(tenantId: string, exportId: string, now = new Date()): Promise<boolean> {
    const result = await this.exports.updateOne(
      { _id: exportId, tenantId: assertTenantId(tenantId), status: { $in: ['queued', 'running'] } },
      { $set: { status: 'running', progress: { records: 0, bytes: 0 }, updatedAt: now } },
    );
    return result.matchedCount === 1;
  }

  async setProgress(tenantId: string, exportId: string, progress: ResultExportProgress, now = new Date()): Promise<void> {
    await this.exports.updateOne({ _id: exportId, tenantId: assertTenantId(tenantId), status: 'running' }, { $set: { progress, updatedAt: now } });
  }

  async markFailed(tenantId: string, exportId: string, error: { code: string; message: string }, now = new Date()): Promise<void> {
    await this.exports.updateOne(
      { _id: exportId, tenantId: assertTenantId(tenantId), status: { $in: ['queued', 'running'] } },
      { $set: { status: 'failed', error: { code: error.code, message: error.message.slice(0, 1000) }, updatedAt: now, finishedAt: now } },
    );
  }

  /**
   * Copies the finished spool file into chunks (replacing those of an earlier attempt) and marks the export done.
   * The chunks expire with the export.
   */
  async saveFile(tenantId: string, exportId: string, localPath: string, file: ResultExportFile, now = new Date()): Promise<void> {
    const tenant = assertTenantId(tenantId);
    const doc = await this.exports.findOne({ _id: exportId, tenantId: tenant });
    if (!doc)
      throw new RetentionError(
        'ERR_EXPORT_NOT_FOUND',
        `results export ${exportId} of "${tenant}" no longer exists (it expired or was removed): ask for a new export`,
      );
    await this.chunks.deleteMany({ exportId, tenantId: tenant });
    let n = 0;
    for await (const piece of createReadStream(localPath, { highWaterMark: RESULT_EXPORT_CHUNK_BYTES })) {
      const data = piece as Buffer;
      await this.chunks.insertOne({ _id: `${exportId}.${n}`, exportId, tenantId: tenant, n, data: new Binary(data), expiresAt: doc.expiresAt });
      n += 1;
    }
    await this.exports.updateOne(
      { _id: exportId, tenantId: tenant },
      {
        $set: {
          status: 'done',
          file,
          progress: { records: file.records, ...(file.messages !== undefined ? { messages: file.messages } : {}), bytes: file.bytes },
          error: null,
          updatedAt: now,
          finishedAt: now,
        },
      },
    );
  }

  /** The stored file of a finished export as a stream of its bytes, chunk by chunk. */
  openFile(tenantId: string, exportId: string): Readable {
    const cursor = this.chunks.find({ exportId, tenantId: assertTenantId(tenantId) }).sort({ n: 1 });
    return Readable.from(
      (async function* chunksInOrder() {
        let expected = 0;
        for await (const chunk of cursor) {
          if (chunk.n !== expected)
            throw new RetentionError('ERR_EXPORT_FILE_INCOMPLETE', `results export ${exportId} is missing part ${expected}: ask for a new export`);
          expected += 1;
          yield Buffer.from(chunk.data.buffer);
        }
      })(),
    );
  }

  /** Replaces the export's download link (a new token's hash); the previous link stops working. */
  async setLink(tenantId: string, exportId: string, tokenHash: string, expiresAt: Date, now = new Date()): Promise<void> {
    await this.exports.updateOne(
      { _id: exportId, tenantId: assertTenantId(tenantId), status: 'done' },
      { $set: { link: { tokenHash, expiresAt, usedAt: null }, updatedAt: now } },
    );
  }

  /**
   * Uses up the export's download link if `matches(storedHash)` holds, it has not expired and it was not used: the
   * `usedAt` update is conditional, so of two concurrent downloads with the same link exactly one wins.
   */
  async useLink(tenantId: string, exportId: string, userId: string, matches: (storedHash: string) => boolean, now = new Date()): Promise<LinkUse> {
    const tenant = assertTenantId(tenantId);
    const doc = await this.exports.findOne({ _id: String(exportId), tenantId: tenant, userId: String(userId), status: 'done' });
    if (!doc || doc.expiresAt.getTime() <= now.getTime() || !doc.link || !matches(doc.link.tokenHash)) return { ok: false, reason: 'invalid' };
    if (doc.link.usedAt !== null) return { ok: false, reason: 'used' };
    if (doc.link.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
    const used = await this.exports.findOneAndUpdate(
      { _id: doc._id, tenantId: tenant, 'link.tokenHash': doc.link.tokenHash, 'link.usedAt': null },
      { $set: { 'link.usedAt': now, updatedAt: now } },
      { returnDocument: 'after' },
    );
    return used ? { ok: true, export: toExport(used) } : { ok: false, reason: 'used' };
  }
}
