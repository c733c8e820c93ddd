import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolFile } from '../archive/spool-file.js';
import { RetentionError } from '../errors.js';
import { maskRecord } from '../masking/mask-record.js';
import type { RecordType } from '../records/record-type.js';
import type { ArchivedChat } from '../store/archive/archive-documents.js';
import type { Page } from '../store/archive/archive-filters.js';
import type { ArchiveAccess } from '../store/archive/archive-scope.js';
import type { ArchiveStore } from '../store/archive/archive-store.js';
import { writeChatWithTranscript } from './chat-transcript-export.js';
import { csvLine } from './csv-encoding.js';
import { chatMessageHeader, exportCells, exportHeader, type ExportedRecordByType } from './export-columns.js';
import type { ExportFormat, ResultExport, ResultExportFile, ResultExportProgress, ResultExportsStore } from './result-exports-store.js';
import { resolveResultsExportOptions, type ResultsExportOptions } from './results-export-options.js';

/** What {@link runResultsExport} needs. */
export interface RunResultsExportDeps {
  archive: Pick<ArchiveStore, 'listCallLogs' | 'listChats' | 'listContacts' | 'chatTranscript'>;
  exports: ResultExportsStore;
  options?: ResultsExportOptions;
  now?: () => Date;
}

type AnyExported = ExportedRecordByType[RecordType];

function listPage(
  archive: RunResultsExportDeps['archive'],
  type: RecordType,
  access: ArchiveAccess,
  filter: unknown,
  page: { limit: number; cursor?: string },
): Promise<Page<AnyExported>> {
  if (type === 'call-logs') return archive.listCallLogs(access, filter, page);
  if (type === 'chats') return archive.listChats(access, filter, page);
  return archive.listContacts(access, filter, page);
}

/** How a format frames its records. */
interface ExportEncoding {
  contentType: string;
  start: string;
  record(record: AnyExported, index: number): string;
  end(records: number): string;
}

function encodingOf(format: ExportFormat, type: RecordType, withMessages: boolean): ExportEncoding {
  if (format === 'csv') {
    return {
      contentType: 'text/csv; charset=utf-8',
      start: `\uFEFF${csvLine(withMessages ? chatMessageHeader() : exportHeader(type))}`,
      record: (record) => csvLine(exportCells(type, record as never)),
      end: () => '',
    };
  }
  return {
    contentType: 'application/json; charset=utf-8',
    start: '[',
    record: (record, index) => `${index === 0 ? '\n' : ',\n'}${JSON.stringify(record)}`,
    end: (records) => (records === 0 ? ']\n' : '\n]\n'),
  };
}

const stamp = (date: Date): string => date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** `chats-20260505-090000.csv`, `chats-with-messages-20260505-090000-unmasked.json`. */
const fileNameOf = (job: ResultExport): string =>
  `${job.type}${job.withMessages ? '-with-messages' : ''}-${stamp(job.createdAt)}${job.masked ? '' : '-unmasked'}.${job.format}`;

/** While a long transcript is written, progress is stored again after at least this many more bytes. */
const PROGRESS_EVERY_BYTES = 1024 * 1024;

function tooLarge(what: string): RetentionError {
  return new RetentionError(
    'ERR_EXPORT_TOO_LARGE',
    `the results have more than ${what}, the export limit: narrow the filter (a shorter time range, a tag, an outcome) and export again`,
  );
}

/**
 * Writes one results export: reads the export's document, pages through the archive with its filter (keyset pages,
 * only the export's record type in scope), masks each record unless the export is unmasked, encodes JSON (an array
 * of complete records) or CSV (a header and the columns of `EXPORT_COLUMNS`, UTF-8 with a byte-order mark for
 * spreadsheets, formula-safe cells) into a local spool file, then stores the file with the export and marks it done.
 *
 * Chats `withMessages` also carry their transcripts, read page by page through the archive's transcript method
 * and masked like the portal's transcript page (see {@link writeChatWithTranscript}): JSON gives each chat a
 * `messages` array, CSV has one row per message with the chat's columns repeated.
 *
 * Limits: more records than `limits.maxRecords` or more bytes than `limits.maxBytes` (messages included) fail the
 * export with `ERR_EXPORT_TOO_LARGE` (no partial file is kept). Progress (records, messages, bytes) is stored after
 * each page of records and, within a long transcript, after every further MiB. Running it again after a success
 * changes nothing.
 *
 * @example
 * await runResultsExport({ tenantId: 'acme', exportId }, { archive, exports }, (p) => job.updateProgress(p));
 */
