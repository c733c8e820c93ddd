import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AlertSink } from '../alerts/alert-event.js';
import { parseManifestPath } from '../archive/drop-layout.js';
import { manifestPathOf, parseManifest, type Manifest, type ManifestFile, type ManifestLink } from '../archive/manifest.js';
import type { Target } from '../delivery/target.js';
import { RetentionError } from '../errors.js';
import type { ArchiveRecord } from '../records/archive-record.js';
import { parseRecord } from '../records/parse-record.js';
import type { ArchiveImportsStore, ImportRejection } from '../store/archive/archive-imports-store.js';
import { importCountsOf, MAX_LISTED_REJECTIONS, type ManifestImportCounts } from '../store/archive/archive-imports-store.js';
import type { ArchiveDatabaseResolver, ArchiveStore } from '../store/archive/archive-store.js';
import { archiveWritesOf, ArchiveWriter, type ArchiveWriteStats } from '../store/archive/archive-writer.js';
import type { LegalHoldsStore } from '../store/archive/legal-holds-store.js';
import type { TenantArchiveLease } from '../store/archive/tenant-archive-lease.js';
import type { ControlPlane } from '../store/control-plane.js';
import type { TargetSettings } from '../tenants/retention-settings.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { writeArchiveMarker } from '../store/archive/archive-marker.js';
import { archiveCheckError, checkArchive } from './archive-check.js';
import { readStoredManifest } from './drop-manifests.js';
import { asImportFailure, failedFileOf, ImportFileError, refusesManifest } from './import-errors.js';
import { DEFAULT_INFLATE_LIMITS, readRecordFile, type InflateLimits } from './record-file-reader.js';
import { downloadVerified } from './verified-download.js';

/** Tunables of the importer. */
export interface ImportOptions {
  /** Local directory where listed files are verified before they are loaded. */
  spoolDir: string;
  /** Operations per bulk write. Default 1,000. */
  batchSize?: number;
  /** Called after every command the archive writer sends (round-trip counting in tests and benchmarks). */
  onRoundTrip?: (collection: string, operations: number) => void;
  /** What inflating one gzipped file may cost. Default {@link DEFAULT_INFLATE_LIMITS} (the `IMPORT_*INFLATE*` variables). */
  inflateLimits?: InflateLimits;
}

/** Everything the importer needs, handed down from the composition root. */
export interface ImportDeps {
  controlPlane: Pick<ControlPlane, 'settings' | 'audit'>;
  imports: ArchiveImportsStore;
  leases: TenantArchiveLease;
  archives: ArchiveDatabaseResolver;
  archiveStore: ArchiveStore;
  legalHolds: LegalHoldsStore;
  createTarget: (tenantId: string, settings: TargetSettings) => Target;
  logger: Logger;
  options: ImportOptions;
  now: () => Date;
  /**
   * Where the `import-refused` alert goes when a manifest is refused (not for `ERR_IMPORT_CHAIN_BLOCKED`: the refusal
   * that blocks the chain was alerted). Without it nothing is alerted; an alert never changes what is recorded.
   */
  alerts?: AlertSink;
}

/** What importing one manifest did. */
export type ImportOutcome =
  { status: 'imported'; path: string; sha256: string; counts: ManifestImportCounts } | { status: 'already-imported'; path: string; sha256: string };

interface Attempt {
  path: string;
  runId: string;
  sha256: string;
  previous: ManifestLink | null;
}

/**
 * Imports one manifest of a tenant's drop into the tenant's archive, holding the tenant's archive lease so no other
 * import, rebuild or purge of the tenant runs meanwhile. See {@link importManifestHoldingLease}.
 *
 * @example
 * const outcome = await importManifest(deps, 'acme', 'acme/2026/11/23/manifest-r1.json');
 */
export async function importManifest(deps: ImportDeps, tenantId: string, manifestPath: string): Promise<ImportOutcome> {
  const tenant = assertTenantId(tenantId);
  return deps.leases.withLease(tenant, `import of ${manifestPath}`, () => importManifestHoldingLease(deps, tenant, manifestPath));
}

