import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recordFileName, recordFilePath, rejectedFileName } from '../../src/archive/drop-layout.js';
import { recordFileEntry, rejectedFileEntry, type ManifestFile } from '../../src/archive/manifest.js';
import { writeRecordFiles, type StartedRecordFile } from '../../src/archive/record-file-writer.js';
import { RejectedRecordsWriter } from '../../src/archive/rejected-records-writer.js';
import { sliceRecordChecker } from '../../src/archive/slice-records.js';
import { RetentionError } from '../../src/errors.js';
import { whatDeliversAgain } from '../../src/queue/permanent-failure.js';
import type { ChunkJobData, ChunkResult } from '../../src/queue/job-payloads.js';
import type { Target } from '../../src/delivery/target.js';
import type { HostSemaphore } from '../../src/queue/host-semaphore.js';
import type { Source, TimeWindow } from '../../src/sources/source.js';
import type { FileSettings } from '../../src/tenants/retention-settings.js';
import { targetHostKey, type ExportDeps } from '../export-deps.js';

/** Progress a chunk reports while it works. */
export interface ChunkProgress {
  stage: 'reading' | 'uploading' | 'done';
  records: number;
  rejected: number;
  bytes: number;
}

/** What {@link exportSlice} needs: the chunk's job, its source and target, and where to encode. */
export interface SliceExport {
  job: ChunkJobData;
  source: Source;
  target: Target;
  /** Semaphore key of the target's host. */
  hostKey: string;
  hostSemaphore: HostSemaphore;
  files: FileSettings;
  /** A fresh local directory for this chunk's files (the caller removes it). */
  spool: string;
}

/**
 * One chunk of a run: reads the slice from the source, validates every record (failures go to the slice's
 * `rejected/` file with their reasons, never dropped), encodes files in the spool, and uploads each one atomically.
 * File names depend only on (tenant, run, type, slice, part): a retried chunk of the same run replaces its own earlier
 * attempt, which no completed manifest lists yet, while a later run over the same window writes names of its own and
 * never changes a file an earlier manifest lists.
 */
export async function exportChunk(
  deps: ExportDeps,
  job: ChunkJobData,
  reportProgress: (progress: ChunkProgress) => Promise<void>,
  signal?: AbortSignal,
): Promise<ChunkResult> {
  await assertRunStillRunning(deps, job);
  const { value: settings } = await deps.controlPlane.settings.requireRetention(job.tenantId);
  const source = deps.createSource(job.tenantId, settings.source);
  const target = deps.createTarget(job.tenantId, settings.target);
  const spool = join(deps.options.spoolDir, `${job.tenantId}.${job.runId}.${job.type}.${job.index}.${process.pid}`);
  await rm(spool, { recursive: true, force: true });
  await mkdir(spool, { recursive: true });
  let result: ChunkResult;
  try {
    result = await exportSlice(
      { job, source, target, hostKey: targetHostKey(settings.target), hostSemaphore: deps.hostSemaphore, files: settings.files, spool },
      reportProgress,
      signal,
    );
  } finally {
    await target.close();
    await rm(spool, { recursive: true, force: true });
  }
  await recordChunkProgress(deps, job, result);
  return result;
}

/**
 * Stops a chunk of a run that already failed (permanently, or its last attempt ran out) before it connects anywhere:
 * the run will not be finalized, and the next run delivers its windows again. `ERR_RUN_ENDED` is permanent, and the
 * worker records nothing for it (the run keeps the error that failed it).
 */
async function assertRunStillRunning(deps: ExportDeps, job: ChunkJobData): Promise<void> {
  const run = await deps.controlPlane.runs.get(job.tenantId, job.runId);
  if (run?.status !== 'failed') return;
  const cause = run.errors.at(-1)?.code ?? 'an earlier error';
  throw new RetentionError(
    'ERR_RUN_ENDED',
    `run ${job.runId} of "${job.tenantId}" already failed (${cause}); chunk ${job.type} #${job.index} stopped without connecting, and ${whatDeliversAgain(run.trigger)}`,
  );
}

/**
 * Notes on the run that this chunk's files are all delivered (the jobs page's progress). Progress is for display only:
 * when it cannot be written the chunk still succeeds, since redoing its uploads would not help, and a warning is logged.
 */
async function recordChunkProgress(deps: ExportDeps, job: ChunkJobData, result: ChunkResult): Promise<void> {
  const chunk = { type: job.type, index: job.index, records: result.records, rejected: result.rejected, bytes: result.bytes };
  try {
    await deps.controlPlane.runs.recordChunkDone(job.tenantId, job.runId, chunk, deps.now());
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ tenantId: job.tenantId, runId: job.runId, type: job.type, index: job.index, err: { message } }, 'could not record chunk progress');
  }
}

/**
 * Starts opening the target's connection (`Target.prepare`) while the first file is read and encoded, under a lease of
 * the host's semaphore as every upload is, so the semaphore still bounds the connections opened at once to one host.
 * The returned function gives up a lease still awaited; a warm-up already connecting ends with the target's `close`.
 * A failed warm-up is reported by the first upload, with the same error.
 */
