import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';

/** Issue 15.3: the reads the worker and the reconciler make in one round trip instead of one per tenant. */

let client: MongoClient;
let db: Db;
let cp: ControlPlane;

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  db = client.db(`t_cpb_${randomUUID().slice(0, 8)}`);
  cp = createControlPlane(db);
  await ensureControlPlaneIndexes(cp);
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

const settings = (cron: string) => ({
  mode: 'offline',
  dataTypes: ['chats'],
  schedule: { cron, timezone: 'Europe/Berlin' },
  source: { kind: 'demo', seed: 7 },
  target: { kind: 'local', directory: '/var/lib/retention/drop' },
});

describe('CheckpointsStore batch reads', () => {
  it('claimRunReading returns the checkpoint as the claim left it, or undefined while another run holds the tenant', async () => {
    const head = { runId: 'r0', path: 't/m-r0.json', sha256: 'a'.repeat(64) };
    const through = new Date('2026-11-23T10:00:00Z');
    await cp.checkpoints.claimRun('cpb-claim', 'r0');
    await cp.checkpoints.advance('cpb-claim', 'r0', { through: { chats: through }, head, expectedHead: null });
    expect(await cp.checkpoints.claimRunReading('cpb-claim', 'r1')).toEqual({ through: { chats: through }, head, activeRunId: 'r1' });
    expect(await cp.checkpoints.claimRunReading('cpb-claim', 'r1'), 'the same run again').toMatchObject({ activeRunId: 'r1' });
    expect(await cp.checkpoints.claimRunReading('cpb-claim', 'r2')).toBeUndefined();
    expect(await cp.checkpoints.claimRunReading('cpb-new', 'r1'), 'a tenant without a checkpoint yet').toEqual({
      through: {},
      head: null,
      activeRunId: 'r1',
    });
  });

  it('listHeld names the held tenants among those asked for, with their runs', async () => {
    await cp.checkpoints.claimRun('cpb-held-a', 'ra');
    await cp.checkpoints.claimRun('cpb-held-b', 'rb');
    await cp.checkpoints.claimRun('cpb-free', 'rf');
    await cp.checkpoints.releaseRun('cpb-free', 'rf');
    expect(await cp.checkpoints.listHeld(['cpb-held-b', 'cpb-free', 'cpb-held-a', 'cpb-none'])).toEqual([
      { tenantId: 'cpb-held-a', activeRunId: 'ra' },
      { tenantId: 'cpb-held-b', activeRunId: 'rb' },
    ]);
    expect(await cp.checkpoints.listHeld(['cpb-free'])).toEqual([]);
    expect(await cp.checkpoints.listHeld([])).toEqual([]);
  });
});

describe('SettingsStore.listRetention', () => {
  it('reads every tenant at once, validated, with an unreadable document reported on its own', async () => {
    await cp.settings.putRetention('lr-b', settings('0 2 * * *'), { actor: 'test' });
    await cp.settings.putRetention('lr-a', settings('0 3 * * *'), { actor: 'test' });
    await cp.settings.putRetention('lr-bad', settings('0 4 * * *'), { actor: 'test' });
    // Edited by hand: an invalid cron must not reach the scheduler.
    await db.collection('settings').updateOne({ _id: 'lr-bad/retention' as never }, { $set: { 'value.schedule.cron': 'every day' } });
    const entries = (await cp.settings.listRetention()).filter((entry) => entry.tenantId.startsWith('lr-'));
    expect(entries.map((entry) => entry.tenantId)).toEqual(['lr-a', 'lr-b', 'lr-bad']);
    expect(entries[0]).toMatchObject({ settings: { version: 1, value: { schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin', paused: false } } } });
    expect(entries[2]).toMatchObject({ error: { code: 'ERR_SETTINGS_INVALID' } });
    // The same answer as reading the tenant alone.
    expect(entries[1]).toEqual({ tenantId: 'lr-b', settings: await cp.settings.getRetention('lr-b') });
  });
});
