import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES, type Capability } from '../../../src/access/capabilities.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';
import type { User } from '../../../src/store/users-store.js';
import { PASSWORD, startPortalHarness, type FixtureUser, type PortalClient, type PortalHarness } from './portal-harness.js';

/**
 * Nobody acts beyond their own grants (issue 10.1, ASVS 4.1.3): every user-management route × pairs of (actor grants,
 * target grants). A route on an existing user is allowed only when the target's data types and capabilities are all
 * held by the actor, and only the owner acts on the owner; an invitation only with grants the actor holds. A refusal
 * is a 403 that changes nothing and never shows an invitation link.
 */

interface Grants {
  role: 'owner' | 'administrator';
  dataTypes: RecordType[];
  capabilities: Capability[];
}

const admin = (dataTypes: RecordType[], capabilities: Capability[]): Grants => ({ role: 'administrator', dataTypes, capabilities });

const ACTORS: [string, Grants][] = [
  ['owner', { role: 'owner', dataTypes: [], capabilities: [] }],
  ['full administrator', admin([...RECORD_TYPES], [...CAPABILITIES])],
  ['chats + manage-users', admin(['chats'], ['manage-users'])],
  ['all types + manage-users', admin([...RECORD_TYPES], ['manage-users'])],
  ['call-logs, chats + manage-users, export, run-jobs', admin(['call-logs', 'chats'], ['manage-users', 'export', 'run-jobs'])],
];

const TARGETS: [string, Grants][] = [
  ['no grants', admin([], [])],
  ['chats', admin(['chats'], [])],
  ['chats + export', admin(['chats'], ['export'])],
  ['call-logs + run-jobs', admin(['call-logs'], ['run-jobs'])],
  ['chats + manage-users', admin(['chats'], ['manage-users'])],
  ['every grant', admin([...RECORD_TYPES], [...CAPABILITIES])],
];

/** The rule, written out here on its own (not the code under test): may `actor` act on `target`? */
function expectedAllowed(actor: Grants, target: Grants): boolean {
  if (target.role === 'owner') return actor.role === 'owner';
  if (actor.role === 'owner') return true;
  return target.dataTypes.every((t) => actor.dataTypes.includes(t)) && target.capabilities.every((c) => actor.capabilities.includes(c));
}

type TargetState = 'invited' | 'active' | 'disabled' | 'locked' | 'two-factor';

interface UserRoute {
  name: string;
  state: TargetState;
  path: (id: string) => string;
  form: Record<string, string | string[]>;
  /** What an allowed request leaves behind. */
  succeeded: (before: User, after: User | undefined, res: { status: number; text: string }) => void;
}

const ROUTES: UserRoute[] = [
  {
    name: 'renew invitation',
    state: 'invited',
    path: (id) => `/users/${id}/invitation/renew`,
    form: {},
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/\/invitation\/[A-Za-z0-9_-]{20,}/);
      expect(after?.status).toBe('invited');
    },
  },
  {
    name: 'withdraw invitation',
    state: 'invited',
    path: (id) => `/users/${id}/invitation/revoke`,
    form: {},
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(303);
      expect(after).toBeUndefined();
    },
  },
  {
    name: 'change grants',
    state: 'active',
    path: (id) => `/users/${id}/grants`,
    form: { dataTypes: [], capabilities: [] },
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(303);
      expect(after).toMatchObject({ dataTypes: [], capabilities: [] });
    },
  },
  {
    name: 'deactivate',
    state: 'active',
    path: (id) => `/users/${id}/deactivate`,
    form: {},
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(303);
      expect(after?.status).toBe('disabled');
    },
  },
  {
    name: 'reactivate',
    state: 'disabled',
    path: (id) => `/users/${id}/reactivate`,
    form: {},
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(303);
      expect(after?.status).toBe('active');
    },
  },
  {
    name: 'unlock',
    state: 'locked',
    path: (id) => `/users/${id}/unlock`,
    form: {},
    succeeded: (_b, _a, res) => expect(res.status).toBe(303),
  },
  {
    name: 'reset 2FA',
    state: 'two-factor',
    path: (id) => `/users/${id}/reset-two-factor`,
    form: { currentPassword: PASSWORD },
    succeeded: (_b, after, res) => {
      expect(res.status).toBe(303);
      expect(after?.totp).toBeUndefined();
    },
  },
];

let h: PortalHarness;
let tenantId: string;
let owner: FixtureUser;
const clients = new Map<string, { client: PortalClient; grants: Grants }>();

const LOCKOUT = { lockoutThreshold: 3, lockoutMinutes: 15 };

