import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestPath, runWindowEnd } from '../../src/archive/drop-layout.js';
import { upkeepDropAfterRun } from '../../src/archive/drop-upkeep.js';
import { buildManifest, hashManifest, serializeManifest } from '../../src/archive/manifest.js';
import { RetentionError } from '../../src/errors.js';
import type { RecordType } from '../../src/records/record-type.js';
import type { ChunkResult, FinalizeJobData } from '../../src/queue/job-payloads.js';
import type { ChainHead } from '../../src/store/checkpoints-store.js';
import type { TypeTotals } from '../../src/store/runs-store.js';
import { targetHostKey, type ExportDeps } from '../export-deps.js';

/** What a finalize job returns. */
export interface FinalizeResult {
  runId: string;
  manifest: ChainHead;
  totals: Partial<Record<RecordType, TypeTotals>>;
}

/**
 * Completes a run once all its chunks are delivered: builds the manifest from the chunks' results (linked to the
 * previous manifest by its SHA-256), uploads it last, repairs and tidies the drop ({@link upkeepDropAfterRun}: files
 * a crashed server left under recovery names, `.part` files of uploads never retried), then advances the checkpoints
 * and the chain head in one update, marks the run done, writes the audit event and, for an online tenant, queues the manifest's import.
 * Safe to repeat: the manifest bytes are deterministic and
 * every later step is idempotent.
 */
export async function finalizeRun(deps: ExportDeps, job: FinalizeJobData, chunkResults: ChunkResult[]): Promise<FinalizeResult> {
  const { controlPlane } = deps;
  const run = await controlPlane.runs.get(job.tenantId, job.runId);
  if (!run) throw new RetentionError('ERR_RUN_NOT_FOUND', `run ${job.runId} of "${job.tenantId}" is not recorded; it cannot be finalized`);
  if (run.status === 'done' && run.manifest) return { runId: run.id, manifest: run.manifest, totals: run.totals };

  const { value: settings } = await controlPlane.settings.requireRetention(job.tenantId);
  const windows = Object.fromEntries(Object.entries(run.windows).map(([type, w]) => [type, { from: new Date(w.from), to: new Date(w.to) }])) as Partial<
    Record<RecordType, { from: Date; to: Date }>
  >;
  const files = chunkResults.flatMap((chunk) => chunk.files);
  const manifest = buildManifest({
    tenantId: job.tenantId,
    runId: run.id,
    windows,
    previous: run.previous ? { path: run.previous.path, sha256: run.previous.sha256 } : null,
    files,
  });
  const bytes = serializeManifest(manifest);
  const end = runWindowEnd(windows);
  if (!end) throw new RetentionError('ERR_RUN_EMPTY', `run ${run.id} has no window`);
  const head: ChainHead = { runId: run.id, path: manifestPath(job.tenantId, run.id, end), sha256: hashManifest(bytes) };

  const spool = join(deps.options.spoolDir, `${job.tenantId}.${run.id}.manifest.${process.pid}`);
  await mkdir(spool, { recursive: true });
  const target = deps.createTarget(job.tenantId, settings.target);
  try {
    const local = join(spool, 'manifest.json');
    await writeFile(local, bytes);
    await deps.hostSemaphore.withLease(targetHostKey(settings.target), () => target.uploadAtomically(local, head.path, { bytes: bytes.length }));
    const delivered = [...files.map((file) => file.path), head.path];
    await deps.hostSemaphore.withLease(targetHostKey(settings.target), () =>
      upkeepDropAfterRun(target, { tenantId: job.tenantId, runId: run.id, previous: run.previous ?? null, delivered }, deps.logger),
    );
  } finally {
    await target.close();
    await rm(spool, { recursive: true, force: true });
  }

  const through: Partial<Record<RecordType, Date>> = {};
  if (run.trigger !== 'backfill') for (const [type, w] of Object.entries(windows)) through[type as RecordType] = w.to;
  await controlPlane.checkpoints.advance(job.tenantId, run.id, { through, head, expectedHead: run.previous });

  const totals: Partial<Record<RecordType, TypeTotals>> = {};
  for (const [type, t] of Object.entries(manifest.totals)) totals[type as RecordType] = { ...t };
  await controlPlane.runs.markDone(job.tenantId, run.id, { manifest: head, files: manifest.files, totals }, deps.now());
  await controlPlane.audit.append(job.tenantId, {
    actor: { type: 'system', id: 'worker' },
    action: 'run.finished',
    outcome: 'success',
    target: run.id,
    details: {
      trigger: run.trigger,
      manifest: head.path,
      sha256: head.sha256,
      records: Object.values(totals).reduce((sum, t) => sum + t.records, 0),
      rejected: Object.values(totals).reduce((sum, t) => sum + t.rejected, 0),
      files: manifest.files.length,
    },
  });
  deps.logger.info({ tenantId: job.tenantId, runId: run.id, manifest: head.path }, 'run finished');
  if (settings.mode === 'online' && deps.enqueueImport) {
    try {
      await deps.enqueueImport(job.tenantId, head.path);
    } catch (err) {
      deps.logger.warn({ tenantId: job.tenantId, runId: run.id, manifest: head.path, err }, 'could not queue the import; the drop poll will find the manifest');
    }
  }
  return { runId: run.id, manifest: head, totals };
}