function warmUpTarget(target: Target, hostSemaphore: HostSemaphore, hostKey: string, signal: AbortSignal | undefined): () => void {
  if (target.prepare === undefined) return () => undefined;
  const prepare = target.prepare.bind(target);
  const abandon = new AbortController();
  hostSemaphore.withLease(hostKey, prepare, signal === undefined ? abandon.signal : AbortSignal.any([signal, abandon.signal])).catch(() => undefined);
  return () => abandon.abort();
}

/**
 * The work of a chunk once its source and target exist (also what `npm run bench:export` measures): stream, validate,
 * encode and upload, the target's connection opened while the first file is encoded, and uploads overlapping the
 * encoding of the next file.
 */
export async function exportSlice(
  { job, source, target, hostKey, hostSemaphore, files: fileSettings, spool }: SliceExport,
  reportProgress: (progress: ChunkProgress) => Promise<void>,
  signal?: AbortSignal,
): Promise<ChunkResult> {
  const window: TimeWindow = { from: new Date(job.from), to: new Date(job.to) };
  const encoding = fileSettings.format;
  const gzip = fileSettings.gzip;
  const rejected = new RejectedRecordsWriter({ directory: spool, fileName: rejectedFileName(job.type, window, job.runId) });
  const checkRecord = sliceRecordChecker({ type: job.type, tenantId: job.tenantId, from: job.from, to: job.to });
  const stopWarmUp = warmUpTarget(target, hostSemaphore, hostKey, signal);
  let seen = 0;
  let uploadFailed = false;
  /** The valid records of the slice; ends early once an upload has failed, so a broken connection does not wait for the whole slice. */
  async function* validRecords(): AsyncGenerator<unknown> {
    for await (const page of source.read(job.type, window, signal ? { signal } : {})) {
      for (const raw of page.records) {
        if (uploadFailed) return;
        seen += 1;
        const verdict = checkRecord(raw);
        if (verdict.ok) yield verdict.record;
        else await rejected.write({ ...verdict.rejection, record: raw });
      }
      await reportProgress({ stage: 'reading', records: seen - rejected.count, rejected: rejected.count, bytes: 0 });
    }
  }

  const result: ChunkResult = { type: job.type, index: job.index, records: 0, rejected: 0, bytes: 0, files: [] };
  // Files upload one after another on the chunk's single connection. Where the target can (`uploadGrowing`), a record
  // file's upload starts as soon as the file is opened and follows it while it is encoded, so the last file's upload
  // ends shortly after its last record; elsewhere each file uploads once it is complete, overlapping the encoding of
  // the next. Each upload holds a slot of the host's semaphore only while it runs.
  let uploads: Promise<void> = Promise.resolve();
  const queueUpload = (send: () => Promise<number>): void => {
    uploads = uploads.then(async () => {
      result.bytes += await hostSemaphore.withLease(hostKey, send, signal);
      await reportProgress({ stage: 'uploading', records: result.records, rejected: result.rejected, bytes: result.bytes });
    });
    uploads.catch(() => {
      uploadFailed = true;
    });
  };
  const upload = (localPath: string, entry: ManifestFile): void => {
    result.files.push(entry);
    queueUpload(async () => {
      await target.uploadAtomically(localPath, entry.path, { bytes: entry.bytes });
      return entry.bytes;
    });
  };
  const uploadGrowing = target.uploadGrowing?.bind(target);
  const followFile =
    uploadGrowing === undefined
      ? undefined
      : (file: StartedRecordFile): void => {
          const remotePath = recordFilePath(job.tenantId, { type: job.type, window, part: file.part, encoding, gzip, runId: job.runId });
          const complete = file.complete.then((done) => ({ bytes: done.bytes }));
          complete.catch(() => undefined);
          queueUpload(async () => {
            await uploadGrowing({ bytes: file.follow(), complete }, remotePath);
            return (await complete).bytes;
          });
        };
  try {
    await writeRecordFiles(validRecords(), {
      directory: spool,
      encoding,
      gzip,
      maxRecords: fileSettings.maxRecords,
      maxBytes: fileSettings.maxBytes,
      fileName: (part) => recordFileName({ type: job.type, window, part, encoding, gzip, runId: job.runId }),
      ...(followFile === undefined ? {} : { onFileStart: followFile }),
      onFile: (file) => {
        result.records += file.records;
        const entry = recordFileEntry(job.tenantId, job.runId, job.type, window, file, { encoding, gzip });
        if (followFile === undefined) upload(file.localPath, entry);
        else result.files.push(entry);
      },
    }).catch(async (err: unknown) => {
      await uploads.catch(() => undefined);
      throw err;
    });
    const rejectedFile = await rejected.close();
    if (rejectedFile) {
      result.rejected = rejectedFile.records;
      upload(rejectedFile.localPath, rejectedFileEntry(job.tenantId, job.runId, job.type, window, rejectedFile));
    }
    await uploads;
    await reportProgress({ stage: 'done', records: result.records, rejected: result.rejected, bytes: result.bytes });
    return result;
  } finally {
    stopWarmUp();
    await rejected.abort();
  }
}
