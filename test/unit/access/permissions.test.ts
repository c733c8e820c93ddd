import { describe, expect, it } from 'vitest';
import { OWNER_GRANTS, parseAccessGrants } from '../../../src/access/access-grants.js';
import { findInScope, scopeDenialAsNotFound } from '../../../src/access/access-errors.js';
import { CAPABILITIES, type Capability } from '../../../src/access/capabilities.js';
import { archiveAccessFor, assertCan, assertCanRead, assertMayGrant, can, canRead, grantsBeyond, mayManageUser } from '../../../src/access/permissions.js';
import { principalOf, type Principal } from '../../../src/access/principal.js';
import { RetentionError } from '../../../src/errors.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import { assertArchiveAccess } from '../../../src/store/archive/archive-scope.js';
import { subsets } from './grant-combinations.js';

const admin = (dataTypes: readonly string[], capabilities: readonly string[]): Principal =>
  principalOf({ id: 'u1', tenantId: 'acme', role: 'administrator', dataTypes, capabilities });
const owner = principalOf({ id: 'o1', tenantId: 'acme', role: 'owner', dataTypes: [], capabilities: [] });
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as RetentionError).code;
  }
};

const TYPE_SETS = subsets(RECORD_TYPES);
const CAPABILITY_SETS = subsets(CAPABILITIES);

describe('principalOf', () => {
  it('gives the owner everything, whatever is stored', () => {
    expect(owner.dataTypes).toEqual([...RECORD_TYPES]);
    expect(owner.capabilities).toEqual([...CAPABILITIES]);
    expect(Object.isFrozen(owner)).toBe(true);
  });

  it('keeps only known grants of an administrator, in canonical order (fail closed)', () => {
    const principal = admin(['contacts', 'everything', 'chats'], ['read-audit', 'configure', 'root', 'export']);
    expect(principal.dataTypes).toEqual(['chats', 'contacts']);
    expect(principal.capabilities).toEqual(['export', 'read-audit']);
  });

  it('treats any role other than owner as an administrator', () => {
    const principal = principalOf({ id: 'x', tenantId: 'acme', role: 'superuser' as 'owner', dataTypes: [], capabilities: [] });
    expect(principal.role).toBe('administrator');
    expect(can(principal, 'export')).toBe(false);
  });

  it.each([['../x'], ['A'], ['']])('refuses an invalid tenant id %j', (tenantId) => {
    expect(codeOf(() => principalOf({ id: 'u', tenantId, role: 'owner' }))).toBe('ERR_TENANT_ID_INVALID');
  });
});

describe('can, canRead and archiveAccessFor over every combination of grants', () => {
  const combos = TYPE_SETS.flatMap((types) => CAPABILITY_SETS.map((capabilities) => [types, capabilities] as const));

  it(`holds for all ${combos.length} administrator grants`, () => {
    for (const [types, capabilities] of combos) {
      const principal = admin(types, capabilities);
      for (const capability of CAPABILITIES) {
        expect(can(principal, capability)).toBe(capabilities.includes(capability));
        expect(codeOf(() => assertCan(principal, capability))).toBe(capabilities.includes(capability) ? undefined : 'ERR_FORBIDDEN');
      }
      const access = archiveAccessFor(principal);
      expect(access.tenantId).toBe('acme');
      for (const type of RECORD_TYPES) {
        const granted = types.includes(type);
        expect(canRead(principal, type)).toBe(granted);
        expect(access.scope.types.includes(type)).toBe(granted);
        expect(codeOf(() => assertArchiveAccess(access, type))).toBe(granted ? undefined : 'ERR_ARCHIVE_SCOPE_DENIED');
        expect(codeOf(() => assertCanRead(principal, type))).toBe(granted ? undefined : 'ERR_FORBIDDEN');
        expect(codeOf(() => assertCanRead(principal, type, 'not-found'))).toBe(granted ? undefined : 'ERR_NOT_FOUND');
      }
    }
  });

  it('lets the owner do and read everything', () => {
    for (const capability of CAPABILITIES) expect(can(owner, capability)).toBe(true);
    for (const type of RECORD_TYPES) expect(canRead(owner, type)).toBe(true);
    expect(archiveAccessFor(owner).scope.types).toEqual([...RECORD_TYPES]);
  });

  it.each(TYPE_SETS.flatMap((types) => TYPE_SETS.map((only) => [types, only] as const)))('narrows %j with only=%j, never widening', (types, only) => {
    const access = archiveAccessFor(admin(types, []), only);
    expect(access.scope.types).toEqual(RECORD_TYPES.filter((type) => types.includes(type) && only.includes(type)));
  });
});

