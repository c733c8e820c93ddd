import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';

let client: MongoClient;
let monitored: MongoClient;
let db: Db;
let cp: ControlPlane;
const commands: string[] = [];

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  const name = `t_rc_${randomUUID().slice(0, 8)}`;
  db = client.db(name);
  await ensureControlPlaneIndexes(createControlPlane(db));
  monitored = await MongoClient.connect(inject('mongoUrl'), { monitorCommands: true });
  monitored.on('commandStarted', (event) => commands.push(event.commandName));
  cp = createControlPlane(monitored.db(name));
});

afterAll(async () => {
  await db?.dropDatabase();
  await monitored?.close();
  await client?.close();
});

const user = (email: string) => ({ email, displayName: 'Reader', role: 'administrator' as const, dataTypes: [], capabilities: [], passwordHash: 'x' });

describe('a portal request’s context in one round trip', () => {
  it('reads the tenant, its security settings and the user exactly as the stores do, in one command', async () => {
    await cp.tenants.create({ id: 'rc-one', displayName: 'One' });
    await cp.security.setRequireTwoFactor('rc-one', true, 'test');
    await cp.security.setIpAllowlist('rc-one', ['10.0.0.0/8'], 'test');
    const created = await cp.users.create('rc-one', user('a@example.com'));
    commands.length = 0;
    const loaded = await cp.requestContext.load('rc-one', created.id);
    expect(commands).toEqual(['aggregate']);
    expect(loaded).toEqual({
      tenant: await cp.tenants.get('rc-one'),
      security: await cp.security.get('rc-one'),
      user: await cp.users.findById('rc-one', created.id),
    });
    expect(loaded.security).toMatchObject({ requireTwoFactor: true, ipAllowlist: ['10.0.0.0/8'] });
  });

  it('gives defaults for settings never stored, and no user without a valid id', async () => {
    await cp.tenants.create({ id: 'rc-plain', displayName: 'Plain' });
    for (const id of [undefined, '', 'not-a-user-id', { $ne: null }, 'a'.repeat(24)]) {
      const loaded = await cp.requestContext.load('rc-plain', id);
      expect(loaded.user).toBeUndefined();
      expect(loaded.security).toEqual(await cp.security.get('rc-plain'));
      expect(loaded.tenant?.id).toBe('rc-plain');
    }
  });

  it('never returns a user of another tenant, and nothing for an unknown tenant', async () => {
    await cp.tenants.create({ id: 'rc-other', displayName: 'Other' });
    const stranger = await cp.users.create('rc-other', user('b@example.com'));
    expect((await cp.requestContext.load('rc-one', stranger.id)).user).toBeUndefined();
    expect(await cp.requestContext.load('rc-nobody', stranger.id)).toMatchObject({ tenant: undefined, user: undefined });
    await expect(cp.requestContext.load('Not A Tenant!', stranger.id)).rejects.toMatchObject({ code: 'ERR_TENANT_ID_INVALID' });
  });

  it('sees a disabled user or tenant on the very next read (nothing is cached)', async () => {
    const created = await cp.users.create('rc-one', user('c@example.com'));
    expect((await cp.requestContext.load('rc-one', created.id)).user?.status).toBe('active');
    await cp.users.changeStatus('rc-one', created.id, 'active', 'disabled');
    expect((await cp.requestContext.load('rc-one', created.id)).user?.status).toBe('disabled');
    await cp.tenants.setStatus('rc-one', 'disabled');
    expect((await cp.requestContext.load('rc-one', created.id)).tenant?.status).toBe('disabled');
  });
});
