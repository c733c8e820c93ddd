import { RetentionError } from '../errors.js';
import { readArchiveMarker, writeArchiveMarker } from '../store/archive/archive-marker.js';
import { archiveCheckError } from './archive-check.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { listDropManifests, orderByChain, readDropManifests } from './drop-manifests.js';
import { refusesManifest } from './import-errors.js';
import { importManifestHoldingLease, type ImportDeps } from './import-manifest.js';

/** What a rebuild did. */
export interface RebuildResult {
  tenantId: string;
  /** Manifests imported, in chain order. */
  imported: string[];
  /** Manifests refused, with the reason (their successors are refused with them). */
  failed: { path: string; code: string; message: string }[];
}

/** How a rebuild may proceed. */
export interface RebuildOptions {
  /**
   * Rebuild even when manifests recorded as imported are no longer in the drop (someone deleted them from the server).
   * Their records leave the archive for good; without this the rebuild refuses and drops nothing.
   */
  acceptMissing?: boolean;
}

/** The most missing manifests a refusal names. */
const NAMED_MISSING = 3;

/**
 * Refuses (`ERR_REBUILD_DROP_INCOMPLETE`, nothing dropped) a rebuild whose drop lacks manifests the archive imported:
 * rebuilding from it would lose their records, and a listing that comes back short (a wrong path or chroot, a
 * server that lists lazily, a mount not there yet) must not empty a good archive.
 */
async function assertDropHoldsImports(deps: ImportDeps, tenant: string, listed: readonly string[]): Promise<void> {
  const present = new Set(listed);
  const missing = (await deps.imports.list(tenant)).filter((entry) => entry.status === 'imported' && !present.has(entry.path)).map((entry) => entry.path);
  if (missing.length === 0) return;
  const named = missing.slice(0, NAMED_MISSING).join(', ');
  throw new RetentionError(
    'ERR_REBUILD_DROP_INCOMPLETE',
    `the drop of "${tenant}" no longer holds ${missing.length} manifest(s) the archive imported (${named}${missing.length > NAMED_MISSING ? ', …' : ''}): ` +
      "nothing was dropped. Check the target's path and the files on the server; to rebuild without them, and lose their records, run `retention rebuild --accept-missing`",
  );
}

/**
 * Rebuilds a tenant's archive from its drop: drops the archive database (never one marked as another tenant's:
 * `ERR_ARCHIVE_FOREIGN`) and marks it as the tenant's again, forgets
 * the tenant's import records, and imports every manifest of the drop in chain order, exactly as the incremental
 * imports would have, holding the tenant's archive lease throughout. Before anything is dropped, every manifest recorded as
 * imported must still be in the drop (`ERR_REBUILD_DROP_INCOMPLETE` otherwise; see {@link RebuildOptions}). A manifest that is refused (checksum, broken chain) is reported and its
 * successors are refused with it; a transient failure (MongoDB or the SFTP server unreachable) stops the rebuild,
 * which can simply be run again.
 *
 * @example
 * const result = await rebuildArchive(deps, 'acme', (path) => console.log('imported', path));
 */
export async function rebuildArchive(
  deps: ImportDeps,
  tenantId: string,
  onImported: (path: string) => void = () => undefined,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const tenant = assertTenantId(tenantId);
  return deps.leases.withLease(tenant, 'rebuild', async () => {
    const { value: settings } = await deps.controlPlane.settings.requireRetention(tenant);
    if (settings.mode !== 'online') {
      throw new RetentionError(
        'ERR_IMPORT_NOT_ONLINE',
        `tenant "${tenant}" is in ${settings.mode} mode: it has no archive to rebuild (switch it to online mode first)`,
      );
    }
    const target = deps.createTarget(tenant, settings.target);
    let order: string[];
    try {
      const { manifests, unreadable } = await readDropManifests(target, await listDropManifests(target, tenant));
      order = [...orderByChain(manifests).map((entry) => entry.path), ...unreadable.map((entry) => entry.path)];
    } finally {
      await target.close();
    }
    if (options.acceptMissing !== true) await assertDropHoldsImports(deps, tenant, order);
    const db = await deps.archives.forTenant(tenant);
    const marker = await readArchiveMarker(db);
    if (marker !== undefined && marker.tenantId !== tenant) throw archiveCheckError(tenant, 'foreign', db.databaseName);
    await db.dropDatabase();
    await writeArchiveMarker(db, tenant, deps.now());
    await deps.imports.deleteAll(tenant);
    const result: RebuildResult = { tenantId: tenant, imported: [], failed: [] };
    for (const path of order) {
      try {
        await importManifestHoldingLease(deps, tenant, path);
        result.imported.push(path);
        onImported(path);
      } catch (err) {
        if (!refusesManifest(err)) throw err;
        result.failed.push({ path, code: (err as RetentionError).code, message: (err as Error).message });
      }
    }
    await deps.archiveStore.ensureIndexes(tenant);
    await deps.controlPlane.audit.append(tenant, {
      actor: { type: 'system', id: 'importer' },
      action: 'archive.rebuilt',
      outcome: result.failed.length === 0 ? 'success' : 'failure',
      details: { imported: result.imported.length, failed: result.failed.length },
    });
    return result;
  });
}
