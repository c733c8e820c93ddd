import { describe, expect, it } from 'vitest';
import { CAPABILITIES, type Capability } from '../../../src/access/capabilities.js';
import { principalOf, type Principal } from '../../../src/access/principal.js';
import {
  authorizeRoute,
  ROUTE_IDS,
  ROUTE_PERMISSIONS,
  routeAllowed,
  routeDecision,
  type RouteDecision,
  type RouteId,
  type RoutePermission,
} from '../../../src/access/route-permissions.js';
import type { RetentionError } from '../../../src/errors.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { subsets } from './grant-combinations.js';

const PUBLIC_PREFIXES = ['health.', 'sign-in.', 'activation.', 'invitation.', 'email-confirmation.', 'sso.'];
/** Routes only the owner may use, whatever an administrator holds (the single sign-on settings). */
const OWNER_ONLY: readonly string[] = ['settings.sso.update', 'settings.time-zone.update'];
const CAPABILITY_OF_PREFIX: [string, Capability][] = [
  ['exports.', 'export'],
  ['users.', 'manage-users'],
  ['settings.security.', 'manage-users'],
  ['settings.password-policy.', 'manage-users'],
  ['settings.two-factor-enforcement.', 'manage-users'],
  ['settings.ip-allowlist.', 'manage-users'],
  ['settings.retention.', 'configure-retention'],
  ['jobs.', 'run-jobs'],
  ['audit.', 'read-audit'],
];
const TYPE_OF_PREFIX: [string, RecordType][] = [
  ['call-logs.', 'call-logs'],
  ['chats.', 'chats'],
  ['contacts.', 'contacts'],
];

/** The intent, written independently of the table: who may use a route, judged by its id. */
function intended(principal: Principal | undefined, id: RouteId): RouteDecision {
  if (PUBLIC_PREFIXES.some((prefix) => id.startsWith(prefix))) return 'allow';
  if (principal === undefined) return 'sign-in';
  const owner = principal.role === 'owner';
  if (OWNER_ONLY.includes(id)) return owner ? 'allow' : 'forbidden';
  const type = TYPE_OF_PREFIX.find(([prefix]) => id.startsWith(prefix))?.[1];
  if (type !== undefined && !owner && !principal.dataTypes.includes(type)) return id.endsWith('.detail') ? 'not-found' : 'forbidden';
  if (VIEWING_RUNS.includes(id)) {
    return owner || principal.capabilities.includes('run-jobs') || principal.capabilities.includes('configure-retention') ? 'allow' : 'forbidden';
  }
  const capability = CAPABILITY_OF_PREFIX.find(([prefix]) => id.startsWith(prefix))?.[1];
  if (capability !== undefined && !owner && !principal.capabilities.includes(capability)) return 'forbidden';
  return 'allow';
}

/** Who sets the schedule sees what it did: viewing runs needs run-jobs or configure-retention. */
const VIEWING_RUNS: readonly string[] = ['jobs.list', 'jobs.detail'];

const PRINCIPALS: Principal[] = [
  principalOf({ id: 'o', tenantId: 'acme', role: 'owner' }),
  ...subsets(RECORD_TYPES).flatMap((dataTypes) =>
    subsets(CAPABILITIES).map((capabilities) => principalOf({ id: 'a', tenantId: 'acme', role: 'administrator', dataTypes, capabilities })),
  ),
];
const STATUS: Record<RouteDecision, number | undefined> = { allow: undefined, 'sign-in': 401, forbidden: 403, 'not-found': 404 };