/**
 * The import of one manifest, for a caller that already holds the tenant's archive lease (a rebuild):
 *
 * 1. reads the manifest; one already imported with the same SHA-256 is a no-op (`already-imported`), one whose bytes
 *    changed since is refused (`ERR_IMPORT_MANIFEST_CHANGED`);
 * 2. checks its chain link: `previous.sha256` must equal the hash recorded when the previous manifest was imported
 *    (`ERR_IMPORT_CHAIN_BROKEN`), the previous manifest must be imported (`ERR_IMPORT_PREVIOUS_PENDING`, transient;
 *    `ERR_IMPORT_CHAIN_BLOCKED` when it failed), and no other imported manifest may follow the same link (a fork);
 * 3. downloads every listed file into the spool and checks its size and SHA-256 — all of them before loading
 *    anything, so a mismatch (`ERR_IMPORT_CHECKSUM_MISMATCH`, naming the file) loads nothing of the manifest;
 * 4. validation pass: reads every spooled record file and checks every record (schema, tenant, count per file,
 *    the inflate limits of a gzipped file, the archive documents it becomes) without writing anything;
 * 5. write pass: reads the files again and loads the records with guarded, unordered bulk upserts; a record MongoDB
 *    could not store (over 16 MiB as stored, nested too deep) is rejected and listed on the import record, and the
 *    import goes on; 6. records the manifest as imported with its counts (stored and rejected per type).
 *
 * All or nothing: whatever refuses the manifest is found before its first write (the archive marker and indexes
 * included), so a refused manifest leaves the archive exactly as it was. Why two passes rather than staging: MongoDB
 * cannot move staged documents into the archive atomically either (a merge is a multi-document write that can stop
 * halfway), while the validation pass decides from verified files in a spool directory only this process may write
 * (mode 0700). Once writing starts, what can still interrupt it is transient (MongoDB unreachable: the retry writes
 * the same idempotent upserts to the end) or a refusal by MongoDB that the validation pass could not foresee
 * (`ERR_ARCHIVE_WRITE_REFUSED`, a defect to report).
 *
 * Before anything is written the archive database is checked ({@link checkArchive}): an empty one is marked as the
 * tenant's, just before the first write; one that was lost or replaced (`ERR_ARCHIVE_MISSING`, transient: the drop
 * poll queues a rebuild) or holds another tenant's archive (`ERR_ARCHIVE_FOREIGN`) is not written to.
 *
 * An error a retry would repeat that is not Retention's own (a `RangeError` or `MongoInvalidArgumentError` from the
 * driver) becomes the permanent `ERR_IMPORT_UNEXPECTED` instead of being retried forever.
 *
 * Failures are recorded on the manifest's import record: permanent ones mark it `failed` with the reason and file,
 * and raise the tenant's `import-refused` alert (`deps.alerts`).
 */
