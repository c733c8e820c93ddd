import { RetentionError } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
import type { ArchiveAccess } from '../store/archive/archive-scope.js';
import type { AccessGrants } from './access-grants.js';
import { forbiddenError, notFoundError } from './access-errors.js';
import type { Capability } from './capabilities.js';
import type { Principal } from './principal.js';

/**
 * True when the principal holds `capability` (the owner holds all).
 *
 * @example
 * if (can(principal, 'see-unmasked-personal-data')) return record;
 */
export function can(principal: Principal, capability: Capability): boolean {
  return principal.role === 'owner' || principal.capabilities.includes(capability);
}

/** True when the principal may read records of `type`. */
export function canRead(principal: Principal, type: RecordType): boolean {
  return principal.role === 'owner' || principal.dataTypes.includes(type);
}

/** The record types the principal may read, in canonical order. */
export function readableTypes(principal: Principal): RecordType[] {
  return [...principal.dataTypes];
}

/**
 * The `ArchiveAccess` every archive store call takes: the principal's tenant and data scope, never wider than the
 * grants. `only` narrows it further (a contact page asking for related calls); a type outside the grants stays out.
 *
 * @example
 * await archive.listChats(archiveAccessFor(principal), filter);
 * await archive.listCallLogs(archiveAccessFor(principal, ['call-logs']), { ... }); // related calls of a contact
 */
export function archiveAccessFor(principal: Principal, only?: readonly RecordType[]): ArchiveAccess {
  const types = principal.dataTypes.filter((type) => only === undefined || only.includes(type));
  return { tenantId: principal.tenantId, scope: { types: Object.freeze(types) } };
}

/** Throws `ERR_FORBIDDEN` (403) unless the principal holds `capability`. */
export function assertCan(principal: Principal, capability: Capability): void {
  if (!can(principal, capability)) throw forbiddenError(capability);
}

/**
 * Throws unless the principal may read `type`: `ERR_FORBIDDEN` (403) for a list or an export of a whole type
 * (`as: 'forbidden'`, the default), `ERR_NOT_FOUND` (404) for a record by id (`as: 'not-found'`).
 */
export function assertCanRead(principal: Principal, type: RecordType, as: 'forbidden' | 'not-found' = 'forbidden'): void {
  if (canRead(principal, type)) return;
  throw as === 'not-found' ? notFoundError() : forbiddenError({ scope: type });
}

/**
 * Refuses grants wider than the granter's own (no privilege escalation through user management): the granter needs
 * `manage-users` and must hold every data type and capability it hands out. `ERR_FORBIDDEN` (403) names what is
 * missing. The owner may grant anything.
 *
 * @example
 * assertMayGrant(principal, parseAccessGrants(form));
 */
export function assertMayGrant(granter: Principal, grants: AccessGrants): void {
  assertCan(granter, 'manage-users');
  const missingTypes = grants.dataTypes.filter((type) => !canRead(granter, type));
  const missingCapabilities = grants.capabilities.filter((capability) => !can(granter, capability));
  if (missingTypes.length + missingCapabilities.length > 0) {
    throw new RetentionError(
      'ERR_FORBIDDEN',
      `You cannot grant what you do not hold yourself (${[...missingTypes, ...missingCapabilities].join(', ')}). Ask the owner of your organisation.`,
    );
  }
}

/**
 * True when `actor` may act on the user `target` at all (renew or withdraw an invitation, change grants, reset the
 * second factor, unlock, deactivate, reactivate): only the owner acts on the owner, and anybody else only on users
 * whose data types and capabilities are all held by the actor too (nobody acts beyond their own grants). Whether the
 * actor may manage users at all is the route's business (`manage-users`).
 *
 * @example
 * mayManageUser(principalOf(signedIn), principalOf(target)); // false for a chats-only admin on an all-types one
 */
export function mayManageUser(actor: Principal, target: Principal): boolean {
  if (actor.tenantId !== target.tenantId) return false;
  if (target.role === 'owner') return actor.role === 'owner';
  return target.dataTypes.every((type) => canRead(actor, type)) && target.capabilities.every((capability) => can(actor, capability));
}

/** What `target` holds beyond `actor`'s own grants (empty when {@link mayManageUser} allows), for refusal messages. */
export function grantsBeyond(actor: Principal, target: Principal): string[] {
  if (target.role === 'owner' && actor.role !== 'owner') return ['owner'];
  return [...target.dataTypes.filter((type) => !canRead(actor, type)), ...target.capabilities.filter((capability) => !can(actor, capability))];
}
