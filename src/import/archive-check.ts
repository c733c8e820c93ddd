import type { Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import type { ArchiveImportsStore } from '../store/archive/archive-imports-store.js';
import { archiveHasRecords, readArchiveMarker, writeArchiveMarker } from '../store/archive/archive-marker.js';
import { assertTenantId } from '../tenants/tenant-id.js';

/**
 * What a tenant's archive database is, compared with the control plane's import records:
 * - `ours`: it carries the tenant's marker;
 * - `adopted`: it had records but no marker (built before archives were marked): it is marked now;
 * - `new`: empty, and no manifest of the tenant is recorded as imported (the first import marks it);
 * - `missing`: empty and unmarked although manifests are recorded as imported: it was lost or replaced, only a
 *   rebuild makes it complete again;
 * - `foreign`: it carries another tenant's marker (the tenant's archive URI points at another tenant's archive).
 */
export type ArchiveCheck = 'ours' | 'adopted' | 'new' | 'missing' | 'foreign';

/** What {@link checkArchive} needs: the control plane's import records and the clock (the importer's deps fit). */
export interface ArchiveCheckDeps {
  imports: Pick<ArchiveImportsStore, 'hasImported'>;
  now: () => Date;
}

/**
 * Checks the tenant's archive database against its import records ({@link ArchiveCheck}); marks an unmarked
 * archive that holds records.
 *
 * @example
 * if ((await checkArchive(deps, 'acme', db)) === 'missing') await enqueueRebuild(queues, 'acme', actor);
 */
export async function checkArchive(deps: ArchiveCheckDeps, tenantId: string, db: Db): Promise<ArchiveCheck> {
  const tenant = assertTenantId(tenantId);
  const marker = await readArchiveMarker(db);
  if (marker !== undefined) return marker.tenantId === tenant ? 'ours' : 'foreign';
  if (await archiveHasRecords(db)) {
    await writeArchiveMarker(db, tenant, deps.now());
    return 'adopted';
  }
  return (await deps.imports.hasImported(tenant)) ? 'missing' : 'new';
}

/** The error of an archive that must not be written to incrementally (`missing` or `foreign`). */
export function archiveCheckError(tenantId: string, check: 'missing' | 'foreign', databaseName: string): RetentionError {
  return check === 'missing'
    ? new RetentionError(
        'ERR_ARCHIVE_MISSING',
        `the archive database ${databaseName} of "${tenantId}" is empty although manifests are recorded as imported (it was replaced or lost): the next drop poll queues a rebuild (or run: retention rebuild ${tenantId})`,
      )
    : new RetentionError(
        'ERR_ARCHIVE_FOREIGN',
        `the archive database ${databaseName} configured for "${tenantId}" holds another tenant's archive: correct the tenant's archive MongoDB URI, then rebuild its archive`,
      );
}