export async function importManifestHoldingLease(deps: ImportDeps, tenantId: string, manifestPath: string): Promise<ImportOutcome> {
  const tenant = assertTenantId(tenantId);
  const pathParts = parseManifestPath(manifestPath);
  if (pathParts.tenantId !== tenant) {
    throw new RetentionError('ERR_IMPORT_MANIFEST_MISPLACED', `manifest ${manifestPath} is not in the drop of "${tenant}"`);
  }
  const { value: settings } = await deps.controlPlane.settings.requireRetention(tenant);
  if (settings.mode !== 'online') {
    throw new RetentionError(
      'ERR_IMPORT_NOT_ONLINE',
      `tenant "${tenant}" is in ${settings.mode} mode: its drops are not imported (switch it to online mode first)`,
    );
  }
  const target = deps.createTarget(tenant, settings.target);
  const attempt: Attempt = { path: manifestPath, runId: pathParts.runId, sha256: '', previous: null };
  const spool = join(deps.options.spoolDir, `import.${tenant}.${pathParts.runId}.${process.pid}`);
  try {
    const stored = await readStoredManifest(target, manifestPath);
    attempt.sha256 = stored.sha256;
    const existing = await deps.imports.get(tenant, manifestPath);
    if (existing?.status === 'imported') {
      if (existing.sha256 === stored.sha256) return { status: 'already-imported', path: manifestPath, sha256: stored.sha256 };
      throw new RetentionError(
        'ERR_IMPORT_MANIFEST_CHANGED',
        `manifest ${manifestPath} was imported with SHA-256 ${existing.sha256} but now hashes to ${stored.sha256}: it was altered after delivery; verify the drop (retention verify) and rebuild the archive from a trusted drop`,
      );
    }
    const manifest = parseManifest(stored.bytes);
    attempt.previous = manifest.previous;
    checkPlacement(manifest, tenant, manifestPath);
    await checkChainLink(deps, target, tenant, manifestPath, manifest);
    const db = await deps.archives.forTenant(tenant);
    const check = await checkArchive(deps, tenant, db);
    if (check === 'missing' || check === 'foreign') throw archiveCheckError(tenant, check, db.databaseName);

    await deps.imports.begin(tenant, attempt, deps.now());
    await rm(spool, { recursive: true, force: true });
    await mkdir(spool, { recursive: true, mode: 0o700 });
    const recordFiles: SpooledFile[] = [];
    let bytes = 0;
    for (const [index, file] of manifest.files.entries()) {
      const local = join(spool, `${index}`);
      await downloadVerified(target, file, local);
      bytes += file.bytes;
      if (file.kind === 'records') recordFiles.push({ file, local });
    }

    const limits = deps.options.inflateLimits ?? DEFAULT_INFLATE_LIMITS;
    await validateRecordFiles(recordFiles, tenant, manifestPath, limits);

    if (check === 'new') await writeArchiveMarker(db, tenant, deps.now());
    await deps.archiveStore.ensureIndexes(tenant);
    const writer = new ArchiveWriter(db, tenant, manifestPath, {
      now: deps.now,
      ...(deps.options.batchSize !== undefined ? { batchSize: deps.options.batchSize } : {}),
      ...(deps.options.onRoundTrip ? { onRoundTrip: deps.options.onRoundTrip } : {}),
    });
    const rejections = await loadRecordFiles(deps, writer, recordFiles, tenant, manifestPath, limits);
    let stats: ArchiveWriteStats;
    try {
      stats = await writer.finish();
    } catch (err) {
      throw asImportFailure(err, manifestPath);
    }
    const counts = importCountsOf(stats, manifest.files.length, bytes);
    await deps.imports.markImported(tenant, manifestPath, counts, deps.now(), rejections);
    await deps.controlPlane.audit.append(tenant, {
      actor: { type: 'system', id: 'importer' },
      action: 'archive.imported',
      outcome: 'success',
      target: manifestPath,
      details: {
        sha256: stored.sha256,
        records: Object.values(counts.types).reduce((n, t) => n + t.records, 0),
        rejected: Object.values(counts.rejected ?? {}).reduce((n, r) => n + r, 0),
        roundTrips: stats.roundTrips,
      },
    });
    deps.logger.info({ tenantId: tenant, manifest: manifestPath, counts }, 'manifest imported');
    return { status: 'imported', path: manifestPath, sha256: stored.sha256, counts };
  } catch (err) {
    await recordFailure(deps, tenant, attempt, err);
    throw err;
  } finally {
    await target.close();
    await rm(spool, { recursive: true, force: true });
  }
}

/** A record file of the manifest, verified and spooled on this machine. */
interface SpooledFile {
  file: ManifestFile;
  local: string;
}

/**
 * The records of one spooled file, each parsed and validated (schema, tenant) with its position; once the file is
 * read, its count is compared with the manifest's. Every refusal is an {@link ImportFileError} naming the file. Both
 * passes of an import read the files through it, so the write pass meets exactly what the validation pass accepted.
 */
