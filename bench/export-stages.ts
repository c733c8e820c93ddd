/**
 * The measured stages of the export benchmark, each a function of a page file (see `page-file-source.ts`): the export
 * path built up one step at a time, and the floor every JSON-to-JSON exporter pays.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Target, TargetEntry } from '../src/delivery/target.js';
import type { HostSemaphore } from '../src/queue/host-semaphore.js';
import { parseRecord } from '../src/records/parse-record.js';
import { fileSettingsSchema } from '../src/tenants/retention-settings.js';
import { exportSlice } from '../worker/processors/chunk-processor.js';
import { PageFileSource, readPageTexts, type PageFile } from './page-file-source.js';

/** What one run of a stage did. */
export interface StageRun {
  seconds: number;
  records: number;
  /** Bytes the stage produced: JSON text for the floor, bytes on disk for the encoder stages, 0 otherwise. */
  bytes: number;
}

/** Gzip level of the floor: the encoder's default. */
const GZIP_LEVEL = 6;
/** Text is handed to gzip in batches of this size, as the spool file does. */
const BATCH_BYTES = 64 * 1024;

async function timed(work: () => Promise<Omit<StageRun, 'seconds'>>): Promise<StageRun> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Source alone: read every page text and parse it as the export API client does. */
export function sourceAlone(file: PageFile, limit?: number): Promise<StageRun> {
  return timed(async () => {
    let records = 0;
    for await (const page of new PageFileSource(file.path, limit).read()) records += page.records.length;
    return { records, bytes: 0 };
  });
}

/** Source and validation: every record through `parseRecord`. */
export function withValidation(file: PageFile, limit?: number): Promise<StageRun> {
  return timed(async () => {
    let records = 0;
    for await (const page of new PageFileSource(file.path, limit).read()) {
      for (const raw of page.records) if (parseRecord(file.type, raw).ok) records += 1;
    }
    return { records, bytes: 0 };
  });
}

/** A target that accepts every upload at once and keeps nothing: the chunk's work without delivery. */
export class DiscardTarget implements Target {
  readonly kind = 'discard';
  async uploadAtomically(): Promise<void> {}
  async read(): Promise<Readable> {
    throw new Error('the discard target keeps nothing to read');
  }
  async list(): Promise<TargetEntry[]> {
    return [];
  }
  async stat(): Promise<TargetEntry | undefined> {
    return undefined;
  }
  async remove(): Promise<void> {}
  async rename(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What a run of the chunk code needs besides the page file. */
export interface SliceDeps {
  target: Target;
  hostSemaphore: HostSemaphore;
  hostKey: string;
  /** Unique per run, so no run replaces the files of another. */
  runId: string;
}

/**
 * The chunk's own code path (`exportSlice`, as `npm run worker` runs it): validation, the tenant and window checks,
 * encoding into spool files (gzip or not) with the default file settings, and delivery to `target` (on SFTP each file
 * uploads while it is written).
 * Reads the first `limit` records of the page file, or all of it `passes` times over.
 */
export function chunkExport(
  file: PageFile,
  gzip: boolean,
  deps: SliceDeps,
  { limit, passes = 1 }: { limit?: number; passes?: number } = {},
): Promise<StageRun> {
  return timed(async () => {
    const spool = await mkdtemp(join(tmpdir(), 'retention-bench-spool-'));
    try {
      const result = await exportSlice(
        {
          job: { tenantId: 'bench', runId: deps.runId, type: file.type, index: 0, from: file.window.from.toISOString(), to: file.window.to.toISOString() },
          source: new PageFileSource(file.path, limit, passes),
          target: deps.target,
          hostKey: deps.hostKey,
          hostSemaphore: deps.hostSemaphore,
          files: { ...fileSettingsSchema.parse({}), gzip },
          spool,
        },
        async () => undefined,
      );
      if (result.rejected !== 0) throw new Error(`${result.rejected} ${file.type} were rejected: the benchmark's records must all be valid`);
      return { records: result.records, bytes: result.bytes === 0 ? result.files.reduce((sum, entry) => sum + entry.bytes, 0) : result.bytes };
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });
}

/**
 * The floor: JSON.parse of every page text and JSON.stringify of every record, and with `gzip` the stringified text
 * through gzip at the encoder's level, in batches, its output counted and dropped. No exporter of JSON to JSON can do
 * less work.
 */
export function floor(file: PageFile, gzip: boolean, limit = Number.POSITIVE_INFINITY): Promise<StageRun> {
  return timed(async () => {
    const deflate = gzip ? createGzip({ level: GZIP_LEVEL }) : undefined;
    let compressed = 0;
    deflate?.on('data', (chunk: Buffer) => (compressed += chunk.length));
    const finished = deflate === undefined ? Promise.resolve() : new Promise<void>((resolve, reject) => deflate.once('end', resolve).once('error', reject));
    let records = 0;
    let bytes = 0;
    let batch: string[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.from(batch.join(''), 'utf8');
      batch = [];
      batchBytes = 0;
      if (deflate !== undefined && !deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve));
    };
    for await (const text of readPageTexts(file.path)) {
      const { records: page } = JSON.parse(text) as { records: unknown[] };
      if (records >= limit) break;
      for (const record of page.length <= limit - records ? page : page.slice(0, limit - records)) {
        const line = JSON.stringify(record);
        records += 1;
        bytes += line.length;
        if (deflate === undefined) continue;
        batch.push(line, '\n');
        batchBytes += line.length + 1;
        if (batchBytes >= BATCH_BYTES) await flush();
      }
    }
    if (deflate !== undefined) {
      await flush();
      deflate.end();
      await finished;
    }
    return { records, bytes: gzip ? compressed : bytes };
  });
}
