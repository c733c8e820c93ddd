import { purgeExpiredRecords, type ArchivePurgeResult } from '../store/archive/archive-retention.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { ImportDeps } from './import-manifest.js';

/**
 * Applies a tenant's archive retention (`archiveRetentionDays`) to its online archive, sparing everything under an
 * active legal hold, holding the tenant's archive lease. Returns `undefined` for a tenant that is offline or has no
 * archive retention. `dryRun` lists exactly what would be purged and deletes nothing.
 *
 * @example
 * const preview = await purgeTenantArchive(deps, 'acme', { dryRun: true });
 */
export async function purgeTenantArchive(
  deps: ImportDeps,
  tenantId: string,
  options: { dryRun: boolean; actor?: string },
): Promise<ArchivePurgeResult | undefined> {
  const tenant = assertTenantId(tenantId);
  const settings = await deps.controlPlane.settings.getRetention(tenant);
  const retentionDays = settings?.value.archiveRetentionDays;
  if (settings?.value.mode !== 'online' || retentionDays === undefined || Object.keys(retentionDays).length === 0) return undefined;
  return deps.leases.withLease(tenant, options.dryRun ? 'purge preview' : 'purge', async () => {
    const now = deps.now();
    const holds = await deps.legalHolds.listActive(tenant);
    const result = await purgeExpiredRecords(await deps.archives.forTenant(tenant), tenant, { retentionDays, holds, dryRun: options.dryRun, now });
    if (!options.dryRun) {
      const details: Record<string, number> = { holds: holds.length };
      for (const [type, purge] of Object.entries(result.types)) {
        details[type] = purge.ids.length;
        if (type === 'chats') details.messages = purge.messages;
      }
      await deps.controlPlane.audit.append(
        tenant,
        { actor: { type: 'system', id: options.actor ?? 'archive-retention' }, action: 'archive.purged', outcome: 'success', details },
        now,
      );
    }
    return result;
  });
}