async function* checkedRecords({ file, local }: SpooledFile, tenant: string, limits: InflateLimits): AsyncGenerator<{ index: number; record: ArchiveRecord }> {
  let count = 0;
  try {
    for await (const raw of readRecordFile(local, { encoding: file.encoding, gzip: file.gzip, displayPath: file.path, inflateLimits: limits })) {
      const parsed = parseRecord(file.type, raw);
      if (!parsed.ok) {
        throw new ImportFileError(
          'ERR_IMPORT_RECORD_INVALID',
          `${file.path}: record ${count} is not a valid ${file.type} record (${parsed.issues[0]?.message ?? 'invalid'})`,
          file.path,
        );
      }
      if (parsed.record.tenantId !== tenant) {
        throw new ImportFileError(
          'ERR_ARCHIVE_TENANT_MISMATCH',
          `${file.path}: record ${count} belongs to tenant "${parsed.record.tenantId}", not "${tenant}"`,
          file.path,
        );
      }
      yield { index: count, record: parsed.record };
      count += 1;
    }
  } catch (err) {
    if (err instanceof RetentionError && !(err instanceof ImportFileError)) throw new ImportFileError(err.code, err.message, file.path, { cause: err });
    throw err;
  }
  if (count !== file.records) {
    throw new ImportFileError('ERR_IMPORT_COUNT_MISMATCH', `${file.path} holds ${count} records but the manifest says ${file.records}`, file.path);
  }
}

/**
 * The validation pass: reads every spooled record file to its end and checks every record as the write pass will
 * (schema, tenant, count per file, inflate limits, the archive documents it becomes), writing nothing. Whatever
 * refuses the manifest is thrown here, before the first write, so a refused manifest leaves the archive as it was.
 * (Whether MongoDB can store a record only decides whether it is rejected, never a refusal: the write pass checks it.)
 */
async function validateRecordFiles(files: readonly SpooledFile[], tenant: string, manifestPath: string, limits: InflateLimits): Promise<void> {
  for (const spooled of files) {
    const { path, type } = spooled.file;
    try {
      for await (const { index, record } of checkedRecords(spooled, tenant, limits)) {
        try {
          archiveWritesOf(type, record, manifestPath);
        } catch (err) {
          if (err instanceof RetentionError)
            throw new ImportFileError(err.code, `${path}: record ${index} cannot be loaded (${err.message})`, path, { cause: err });
          throw err;
        }
      }
    } catch (err) {
      throw asImportFailure(err, manifestPath, path);
    }
  }
}

/**
 * The write pass, once every file passed {@link validateRecordFiles}: hands each record to the writer. A record the
 * archive cannot store is rejected, not loaded; the rejections are returned (at most {@link MAX_LISTED_REJECTIONS},
 * the writer counts them all) and logged.
 */
async function loadRecordFiles(
  deps: ImportDeps,
  writer: ArchiveWriter,
  files: readonly SpooledFile[],
  tenant: string,
  manifestPath: string,
  limits: InflateLimits,
): Promise<ImportRejection[]> {
  const rejections: ImportRejection[] = [];
  for (const spooled of files) {
    const { path, type } = spooled.file;
    try {
      for await (const { index, record } of checkedRecords(spooled, tenant, limits)) {
        const rejection = await writer.add(type, record);
        if (rejection === undefined) continue;
        const rejected: ImportRejection = { type, file: path, index, id: record.id, reason: rejection.reason, issues: rejection.issues };
        if (rejections.length < MAX_LISTED_REJECTIONS) rejections.push(rejected);
        deps.logger.warn({ tenantId: tenant, manifest: manifestPath, ...rejected, bytes: rejection.bytes }, 'record rejected: the archive cannot store it');
      }
    } catch (err) {
      throw asImportFailure(err, manifestPath, path);
    }
  }
  return rejections;
}

function checkPlacement(manifest: Manifest, tenant: string, path: string): void {
  const expected = manifestPathOf(manifest);
  if (manifest.tenantId !== tenant || expected !== path) {
    throw new RetentionError(
      'ERR_IMPORT_MANIFEST_MISPLACED',
      `manifest ${path} describes run ${manifest.runId} of tenant "${manifest.tenantId}", which belongs at ${expected}; it is not imported`,
    );
  }
}