async function makeTarget(grants: Grants, state: TargetState): Promise<User> {
  const email = `t-${randomBytes(5).toString('hex')}@example.com`;
  if (state === 'invited') {
    return h.controlPlane.users.create(tenantId, { email, displayName: 'Target', ...grants, invitedBy: owner.user.id });
  }
  const fixture = await h.createUser(tenantId, { email, ...grants, totp: state === 'two-factor' });
  if (state === 'disabled') await h.controlPlane.users.changeStatus(tenantId, fixture.user.id, 'active', 'disabled');
  if (state === 'locked')
    for (let i = 0; i < LOCKOUT.lockoutThreshold; i += 1) await h.portal.services.throttle.recordFailure({ tenantId, account: email }, LOCKOUT);
  return (await h.controlPlane.users.findById(tenantId, fixture.user.id)) as User;
}

/** True when sign-in of `email` is refused by the lockout before its password is looked at. */
async function locked(email: string): Promise<boolean> {
  const decision = await h.portal.services.throttle.check({ tenantId, account: email });
  return !decision.allowed;
}

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant('umatrix');
  owner = await h.createUser(tenantId, { role: 'owner' });
  for (const [name, grants] of ACTORS) {
    const fixture = name === 'owner' ? owner : await h.createUser(tenantId, grants);
    const client = h.client(tenantId);
    expect((await client.signIn(fixture.email)).headers.location).toBe('/');
    await client.get('/users');
    clients.set(name, { client, grants });
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('user management × (actor grants, target grants): nobody acts beyond their own grants', () => {
  describe.each(ACTORS.map(([name]) => name))('actor: %s', (actorName) => {
    it.each(TARGETS)('on a target with %s', async (_targetName, targetGrants) => {
      const { client, grants: actorGrants } = clients.get(actorName) as { client: PortalClient; grants: Grants };
      const allowed = expectedAllowed(actorGrants, targetGrants);
      for (const route of ROUTES) {
        const before = await makeTarget(targetGrants, route.state);
        const res = await client.post(route.path(before.id), route.form);
        const after = await h.controlPlane.users.findById(tenantId, before.id);
        if (allowed) {
          route.succeeded(before, after, res);
          if (route.state === 'locked') expect(await locked(before.email)).toBe(false);
        } else {
          expect(res.status, `${route.name}: expected 403`).toBe(403);
          expect(res.text).toContain('ERR_FORBIDDEN');
          expect(res.text).not.toMatch(/\/invitation\/[A-Za-z0-9_-]{20,}/);
          expect(after, `${route.name} changed the target`).toEqual(before);
          if (route.state === 'locked') expect(await locked(before.email)).toBe(true);
        }
      }
    });

    it('inviting: only with grants the actor holds', async () => {
      const { client, grants: actorGrants } = clients.get(actorName) as { client: PortalClient; grants: Grants };
      for (const [, targetGrants] of TARGETS) {
        const email = `i-${randomBytes(5).toString('hex')}@example.com`;
        const res = await client.post('/users/invitations', {
          email,
          displayName: 'Invited',
          dataTypes: targetGrants.dataTypes,
          capabilities: targetGrants.capabilities,
        });
        const invited = await h.controlPlane.users.findByEmail(tenantId, email);
        if (expectedAllowed(actorGrants, targetGrants)) {
          expect(res.status).toBe(200);
          expect(invited).toMatchObject({ status: 'invited', dataTypes: targetGrants.dataTypes, capabilities: targetGrants.capabilities });
        } else {
          expect(res.status).toBe(403);
          expect(res.text).not.toMatch(/\/invitation\/[A-Za-z0-9_-]{20,}/);
          expect(invited).toBeUndefined();
        }
      }
    });
  });

  it.each(ACTORS.filter(([name]) => name !== 'owner').map(([name]) => name))(
    '%s: every route on the owner is refused and changes nothing',
    async (actorName) => {
      const { client } = clients.get(actorName) as { client: PortalClient; grants: Grants };
      const before = await h.controlPlane.users.findById(tenantId, owner.user.id);
      for (const route of ROUTES.filter((r) => r.state === 'active' || r.state === 'locked' || r.state === 'two-factor')) {
        const res = await client.post(route.path(owner.user.id), route.form);
        expect(res.status, route.name).toBe(403);
      }
      expect(await h.controlPlane.users.findById(tenantId, owner.user.id)).toEqual(before);
    },
  );

  it('a renewed invitation of a stronger user is refused and audited as a denial', async () => {
    const { client } = clients.get('chats + manage-users') as { client: PortalClient; grants: Grants };
    const strong = await makeTarget(admin([...RECORD_TYPES], [...CAPABILITIES]), 'invited');
    const res = await client.post(`/users/${strong.id}/invitation/renew`, {});
    expect(res.status).toBe(403);
    const denials = await h.controlPlane.audit.list(tenantId, { action: 'user.invitation.created' });
    expect(denials).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ outcome: 'denied', target: strong.email, details: expect.objectContaining({ reason: 'target-grants-beyond-actor' }) }),
      ]),
    );
  });
});
