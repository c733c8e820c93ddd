import type { Db } from 'mongodb';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { ARCHIVE_COLLECTIONS } from './archive-documents.js';

/** The collection of an archive database that holds its marker (never touched by archive retention). */
export const ARCHIVE_INFO_COLLECTION = 'archiveInfo';

const MARKER_ID = 'archive';

/**
 * The marker of an archive database: which tenant's archive it is and since when. An archive database without it
 * (and without records) while the control plane records imported manifests was lost or replaced.
 */
export interface ArchiveMarker {
  tenantId: string;
  createdAt: Date;
}

interface ArchiveMarkerDocument extends ArchiveMarker {
  _id: typeof MARKER_ID;
}

/** The archive database's marker, if it has one. */
export async function readArchiveMarker(db: Db): Promise<ArchiveMarker | undefined> {
  const doc = await db.collection<ArchiveMarkerDocument>(ARCHIVE_INFO_COLLECTION).findOne({ _id: MARKER_ID });
  return doc ? { tenantId: doc.tenantId, createdAt: doc.createdAt } : undefined;
}

/**
 * Marks the archive database as the tenant's archive. A marker already there is left as it is.
 *
 * @example
 * await writeArchiveMarker(await archives.forTenant('acme'), 'acme', new Date());
 */
export async function writeArchiveMarker(db: Db, tenantId: string, now: Date): Promise<void> {
  const tenant = assertTenantId(tenantId);
  await db
    .collection<ArchiveMarkerDocument>(ARCHIVE_INFO_COLLECTION)
    .updateOne({ _id: MARKER_ID }, { $setOnInsert: { tenantId: tenant, createdAt: now } }, { upsert: true });
}

/** True when the archive database holds at least one record (of any type) or transcript message. */
export async function archiveHasRecords(db: Db): Promise<boolean> {
  for (const name of Object.values(ARCHIVE_COLLECTIONS)) {
    if ((await db.collection(name).findOne({}, { projection: { _id: 1 } })) !== null) return true;
  }
  return false;
}
