import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Capability } from '../../../src/access/capabilities.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { startPortalHarness, type FixtureUser, type PortalClient, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;

beforeAll(async () => {
  h = await startPortalHarness();
});

afterAll(async () => {
  await h.close();
});

async function signedIn(tenantId: string, fixture: FixtureUser): Promise<PortalClient> {
  const client = h.client(tenantId);
  expect((await client.signIn(fixture.email)).headers.location).toBe('/');
  await client.get('/users');
  return client;
}

const stored = async (tenantId: string, id: string) => h.controlPlane.users.findById(tenantId, id);

describe('portal users: invitations with data types and capabilities', () => {
  it('stores the chosen data types and capabilities, and offers only what the inviter holds', async () => {
    const tenantId = await h.createTenant();
    const manager = await h.createUser(tenantId, { dataTypes: ['chats', 'contacts'], capabilities: ['manage-users', 'export'] });
    const client = await signedIn(tenantId, manager);
    const page = await client.get('/users');
    expect(page.status).toBe(200);
    expect(page.text).toContain('value="export"');
    expect(page.text).not.toContain('value="read-audit"');
    expect(page.text).not.toContain('name="dataTypes" value="call-logs"');
    const created = await client.post('/users/invitations', { email: 'ana@acme.example', displayName: 'Ana', dataTypes: ['chats'], capabilities: ['export'] });
    expect(created.status).toBe(200);
    expect(await h.controlPlane.users.findByEmail(tenantId, 'ana@acme.example')).toMatchObject({
      status: 'invited',
      dataTypes: ['chats'],
      capabilities: ['export'],
    });
  });

  it.each([
    ['a data type the inviter cannot read', { dataTypes: ['call-logs'] }],
    ['a capability the inviter does not hold', { capabilities: ['read-audit'] }],
    ['an unknown data type', { dataTypes: ['emails'] }],
  ])('refuses %s with 403 and audits the denial', async (_case, grants) => {
    const tenantId = await h.createTenant();
    const manager = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['manage-users'] });
    const client = await signedIn(tenantId, manager);
    const res = await client.post('/users/invitations', { email: 'x@acme.example', displayName: 'X', ...grants });
    expect(res.status).toBe(403);
    expect(await h.controlPlane.users.findByEmail(tenantId, 'x@acme.example')).toBeUndefined();
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.invitation.created' })).toEqual([expect.objectContaining({ outcome: 'denied' })]);
  });
});