describe('ROUTE_PERMISSIONS', () => {
  it('has unique method and path pairs', () => {
    const keys = ROUTE_IDS.map((id) => `${ROUTE_PERMISSIONS[id].method} ${ROUTE_PERMISSIONS[id].path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('protects every non-public route with a sign-in', () => {
    for (const id of ROUTE_IDS) {
      const isPublic = PUBLIC_PREFIXES.some((prefix) => id.startsWith(prefix));
      expect(ROUTE_PERMISSIONS[id].access, id).toBe(isPublic ? 'public' : 'signed-in');
    }
  });

  it.each(ROUTE_IDS)(`%s: decision and error for anonymous, the owner and all ${PRINCIPALS.length - 1} administrator grants`, (id) => {
    for (const principal of [undefined, ...PRINCIPALS]) {
      const expected = intended(principal, id);
      expect(routeDecision(principal, id), `${id} ${JSON.stringify(principal)}`).toBe(expected);
      let status: number | undefined;
      try {
        authorizeRoute(principal, id);
      } catch (err) {
        status = (err as RetentionError).status;
        expect((err as RetentionError).code).toBe({ 401: 'ERR_NOT_SIGNED_IN', 403: 'ERR_FORBIDDEN', 404: 'ERR_NOT_FOUND' }[status as 401 | 403 | 404]);
      }
      expect(status).toBe(STATUS[expected]);
    }
  });

  it('refuses a route id missing from the table (fail closed)', () => {
    const owner = PRINCIPALS[0] as Principal;
    expect(() => authorizeRoute(owner, 'admin.backdoor' as RouteId)).toThrow(expect.objectContaining({ code: 'ERR_ROUTE_UNKNOWN' }));
    expect(() => authorizeRoute(owner, 'toString' as RouteId)).toThrow(expect.objectContaining({ code: 'ERR_ROUTE_UNKNOWN' }));
  });
});

const administrator = (dataTypes: readonly RecordType[], capabilities: readonly Capability[]): Principal =>
  principalOf({ id: 'a', tenantId: 'acme', role: 'administrator', dataTypes, capabilities });
const without = <T>(all: readonly T[], left: readonly T[]): T[] => all.filter((value) => !left.includes(value));

/** Each way a route can be satisfied: the data type it reads (if any) with one of the capabilities it admits (if any). */
function minimalGrants(route: RoutePermission): { dataTypes: RecordType[]; capabilities: Capability[] }[] {
  const dataTypes = route.scope === undefined ? [] : [route.scope];
  const alternatives = route.capability !== undefined ? [[route.capability]] : (route.anyCapability ?? []).map((capability) => [capability]);
  return alternatives.length === 0 ? [{ dataTypes, capabilities: [] }] : alternatives.map((capabilities) => ({ dataTypes, capabilities }));
}

describe('ROUTE_PERMISSIONS, route by route: exactly the grant it names admits, everything but it refuses', () => {
  it.each(ROUTE_IDS)('%s', (id) => {
    const route: RoutePermission = ROUTE_PERMISSIONS[id];
    if (route.access === 'public') {
      expect(routeDecision(undefined, id)).toBe('allow');
      return;
    }
    expect(routeDecision(undefined, id)).toBe('sign-in');
    if (route.ownerOnly === true) {
      const everything = administrator([...RECORD_TYPES], [...CAPABILITIES]);
      expect(routeDecision(everything, id), `${id} for an administrator holding everything`).toBe('forbidden');
      expect(() => authorizeRoute(everything, id)).toThrow(
        expect.objectContaining({ code: 'ERR_FORBIDDEN', message: 'Only the owner of your organisation can do this.' }),
      );
      expect(routeDecision(principalOf({ id: 'o', tenantId: 'acme', role: 'owner' }), id)).toBe('allow');
      return;
    }
    for (const { dataTypes, capabilities } of minimalGrants(route)) {
      expect(routeDecision(administrator(dataTypes, capabilities), id), `${id} with exactly ${[...dataTypes, ...capabilities].join(', ') || 'nothing'}`).toBe(
        'allow',
      );
      expect(routeAllowed(administrator(dataTypes, capabilities), id)).toBe(true);
    }
    if (route.scope !== undefined) {
      const noType = administrator(without(RECORD_TYPES, [route.scope]), [...CAPABILITIES]);
      expect(routeDecision(noType, id), `${id} without ${route.scope}`).toBe(route.outOfScope === 'forbidden' ? 'forbidden' : 'not-found');
      expect(routeAllowed(noType, id)).toBe(false);
    }
    const needed = route.capability !== undefined ? [route.capability] : (route.anyCapability ?? []);
    if (needed.length > 0) {
      const noCapability = administrator([...RECORD_TYPES], without(CAPABILITIES, needed));
      expect(routeDecision(noCapability, id), `${id} without ${needed.join(' or ')}`).toBe('forbidden');
      expect(routeAllowed(noCapability, id)).toBe(false);
      expect(() => authorizeRoute(noCapability, id)).toThrow(expect.objectContaining({ code: 'ERR_FORBIDDEN', status: 403 }));
    }
  });
});