export async function runResultsExport(
  data: { tenantId: string; exportId: string },
  deps: RunResultsExportDeps,
  onProgress: (progress: ResultExportProgress) => unknown = () => undefined,
): Promise<ResultExportFile> {
  const options = resolveResultsExportOptions(deps.options);
  const now = deps.now ?? (() => new Date());
  const job = await deps.exports.get(data.tenantId, data.exportId, now());
  if (!job)
    throw new RetentionError('ERR_EXPORT_NOT_FOUND', `results export ${data.exportId} of "${data.tenantId}" does not exist or expired: ask for a new export`);
  if (job.status === 'done' && job.file) return job.file;
  if (!(await deps.exports.markRunning(job.tenantId, job.id, now()))) {
    throw new RetentionError('ERR_EXPORT_NOT_FOUND', `results export ${job.id} has already failed: ask for a new export`);
  }

  const access: ArchiveAccess = { tenantId: job.tenantId, scope: { types: [job.type] } };
  const withMessages = job.withMessages && job.type === 'chats';
  const masking = { unmasked: !job.masked };
  const encoding = encodingOf(job.format, job.type, withMessages);
  const localPath = join(options.spoolDir, `result-export-${job.id}-${randomBytes(4).toString('hex')}.tmp`);
  const spool = new SpoolFile(localPath);
  let bytes = 0;
  let records = 0;
  let messages = 0;
  let reportedBytes = 0;
  const progress = (): ResultExportProgress => ({ records, ...(withMessages ? { messages } : {}), bytes });
  const report = async (): Promise<void> => {
    reportedBytes = bytes;
    await deps.exports.setProgress(job.tenantId, job.id, progress(), now());
    await onProgress(progress());
  };
  const write = async (text: string): Promise<void> => {
    const size = Buffer.byteLength(text, 'utf8');
    if (bytes + size > job.limits.maxBytes) throw tooLarge(`${job.limits.maxBytes} bytes`);
    bytes += size;
    await spool.write(text);
  };
  try {
    await write(encoding.start);
    let cursor: string | undefined;
    do {
      const page = await listPage(deps.archive, job.type, access, job.filter, { limit: options.pageSize, ...(cursor !== undefined ? { cursor } : {}) });
      if (records + page.items.length > job.limits.maxRecords) throw tooLarge(`${job.limits.maxRecords} records`);
      for (const item of page.items) {
        const shown = maskRecord(job.type, item as never, masking);
        if (withMessages) {
          await writeChatWithTranscript(shown as ArchivedChat, records, {
            archive: deps.archive,
            access,
            format: job.format,
            masking,
            pageSize: options.pageSize,
            write,
            onMessages: async (count) => {
              messages += count;
              if (bytes - reportedBytes >= PROGRESS_EVERY_BYTES) await report();
            },
          });
        } else {
          await write(encoding.record(shown, records));
        }
        records += 1;
      }
      await report();
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    await write(encoding.end(records));
    const digest = await spool.finish();
    const file: ResultExportFile = {
      name: fileNameOf(job),
      contentType: encoding.contentType,
      records,
      ...(withMessages ? { messages } : {}),
      bytes: digest.bytes,
      sha256: digest.sha256,
    };
    await deps.exports.saveFile(job.tenantId, job.id, localPath, file, now());
    return file;
  } catch (err) {
    await spool.abort();
    throw err;
  } finally {
    await rm(localPath, { force: true });
  }
}
