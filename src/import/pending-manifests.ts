import { assertTenantId } from '../tenants/tenant-id.js';
import { listDropManifests, orderByChain, readDropManifests } from './drop-manifests.js';
import type { ImportDeps } from './import-manifest.js';

/**
 * The manifests of an online tenant's drop that are neither imported nor refused, in chain order: what the periodic
 * poll hands to the import queue (drops written while the importer was down, by an earlier version or another
 * exporter). Manifests that cannot be read or parsed come last, so their import records the reason. An offline
 * tenant has none.
 *
 * @example
 * for (const path of await findManifestsToImport(deps, 'acme')) await enqueueImport(queues, 'acme', path);
 */
export async function findManifestsToImport(deps: ImportDeps, tenantId: string): Promise<string[]> {
  const tenant = assertTenantId(tenantId);
  const settings = await deps.controlPlane.settings.getRetention(tenant);
  if (settings?.value.mode !== 'online') return [];
  const target = deps.createTarget(tenant, settings.value.target);
  try {
    const records = new Map((await deps.imports.list(tenant)).map((record) => [record.path, record]));
    const pending = (await listDropManifests(target, tenant)).filter((path) => {
      const status = records.get(path)?.status;
      return status === undefined || status === 'importing';
    });
    const { manifests, unreadable } = await readDropManifests(target, pending);
    const ordered = orderByChain(manifests, (previousPath) => records.get(previousPath)?.status === 'imported');
    return [...ordered.map((entry) => entry.path), ...unreadable.map((entry) => entry.path)];
  } finally {
    await target.close();
  }
}