describe('portal users: the list', () => {
  it('shows every user with scopes, capabilities, 2FA, status and lock state', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner', totp: false });
    const reader = await h.createUser(tenantId, { dataTypes: ['contacts'], capabilities: ['read-audit'], totp: true });
    await h.controlPlane.users.changeStatus(tenantId, reader.user.id, 'active', 'disabled');
    const client = await signedIn(tenantId, owner);
    const html = (await client.get('/users')).text;
    const row = new RegExp(`<tr id="user-${reader.user.id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
    expect(row).toContain(reader.email);
    expect(row).toMatch(/class="user-data-types">contacts</);
    expect(row).toMatch(/class="user-capabilities">read-audit</);
    expect(row).toContain('badge-on');
    expect(row).toContain('deactivated');
    expect(row).toContain('/reactivate');
  });

  it('refuses users without manage-users (403)', async () => {
    const tenantId = await h.createTenant();
    const all = await h.createUser(tenantId, {
      dataTypes: ['call-logs', 'chats', 'contacts'],
      capabilities: ['export', 'configure-retention', 'run-jobs', 'read-audit', 'see-unmasked-personal-data'],
    });
    const client = await signedIn(tenantId, all);
    expect((await client.get('/users')).status).toBe(403);
    expect((await client.post(`/users/${all.user.id}/unlock`, {})).status).toBe(403);
  });
});

describe('portal users: grants', () => {
  it('changes data types and capabilities, audits before and after, and applies them to the next request', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const target = await h.createUser(tenantId, { dataTypes: ['call-logs'], capabilities: ['export'] });
    const targetClient = await signedIn(tenantId, target);
    expect((await targetClient.get('/audit')).status).toBe(403);
    const client = await signedIn(tenantId, owner);
    const res = await client.post(`/users/${target.user.id}/grants`, { dataTypes: ['chats', 'contacts'], capabilities: ['read-audit'] });
    expect(res.status).toBe(303);
    expect(await stored(tenantId, target.user.id)).toMatchObject({ dataTypes: ['chats', 'contacts'], capabilities: ['read-audit'] });
    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'user.grants-changed' });
    expect(entry).toMatchObject({
      outcome: 'success',
      target: target.email,
      details: { dataTypesBefore: 'call-logs', dataTypesAfter: 'chats,contacts', capabilitiesBefore: 'export', capabilitiesAfter: 'read-audit' },
    });
    expect((await targetClient.get('/audit')).status).toBe(200);
    expect((await targetClient.get('/call-logs')).status).toBe(403);
  });

  it('never grants more than the actor holds', async () => {
    const tenantId = await h.createTenant();
    const manager = await h.createUser(tenantId, { dataTypes: ['call-logs', 'chats'], capabilities: ['manage-users', 'export'] });
    const target = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['export'] });
    const client = await signedIn(tenantId, manager);
    expect((await client.post(`/users/${target.user.id}/grants`, { dataTypes: ['chats'], capabilities: ['read-audit'] })).status).toBe(403);
    expect((await client.post(`/users/${target.user.id}/grants`, { dataTypes: ['contacts'] })).status).toBe(403);
    expect(await stored(tenantId, target.user.id)).toMatchObject({ dataTypes: ['chats'], capabilities: ['export'] });
    expect((await client.post(`/users/${target.user.id}/grants`, { dataTypes: ['call-logs'], capabilities: [] })).status).toBe(303);
    expect(await stored(tenantId, target.user.id)).toMatchObject({ dataTypes: ['call-logs'], capabilities: [] });
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.grants-changed' })).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'denied' }), expect.objectContaining({ outcome: 'success' })]),
    );
  });

  it('refuses any change to a user who holds grants beyond the actor’s, and shows them no actions', async () => {
    const tenantId = await h.createTenant();
    const manager = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['manage-users', 'export'] });
    const target = await h.createUser(tenantId, { dataTypes: ['call-logs', 'chats'], capabilities: ['export', 'run-jobs'] });
    const client = await signedIn(tenantId, manager);
    const res = await client.post(`/users/${target.user.id}/grants`, { dataTypes: [], capabilities: [] });
    expect(res.status).toBe(403);
    expect(res.text).toContain('call-logs, run-jobs');
    expect(await stored(tenantId, target.user.id)).toMatchObject({ dataTypes: ['call-logs', 'chats'], capabilities: ['export', 'run-jobs'] });
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.grants-changed' })).toEqual([
      expect.objectContaining({ outcome: 'denied', target: target.email, details: { reason: 'target-grants-beyond-actor', beyond: 'call-logs,run-jobs' } }),
    ]);
    const row = new RegExp(`<tr id="user-${target.user.id}">([\\s\\S]*?)</tr>`).exec((await client.get('/users')).text)?.[1] ?? '';
    expect(row).toContain('user-beyond-grants');
    expect(row).not.toContain('<form');
  });

  it.each([
    ['the owner', 'owner', 403],
    ['oneself', 'self', 403],
  ] as const)('refuses to change the grants of %s', async (_case, who, status) => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const manager = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['manage-users'] });
    const client = await signedIn(tenantId, manager);
    const target = who === 'owner' ? owner : manager;
    expect((await client.post(`/users/${target.user.id}/grants`, { dataTypes: ['chats'], capabilities: ['manage-users'] })).status).toBe(status);
    expect((await stored(tenantId, target.user.id))?.capabilities).toEqual(target.user.capabilities);
  });
});

describe('portal users: deactivate and reactivate', () => {
  it('ends the deactivated user’s sessions at once, refuses their sign-in, and lets them back after reactivation', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const target = await h.createUser(tenantId, { dataTypes: ['chats'] });
    const targetClient = await signedIn(tenantId, target);
    expect((await targetClient.get('/')).status).toBe(200);
    const client = await signedIn(tenantId, owner);
    expect((await client.post(`/users/${target.user.id}/deactivate`, {})).status).toBe(303);
    expect((await stored(tenantId, target.user.id))?.status).toBe('disabled');
    expect((await targetClient.get('/')).headers.location).toBe('/sign-in');
    expect((await h.client(tenantId).signIn(target.email)).status).toBe(401);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.deactivated' })).toEqual([
      expect.objectContaining({ outcome: 'success', target: target.email, details: { sessionsEnded: 1 } }),
    ]);
    expect((await client.post(`/users/${target.user.id}/deactivate`, {})).status).toBe(409);

    expect((await client.post(`/users/${target.user.id}/reactivate`, {})).status).toBe(303);
    expect((await stored(tenantId, target.user.id))?.status).toBe('active');
    expect((await h.client(tenantId).signIn(target.email)).headers.location).toBe('/');
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.reactivated' })).toHaveLength(1);
    expect((await client.post(`/users/${target.user.id}/reactivate`, {})).status).toBe(409);
  });

  it('refuses to deactivate the owner or oneself, and audits the attempt', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const manager = await h.createUser(tenantId, { dataTypes: ['chats'], capabilities: ['manage-users'] });
    const client = await signedIn(tenantId, manager);
    expect((await client.post(`/users/${owner.user.id}/deactivate`, {})).status).toBe(403);
    expect((await client.post(`/users/${manager.user.id}/deactivate`, {})).status).toBe(403);
    expect((await stored(tenantId, owner.user.id))?.status).toBe('active');
    expect((await stored(tenantId, manager.user.id))?.status).toBe('active');
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.deactivated' })).toEqual([
      expect.objectContaining({ outcome: 'denied' }),
      expect.objectContaining({ outcome: 'denied' }),
    ]);
  });
});

describe('portal users: unlock', () => {
  it('shows a locked account and clears the lockout', async () => {
    const tenantId = await h.createTenant();
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const target = await h.createUser(tenantId, { dataTypes: ['chats'] });
    const { throttle } = h.portal.services;
    for (let i = 0; i < 3; i += 1) await throttle.recordFailure({ tenantId, account: target.email }, { lockoutThreshold: 3, lockoutMinutes: 15 });
    expect((await h.client(tenantId).signIn(target.email)).status).toBe(401);
    const client = await signedIn(tenantId, owner);
    const row = (html: string) => new RegExp(`<tr id="user-${target.user.id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
    expect(row((await client.get('/users')).text)).toContain('user-locked');
    expect((await client.post(`/users/${target.user.id}/unlock`, {})).status).toBe(303);
    expect(row((await client.get('/users')).text)).not.toContain('user-locked');
    expect((await h.client(tenantId).signIn(target.email)).headers.location).toBe('/');
    expect(await h.controlPlane.audit.list(tenantId, { action: 'user.unlocked' })).toEqual([
      expect.objectContaining({ outcome: 'success', target: target.email, details: { wasLocked: true } }),
    ]);
  });
});

describe('portal users: ids of other tenants', () => {
  const grants = { dataTypes: ['chats'] as RecordType[], capabilities: [] as Capability[] };
  it.each([
    ['grants', { dataTypes: ['chats'] }],
    ['deactivate', {}],
    ['reactivate', {}],
    ['unlock', {}],
    ['invitation/renew', {}],
    ['invitation/revoke', {}],
    ['reset-two-factor', { currentPassword: 'x' }],
  ])('answers 404 for POST /users/:id/%s with another tenant’s or an unknown id', async (action, form) => {
    const tenantId = await h.createTenant();
    const other = await h.createTenant('other');
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const stranger = await h.createUser(other, grants);
    const client = await signedIn(tenantId, owner);
    expect((await client.post(`/users/${stranger.user.id}/${action}`, form)).status).toBe(404);
    expect((await client.post(`/users/${'0'.repeat(24)}/${action}`, form)).status).toBe(404);
    expect(await stored(other, stranger.user.id)).toMatchObject({ status: 'active', dataTypes: ['chats'], capabilities: [] });
  });
});
