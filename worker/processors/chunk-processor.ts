import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recordFileName, recordFilePath, rejectedFileName, rejectedFilePath } from '../../src/archive/drop-layout.js';
import { writeRecordFiles } from '../../src/archive/record-file-writer.js';
import { RejectedRecordsWriter } from '../../src/archive/rejected-records-writer.js';
import { parseRecord } from '../../src/records/parse-record.js';
import type { ChunkJobData, ChunkResult } from '../../src/queue/job-payloads.js';
import type { TimeWindow } from '../../src/sources/source.js';
import { targetHostKey, type ExportDeps } from '../export-deps.js';

/** Progress a chunk reports while it works. */
export interface ChunkProgress {
  stage: 'reading' | 'uploading' | 'done';
  records: number;
  rejected: number;
  bytes: number;
}

/**
 * One chunk of a run: reads the slice from the source, validates every record (failures go to the slice's
 * `rejected/` file with their reasons, never dropped), encodes files in the spool, and uploads each one atomically.
 * File names depend only on (tenant, type, slice, part), so a retried chunk overwrites its own earlier attempt.
 */
export async function exportChunk(
  deps: ExportDeps,
  job: ChunkJobData,
  reportProgress: (progress: ChunkProgress) => Promise<void>,
  signal?: AbortSignal,
): Promise<ChunkResult> {
  const { value: settings } = await deps.controlPlane.settings.requireRetention(job.tenantId);
  const window: TimeWindow = { from: new Date(job.from), to: new Date(job.to) };
  const encoding = settings.files.format;
  const gzip = settings.files.gzip;
  const spool = join(deps.options.spoolDir, `${job.tenantId}.${job.runId}.${job.type}.${job.index}.${process.pid}`);
  await rm(spool, { recursive: true, force: true });
  await mkdir(spool, { recursive: true });

  const source = deps.createSource(job.tenantId, settings.source);
  const rejected = new RejectedRecordsWriter({ directory: spool, fileName: rejectedFileName(job.type, window) });
  let seen = 0;
  async function* validRecords(): AsyncGenerator<unknown> {
    for await (const page of source.read(job.type, window, signal ? { signal } : {})) {
      for (const raw of page.records) {
        seen += 1;
        const parsed = parseRecord(job.type, raw);
        if (!parsed.ok) {
          await rejected.write({ reason: 'schema', issues: parsed.issues, record: raw });
        } else if (parsed.record.tenantId !== job.tenantId) {
          await rejected.write({ reason: 'tenant', issues: [{ path: 'tenantId', message: `record belongs to "${parsed.record.tenantId}", not "${job.tenantId}"` }], record: raw });
        } else if (!(Date.parse(parsed.record.updatedAt) >= window.from.getTime() && Date.parse(parsed.record.updatedAt) < window.to.getTime())) {
          await rejected.write({ reason: 'window', issues: [{ path: 'updatedAt', message: `outside the requested window ${job.from} to ${job.to}` }], record: raw });
        } else {
          yield parsed.record;
        }
      }
      await reportProgress({ stage: 'reading', records: seen - rejected.count, rejected: rejected.count, bytes: 0 });
    }
  }

  const target = deps.createTarget(job.tenantId, settings.target);
  try {
    const files = await writeRecordFiles(validRecords(), {
      directory: spool,
      encoding,
      gzip,
      maxRecords: settings.files.maxRecords,
      maxBytes: settings.files.maxBytes,
      fileName: (part) => recordFileName({ type: job.type, window, part, encoding, gzip }),
    });
    const rejectedFile = await rejected.close();
    const result: ChunkResult = { type: job.type, index: job.index, records: 0, rejected: rejectedFile?.records ?? 0, bytes: 0, files: [] };
    for (const file of files) {
      result.files.push({
        path: recordFilePath(job.tenantId, { type: job.type, window, part: file.part, encoding, gzip }),
        type: job.type,
        kind: 'records',
        part: file.part,
        records: file.records,
        bytes: file.bytes,
        sha256: file.sha256,
        encoding,
        gzip,
        from: job.from,
        to: job.to,
      });
      result.records += file.records;
    }
    if (rejectedFile) {
      result.files.push({
        path: rejectedFilePath(job.tenantId, job.type, window),
        type: job.type,
        kind: 'rejected',
        part: null,
        records: rejectedFile.records,
        bytes: rejectedFile.bytes,
        sha256: rejectedFile.sha256,
        encoding: 'json',
        gzip: false,
        from: job.from,
        to: job.to,
      });
    }
    const localPaths = [...files.map((f) => f.localPath), ...(rejectedFile ? [rejectedFile.localPath] : [])];
    await deps.hostSemaphore.withLease(
      targetHostKey(settings.target),
      async () => {
        for (const [i, file] of result.files.entries()) {
          await target.uploadAtomically(localPaths[i] as string, file.path, { bytes: file.bytes });
          result.bytes += file.bytes;
          await reportProgress({ stage: 'uploading', records: result.records, rejected: result.rejected, bytes: result.bytes });
        }
      },
      signal,
    );
    await reportProgress({ stage: 'done', records: result.records, rejected: result.rejected, bytes: result.bytes });
    return result;
  } finally {
    await rejected.abort();
    await target.close();
    await rm(spool, { recursive: true, force: true });
  }
}
