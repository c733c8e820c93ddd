import type { Request, Response } from 'express';
import { archiveAccessFor, can } from '../../access/permissions.js';
import type { Principal } from '../../access/principal.js';
import type { RouteId } from '../../access/route-permissions.js';
import { RetentionError } from '../../errors.js';
import type { RecordType } from '../../records/record-type.js';
import type { ArchiveScope } from '../../store/archive/archive-scope.js';
import type { ArchiveStore } from '../../store/archive/archive-store.js';
import { authorizedPrincipal } from '../access-gates.js';
import type { PortalServices } from '../portal-services.js';

/**
 * Who reads the archive on this request: the signed-in user's principal, the `ArchiveAccess` every store call takes
 * (never wider than the user's data scopes) and whether personal data is shown unmasked.
 */
export interface ArchiveReader {
  tenantId: string;
  userId: string;
  principal: Principal;
  access: { tenantId: string; scope: ArchiveScope };
  /** The `see-unmasked-personal-data` capability (the owner holds it). */
  unmasked: boolean;
}

/**
 * The reader of a request behind `requireUser`, after checking the route's entry in the permission table
 * (`ERR_FORBIDDEN` for a list of a type out of scope, `ERR_NOT_FOUND` for a record of one).
 *
 * @example
 * const reader = authorizedReader(res, 'chats.detail');
 * const chat = await archive.getChat(reader.access, id);
 */
export function authorizedReader(res: Response, routeId: RouteId): ArchiveReader {
  const principal = authorizedPrincipal(res, routeId);
  return {
    tenantId: principal.tenantId,
    userId: principal.userId,
    principal,
    access: archiveAccessFor(principal),
    unmasked: can(principal, 'see-unmasked-personal-data'),
  };
}

/** The portal's archive store, or `ERR_ARCHIVE_UNAVAILABLE` (503) when this portal was built without one. */
export function archiveStoreOf(services: PortalServices): ArchiveStore {
  const store = services.deps.archive;
  if (store === undefined) {
    throw new RetentionError('ERR_ARCHIVE_UNAVAILABLE', 'The online archive is not configured for this portal. Ask your operator to connect it (online mode).');
  }
  return store;
}

/** What one read was about, for the audit log. */
export interface ArchiveReadEvent {
  action: 'record.viewed' | 'records.searched';
  type: RecordType;
  outcome?: 'success' | 'failure';
  /** The record id (`record.viewed`). */
  id?: string;
  details?: Record<string, string | number | boolean | null>;
}

/**
 * Writes who read what to the tenant's audit log: `record.viewed` (target `<type>/<id>`) or `records.searched`
 * (target `<type>`, the filter in the details).
 */
export async function auditArchiveRead(services: PortalServices, req: Request, reader: ArchiveReader, event: ArchiveReadEvent): Promise<void> {
  await services.audit(req, reader.tenantId, {
    actor: { type: 'user', id: reader.userId },
    action: event.action,
    outcome: event.outcome ?? 'success',
    target: event.id === undefined ? event.type : `${event.type}/${event.id.slice(0, 200)}`,
    details: { type: event.type, ...(event.id !== undefined ? { id: event.id.slice(0, 200) } : {}), ...event.details },
  });
}