async function checkChainLink(deps: ImportDeps, target: Target, tenant: string, path: string, manifest: Manifest): Promise<void> {
  const previous = manifest.previous;
  if (previous === null) {
    const other = await deps.imports.findImportedFollower(tenant, null, path);
    if (other) {
      throw new RetentionError(
        'ERR_IMPORT_CHAIN_BROKEN',
        `chain broken at ${path}: it starts a new chain although ${other.path} already started this tenant's chain; it and every manifest after it are not imported`,
      );
    }
    return;
  }
  const imported = await deps.imports.get(tenant, previous.path);
  if (imported?.status === 'failed') {
    throw new RetentionError(
      'ERR_IMPORT_CHAIN_BLOCKED',
      `${path} follows ${previous.path}, whose import failed (${imported.error?.code ?? 'unknown'}); fix that manifest first, then retry: retention import ${tenant} --retry`,
    );
  }
  if (imported?.status !== 'imported') {
    if ((await target.stat(previous.path)) === undefined) {
      throw new RetentionError(
        'ERR_IMPORT_CHAIN_BROKEN',
        `chain broken at ${path}: the previous manifest ${previous.path} is missing from the drop; it and every manifest after it are not imported`,
      );
    }
    throw new RetentionError('ERR_IMPORT_PREVIOUS_PENDING', `${path} waits for the import of the previous manifest ${previous.path}`);
  }
  if (imported.sha256 !== previous.sha256) {
    throw new RetentionError(
      'ERR_IMPORT_CHAIN_BROKEN',
      `chain broken at ${path}: it links to ${previous.path} with SHA-256 ${previous.sha256}, but that manifest was imported with SHA-256 ${imported.sha256}; it and every manifest after it are not imported (verify the drop: retention verify)`,
    );
  }
  const fork = await deps.imports.findImportedFollower(tenant, previous.path, path);
  if (fork) {
    throw new RetentionError(
      'ERR_IMPORT_CHAIN_BROKEN',
      `chain broken at ${path}: ${fork.path} already follows ${previous.path} (the chain forks); it and every manifest after it are not imported`,
    );
  }
}

async function recordFailure(deps: ImportDeps, tenant: string, attempt: Attempt, err: unknown): Promise<void> {
  const code = err instanceof RetentionError ? err.code : 'ERR_IMPORT_FAILED';
  const message = err instanceof Error ? err.message : String(err);
  const permanent = refusesManifest(err);
  const file = failedFileOf(err);
  deps.logger.warn({ tenantId: tenant, manifest: attempt.path, code, permanent, file, err: { message } }, 'manifest import failed');
  try {
    await deps.imports.recordFailure(tenant, attempt, { code, message, permanent, ...(file !== undefined ? { file } : {}) }, deps.now());
    if (permanent) {
      await deps.controlPlane.audit.append(tenant, {
        actor: { type: 'system', id: 'importer' },
        action: 'archive.import-failed',
        outcome: 'failure',
        target: attempt.path,
        details: { code, ...(file !== undefined ? { file } : {}) },
      });
    }
  } catch (recordErr) {
    deps.logger.error({ tenantId: tenant, manifest: attempt.path, err: recordErr }, 'could not record an import failure');
  }
  if (permanent && code !== 'ERR_IMPORT_CHAIN_BLOCKED') await alertRefusal(deps, tenant, attempt.path, { code, message, file });
}

/** Raises the `import-refused` alert; the refusal is recorded by then, so an alert that fails is only logged. */
async function alertRefusal(
  deps: ImportDeps,
  tenant: string,
  manifestPath: string,
  refusal: { code: string; message: string; file: string | undefined },
): Promise<void> {
  if (deps.alerts === undefined) return;
  try {
    await deps.alerts.raise({ kind: 'import-refused', tenantId: tenant, manifestPath, ...refusal, refusedAt: deps.now() });
  } catch (err) {
    deps.logger.error(
      { tenantId: tenant, manifest: manifestPath, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not raise the import-refused alert',
    );
  }
}
