import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { CAPABILITIES, type Capability } from './capabilities.js';

/** The owner holds everything; an administrator holds what was granted. */
export type PrincipalRole = 'owner' | 'administrator';

/**
 * Who is asking: a signed-in user of one tenant with their effective data scopes and capabilities (for the owner:
 * all of them). Frozen: permission checks read it, nothing changes it during a request.
 */
export interface Principal {
  readonly tenantId: string;
  readonly userId: string;
  readonly role: PrincipalRole;
  readonly dataTypes: readonly RecordType[];
  readonly capabilities: readonly Capability[];
}

/** A user as the users store keeps it (only what permissions need). */
export interface PrincipalSource {
  id: string;
  tenantId: string;
  role: PrincipalRole;
  dataTypes?: readonly string[] | undefined;
  capabilities?: readonly string[] | undefined;
}

/**
 * The principal of a stored user. The owner gets every data type and capability whatever is stored; an
 * administrator gets the stored ones that are known (an unknown or retired name grants nothing: fail closed).
 * Any role other than `owner` counts as an administrator.
 *
 * @example
 * const principal = principalOf(user); // user from the users store
 * if (can(principal, 'export')) showExportButton();
 */
export function principalOf(user: PrincipalSource): Principal {
  const owner = user.role === 'owner';
  const stored = (values: readonly string[] | undefined) => (Array.isArray(values) ? values : []);
  return Object.freeze({
    tenantId: assertTenantId(user.tenantId),
    userId: String(user.id),
    role: owner ? 'owner' : 'administrator',
    dataTypes: Object.freeze(owner ? [...RECORD_TYPES] : RECORD_TYPES.filter((type) => stored(user.dataTypes).includes(type))),
    capabilities: Object.freeze(owner ? [...CAPABILITIES] : CAPABILITIES.filter((capability) => stored(user.capabilities).includes(capability))),
  });
}
