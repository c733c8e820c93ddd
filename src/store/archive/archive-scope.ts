import { RetentionError } from '../../errors.js';
import { RECORD_TYPES, isRecordType, type RecordType } from '../../records/record-type.js';
import { assertTenantId } from '../../tenants/tenant-id.js';

/**
 * The kinds of archived data a caller may read: the portal passes the signed-in administrator's data scopes
 * (e.g. chats but not call logs) into every archive call.
 */
export interface ArchiveScope {
  types: readonly RecordType[];
}

/** Who is reading: the tenant whose archive is read and the data scopes of the reader. */
export interface ArchiveAccess {
  tenantId: string;
  scope: ArchiveScope;
}

/** A scope that allows every record type (the owner, the CLI). */
export const FULL_ARCHIVE_SCOPE: ArchiveScope = Object.freeze({ types: Object.freeze([...RECORD_TYPES]) });

/**
 * Checks the tenant id and that `type` is in the caller's scope; returns the tenant id.
 * `ERR_ARCHIVE_SCOPE_DENIED` (403) names the type when it is not.
 *
 * @example
 * const tenant = assertArchiveAccess({ tenantId: 'acme', scope: { types: ['chats'] } }, 'call-logs'); // throws
 */
export function assertArchiveAccess(access: ArchiveAccess, type: RecordType): string {
  const tenant = assertTenantId(access?.tenantId);
  if (!Array.isArray(access.scope?.types) || !access.scope.types.includes(type)) {
    throw new RetentionError(
      'ERR_ARCHIVE_SCOPE_DENIED',
      `reading ${type} of "${tenant}" is outside your data scope; an administrator with user management can grant it`,
    );
  }
  return tenant;
}

/**
 * The tenant and the record types of the caller's scope (in `RECORD_TYPES` order); `ERR_ARCHIVE_SCOPE_DENIED` when
 * the scope allows none.
 */
export function scopedTypes(access: ArchiveAccess): { tenant: string; types: RecordType[] } {
  const tenant = assertTenantId(access?.tenantId);
  const allowed = Array.isArray(access.scope?.types) ? access.scope.types.filter(isRecordType) : [];
  const types = RECORD_TYPES.filter((type) => allowed.includes(type));
  if (types.length === 0) throw new RetentionError('ERR_ARCHIVE_SCOPE_DENIED', `your data scope allows no archived data of "${tenant}"`);
  return { tenant, types };
}