describe('parseAccessGrants', () => {
  it('deduplicates and orders', () => {
    expect(parseAccessGrants({ dataTypes: ['contacts', 'chats', 'chats'], capabilities: ['read-audit', 'export'] })).toEqual({
      dataTypes: ['chats', 'contacts'],
      capabilities: ['export', 'read-audit'],
    });
    expect(parseAccessGrants({ ...OWNER_GRANTS })).toEqual({ dataTypes: [...RECORD_TYPES], capabilities: [...CAPABILITIES] });
  });

  it.each([
    ['unknown type', { dataTypes: ['emails'], capabilities: [] }, 'Data types: "emails" is not accepted; choose from call-logs, chats, contacts.'],
    ['unknown capability', { dataTypes: [], capabilities: ['configure'] }, 'Permissions: "configure" is not accepted; choose from export,'],
    ['not a list', { dataTypes: 'chats', capabilities: [] }, 'Data types: "chats" is not accepted; give a list; choose from'],
    ['missing field', { dataTypes: [] }, 'Permissions: an empty value is not accepted; give a list;'],
    ['extra field', { dataTypes: [], capabilities: [], role: 'owner' }, 'Access grants hold only dataTypes and capabilities; "role" cannot be granted.'],
    ['operator object', { dataTypes: { $ne: null }, capabilities: [] }, 'Data types: "{"$ne":null}" is not accepted; give a list;'],
    ['null', null, 'Access grants must name data types and permissions'],
    ['too many entries', { dataTypes: Array(7).fill('chats'), capabilities: [] }, 'Data types: the list is too long;'],
  ])('refuses %s, saying what is wrong and what is accepted', (_name, input, message) => {
    expect(codeOf(() => parseAccessGrants(input))).toBe('ERR_ACCESS_GRANTS_INVALID');
    let thrown: unknown;
    try {
      parseAccessGrants(input);
    } catch (err) {
      thrown = err;
    }
    const text = (thrown as Error).message;
    expect(text).toContain(message);
    expect(text).not.toMatch(/Invalid input|expected|Too big|Unrecognized/);
  });
});

describe('assertMayGrant', () => {
  const manager = admin(['chats'], ['manage-users', 'export']);
  it.each<[string, Principal, RecordType[], Capability[], string | undefined]>([
    ['owner grants anything', owner, [...RECORD_TYPES], [...CAPABILITIES], undefined],
    ['manager grants what it holds', manager, ['chats'], ['export', 'manage-users'], undefined],
    ['manager grants nothing', manager, [], [], undefined],
    ['manager grants a type it lacks', manager, ['call-logs'], [], 'ERR_FORBIDDEN'],
    ['manager grants unmasked data it lacks', manager, [], ['see-unmasked-personal-data'], 'ERR_FORBIDDEN'],
    ['no manage-users at all', admin([...RECORD_TYPES], ['export']), [], [], 'ERR_FORBIDDEN'],
  ])('%s', (_name, granter, dataTypes, capabilities, code) => {
    expect(codeOf(() => assertMayGrant(granter, { dataTypes, capabilities }))).toBe(code);
  });
});

describe('scope denials become not-found', () => {
  it.each(['ERR_ARCHIVE_SCOPE_DENIED', 'ERR_ARCHIVE_TENANT_MISMATCH', 'ERR_TENANT_ID_INVALID'] as const)(
    '%s → ERR_NOT_FOUND 404 without the original message',
    (code) => {
      const converted = scopeDenialAsNotFound(new RetentionError(code, 'reading call-logs of "acme" is outside your data scope')) as RetentionError;
      expect(converted.code).toBe('ERR_NOT_FOUND');
      expect(converted.status).toBe(404);
      expect(converted.message).not.toMatch(/call-logs|acme|scope/);
    },
  );

  it('leaves other errors alone', () => {
    const err = new RetentionError('ERR_ARCHIVE_FILTER_INVALID', 'bad');
    expect(scopeDenialAsNotFound(err)).toBe(err);
  });

  it('findInScope answers the same for missing, out-of-scope and found records', async () => {
    const chatsOnly = admin(['chats'], []);
    const outOfScope = findInScope(async () => {
      assertArchiveAccess(archiveAccessFor(chatsOnly), 'call-logs');
      return { id: 'c1' };
    });
    await expect(outOfScope).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', status: 404 });
    await expect(findInScope(async () => undefined)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', status: 404 });
    await expect(findInScope(async () => ({ id: 'c1' }))).resolves.toEqual({ id: 'c1' });
    await expect(findInScope(async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
  });
});

describe('mayManageUser (issue 10.1: nobody acts beyond their own grants)', () => {
  it('allows a target whose every data type and capability the actor holds, for every subset pair', () => {
    for (const actorTypes of TYPE_SETS) {
      for (const targetTypes of TYPE_SETS) {
        const actor = admin(actorTypes, ['manage-users', 'export']);
        const target = admin(targetTypes, ['export']);
        expect(mayManageUser(actor, target)).toBe(targetTypes.every((t) => actorTypes.includes(t)));
      }
    }
    for (const targetCapabilities of CAPABILITY_SETS) {
      const actor = admin([...RECORD_TYPES], ['manage-users', 'run-jobs']);
      const allowed = targetCapabilities.every((c) => c === 'manage-users' || c === 'run-jobs');
      expect(mayManageUser(actor, admin([], targetCapabilities))).toBe(allowed);
    }
  });

  it('lets only the owner act on the owner, and the owner on anybody', () => {
    expect(mayManageUser(admin([...RECORD_TYPES], [...CAPABILITIES]), owner)).toBe(false);
    expect(grantsBeyond(admin([...RECORD_TYPES], [...CAPABILITIES]), owner)).toEqual(['owner']);
    expect(mayManageUser(owner, admin([...RECORD_TYPES], [...CAPABILITIES]))).toBe(true);
  });

  it('never allows across tenants, and names what the target holds beyond the actor', () => {
    const other = principalOf({ id: 'u2', tenantId: 'other', role: 'administrator', dataTypes: [], capabilities: [] });
    expect(mayManageUser(owner, other)).toBe(false);
    expect(grantsBeyond(admin(['chats'], ['manage-users']), admin(['chats', 'contacts'], ['export']))).toEqual(['contacts', 'export']);
  });
});
