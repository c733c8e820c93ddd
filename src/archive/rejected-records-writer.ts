import { join } from 'node:path';
import { RetentionError } from '../errors.js';
import { assertPathSegment } from './drop-layout.js';
import type { ManifestFile } from './manifest.js';
import { SpoolFile } from './spool-file.js';

/** One problem found while validating a record: where (dotted path, `''` for the record itself) and what. */
export interface RejectionIssue {
  path: string;
  message: string;
}

/** A record that failed validation, as written to `rejected/`: the reason, the issues and the raw record, untouched. */
export interface RejectedRecord {
  reason: string;
  issues: RejectionIssue[];
  record: unknown;
}

/**
 * The rejected-records file of one window, once closed: where it is on this machine, and the `records`, `bytes` and
 * `sha256` (of the bytes on disk) its manifest entry will state (see `rejectedFileEntry`).
 */
export interface RejectedFile extends Pick<ManifestFile, 'records' | 'bytes' | 'sha256'> {
  localPath: string;
  fileName: string;
}

/** Options of {@link RejectedRecordsWriter}. */
export interface RejectedRecordsWriterOptions {
  /** Local spool directory; it must exist. */
  directory: string;
  /** File name, e.g. `rejectedFileName(type, window, runId)`. */
  fileName: string;
}

function serializeRejection(rejection: RejectedRecord): string {
  const issues = rejection.issues.map((issue) => ({ path: String(issue.path), message: String(issue.message) }));
  let record: string;
  try {
    record = JSON.stringify(rejection.record) ?? 'null';
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    record = JSON.stringify({ unserializable: detail, text: String(rejection.record) });
  }
  return `{"reason":${JSON.stringify(String(rejection.reason))},"issues":${JSON.stringify(issues)},"record":${record}}`;
}

/**
 * Writes rejected records to one spool file, a JSON array with one `{ reason, issues, record }` per line
 * (same framing as record files; never gzipped). The file is only created by the first `write`, so a window
 * without rejections has no rejected file. A raw record that cannot be serialized is kept as
 * `{ unserializable, text }` rather than dropped.
 *
 * @example
 * const rejected = new RejectedRecordsWriter({ directory: spoolDir, fileName: rejectedFileName('chats', window, runId) });
 * await rejected.write({ reason: 'schema', issues: [{ path: 'updatedAt', message: 'Required' }], record: raw });
 * const file = await rejected.close(); // RejectedFile, or undefined when nothing was written
 */
export class RejectedRecordsWriter {
  private readonly fileName: string;
  private readonly directory: string;
  private spool: SpoolFile | undefined;
  private records = 0;
  private closed = false;

  constructor(options: RejectedRecordsWriterOptions) {
    this.directory = options.directory;
    this.fileName = assertPathSegment(options.fileName);
  }

  /** Number of rejected records written so far. */
  get count(): number {
    return this.records;
  }

  /** Appends one rejected record (waits when the disk is behind). */
  async write(rejection: RejectedRecord): Promise<void> {
    if (this.closed) throw new RetentionError('ERR_SPOOL_FINISHED', `rejected file ${this.fileName} is already closed`);
    this.spool ??= new SpoolFile(join(this.directory, this.fileName));
    const line = serializeRejection(rejection);
    await this.spool.write(this.records === 0 ? `[\n${line}` : `,\n${line}`);
    this.records += 1;
  }

  /** Closes the file and returns it, or `undefined` when no record was rejected. */
  async close(): Promise<RejectedFile | undefined> {
    this.closed = true;
    const spool = this.spool;
    if (spool === undefined) return undefined;
    await spool.write('\n]\n');
    const digest = await spool.finish();
    return { localPath: spool.localPath, fileName: this.fileName, records: this.records, ...digest };
  }

  /** Stops and deletes the partial file. Never throws. */
  async abort(): Promise<void> {
    this.closed = true;
    await this.spool?.abort();
  }
}
