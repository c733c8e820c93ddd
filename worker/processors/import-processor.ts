import { purgeTenantArchive } from '../../src/import/archive-maintenance.js';
import { archiveCheckError, checkArchive } from '../../src/import/archive-check.js';
import { importManifest, type ImportDeps, type ImportOutcome } from '../../src/import/import-manifest.js';
import { findManifestsToImport } from '../../src/import/pending-manifests.js';
import { rebuildArchive } from '../../src/import/rebuild-archive.js';
import {
  enqueueImport,
  enqueueRebuild,
  enqueueTenantPoll,
  rebuildStatus,
  type ImportQueues,
  type RebuildJobData,
  type RebuildJobResult,
} from '../../src/queue/import-queues.js';
import type { ArchivePurgeResult } from '../../src/store/archive/archive-retention.js';

/** Imports the manifest an `import` job names. */
export function processImport(deps: ImportDeps, data: { tenantId: string; manifestPath: string }): Promise<ImportOutcome> {
  return importManifest(deps, data.tenantId, data.manifestPath);
}

async function onlineTenants(deps: ImportDeps): Promise<{ tenantId: string; retention: boolean }[]> {
  const tenants: { tenantId: string; retention: boolean }[] = [];
  for (const tenantId of await deps.controlPlane.settings.listRetentionTenants()) {
    try {
      const settings = await deps.controlPlane.settings.getRetention(tenantId);
      if (settings?.value.mode === 'online') tenants.push({ tenantId, retention: Object.keys(settings.value.archiveRetentionDays ?? {}).length > 0 });
    } catch (err) {
      deps.logger.error({ tenantId, err }, 'stored retention settings are invalid; the tenant archive is skipped');
    }
  }
  return tenants;
}

/** The periodic `poll`: one `poll-tenant` job per online tenant, so one slow SFTP server delays no other tenant. */
export async function processPoll(deps: ImportDeps, queues: ImportQueues): Promise<{ tenants: number }> {
  const tenants = await onlineTenants(deps);
  for (const { tenantId } of tenants) await enqueueTenantPoll(queues, tenantId);
  return { tenants: tenants.length };
}

/** Why the worker queued a rebuild by itself: the archive database was lost or replaced. */
export const ARCHIVE_MISSING_TRIGGER = 'archive-missing';

/**
 * Heals a lost or replaced archive: when the tenant's archive database is `missing` (empty and unmarked although
 * manifests are recorded as imported), queues a rebuild (unless one is queued or running) and audits
 * `archive.rebuild-requested`. Returns true when the archive must not be imported into incrementally. An archive
 * holding another tenant's marker fails the poll (`ERR_ARCHIVE_FOREIGN`): rebuilding it would drop that tenant's
 * archive.
 */
async function healMissingArchive(deps: ImportDeps, queues: ImportQueues, tenantId: string): Promise<boolean> {
  const settings = await deps.controlPlane.settings.getRetention(tenantId);
  if (settings?.value.mode !== 'online') return false;
  const db = await deps.archives.forTenant(tenantId);
  const check = await checkArchive(deps, tenantId, db);
  if (check === 'foreign') throw archiveCheckError(tenantId, check, db.databaseName);
  if (check !== 'missing') return false;
  const status = await rebuildStatus(queues, tenantId);
  if (status.running !== undefined || status.queued !== undefined) return true;
  const { jobId } = await enqueueRebuild(queues, tenantId, { type: 'system', id: 'worker' });
  await deps.controlPlane.audit.append(tenantId, {
    actor: { type: 'system', id: 'worker' },
    action: 'archive.rebuild-requested',
    outcome: 'success',
    details: { trigger: ARCHIVE_MISSING_TRIGGER, job: jobId },
  });
  deps.logger.warn({ tenantId, database: db.databaseName, jobId }, 'archive database is empty although manifests were imported: rebuild queued');
  return true;
}

/**
 * A `poll-tenant` job: queues the import of every manifest of the tenant's drop not yet imported, in chain order
 * (a job that ran out of attempts on a transient failure starts again). When the tenant's archive database was lost
 * or replaced, it queues a rebuild instead (`rebuild`: true).
 */
export async function processTenantPoll(deps: ImportDeps, queues: ImportQueues, tenantId: string): Promise<{ enqueued: string[]; rebuild?: true }> {
  if (await healMissingArchive(deps, queues, tenantId)) return { enqueued: [], rebuild: true };
  const paths = await findManifestsToImport(deps, tenantId);
  for (const path of paths) await enqueueImport(queues, tenantId, path, { retryFailed: true });
  if (paths.length > 0) deps.logger.info({ tenantId, manifests: paths.length }, 'drop poll queued imports');
  return { enqueued: paths };
}

/** The daily `purge`: one `purge-tenant` job per online tenant with archive retention. */
export async function processPurge(deps: ImportDeps, queues: ImportQueues): Promise<{ tenants: number }> {
  const tenants = (await onlineTenants(deps)).filter((tenant) => tenant.retention);
  for (const { tenantId } of tenants) {
    await queues.maintenance.add(
      'purge-tenant',
      { tenantId },
      {
        jobId: `purge.${tenantId}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: 30_000 },
        removeOnComplete: true,
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    );
  }
  return { tenants: tenants.length };
}

/** A `purge-tenant` job: applies the tenant's archive retention; returns the number of records purged per type. */
export async function processTenantPurge(deps: ImportDeps, tenantId: string): Promise<Record<string, number>> {
  const result: ArchivePurgeResult | undefined = await purgeTenantArchive(deps, tenantId, { dryRun: false });
  return Object.fromEntries(Object.entries(result?.types ?? {}).map(([type, purge]) => [type, purge.ids.length]));
}

/** The most refusals a rebuild job's result lists (the audit log and the logs have the count). */
const MAX_LISTED_REFUSALS = 20;

/**
 * A `rebuild-tenant` job: empties the tenant's online archive and imports every manifest of its drop again, in chain
 * order ({@link rebuildArchive}, which holds the tenant's archive lease, so no import or purge runs meanwhile, and
 * writes `archive.rebuilt` with the counts). `onImported` is told the number imported so far after each manifest.
 */
export async function processRebuild(
  deps: ImportDeps,
  data: RebuildJobData,
  onImported: (imported: number) => void = () => undefined,
): Promise<RebuildJobResult> {
  let imported = 0;
  const result = await rebuildArchive(deps, data.tenantId, () => {
    imported += 1;
    onImported(imported);
  });
  deps.logger.info(
    { tenantId: result.tenantId, imported: result.imported.length, refused: result.failed.length, requestedBy: data.requestedBy.type },
    'archive rebuilt',
  );
  return {
    imported: result.imported.length,
    refused: result.failed.length,
    refusals: result.failed.slice(0, MAX_LISTED_REFUSALS).map((failure) => ({ path: failure.path, code: failure.code })),
  };
}
