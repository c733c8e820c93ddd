import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { RetentionError } from '../../../src/errors.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';

let client: MongoClient;
let db: Db;
let cp: ControlPlane;

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  db = client.db(`t_cp_${randomUUID().slice(0, 8)}`);
  cp = createControlPlane(db);
  await ensureControlPlaneIndexes(cp);
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

const settings = {
  mode: 'offline',
  dataTypes: ['call-logs', 'chats'],
  schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
  source: { kind: 'demo', seed: 7 },
  target: { kind: 'local', directory: '/var/lib/retention/drop' },
};

describe('TenantsStore', () => {
  it('creates, reads and lists tenants', async () => {
    await cp.tenants.create({ id: 'acme', displayName: ' Acme Support ' });
    expect(await cp.tenants.get('acme')).toMatchObject({ id: 'acme', displayName: 'Acme Support', status: 'active' });
    expect((await cp.tenants.list()).map((t) => t.id)).toContain('acme');
    expect(await cp.tenants.get('nobody')).toBeUndefined();
  });

  it('refuses a duplicate id', async () => {
    await cp.tenants.create({ id: 'dupe-co', displayName: 'Dupe' });
    expect(await codeOf(cp.tenants.create({ id: 'dupe-co', displayName: 'Dupe again' }))).toBe('ERR_TENANT_EXISTS');
  });

  it.each(['ab', 'Acme', '-acme', 'acme-', 'ac me', '../etc', 'acme/x', 'a\u0000cme', 'аcme', 'x'.repeat(64)])('refuses the tenant id %j', async (id) => {
    expect(await codeOf(cp.tenants.create({ id, displayName: 'x' }))).toBe('ERR_TENANT_ID_INVALID');
    expect(await codeOf(cp.tenants.get(id))).toBe('ERR_TENANT_ID_INVALID');
  });
});

describe('SettingsStore', () => {
  it('stores validated settings with defaults and a version', async () => {
    const saved = await cp.settings.putRetention('acme', settings, { actor: 'cli' });
    expect(saved.version).toBe(1);
    const read = await cp.settings.requireRetention('acme');
    expect(read.value.files).toEqual({ format: 'json', gzip: true, maxRecords: 100_000, maxBytes: 256 * 1024 ** 2 });
    expect(read.value.schedule.paused).toBe(false);
    expect(await cp.settings.listRetentionTenants()).toContain('acme');
  });

  it('refuses a stale version', async () => {
    const current = await cp.settings.requireRetention('acme');
    await cp.settings.putRetention('acme', settings, { actor: 'a', expectedVersion: current.version });
    expect(await codeOf(cp.settings.putRetention('acme', settings, { actor: 'b', expectedVersion: current.version }))).toBe('ERR_SETTINGS_CONFLICT');
  });

  it.each([
    ['mode', { ...settings, mode: 'hybrid' }],
    ['dataTypes', { ...settings, dataTypes: [] }],
    ['dataTypes', { ...settings, dataTypes: ['emails'] }],
    ['schedule.cron', { ...settings, schedule: { cron: '61 * * * *' } }],
    ['schedule.cron', { ...settings, schedule: { cron: '* * * * * *' } }],
    ['schedule.timezone', { ...settings, schedule: { cron: '0 2 * * *', timezone: 'Mars/Olympus' } }],
    ['target.directory', { ...settings, target: { kind: 'local', directory: 'relative/dir' } }],
    ['target.directory', { ...settings, target: { kind: 'local', directory: '/srv/../etc' } }],
    [
      'target.hostKeyFingerprint',
      { ...settings, target: { kind: 'sftp', host: 'sftp.example.com', username: 'u', password: 'v1.k1.aaaa.bbbb.cccc', hostKeyFingerprint: 'md5:aa' } },
    ],
    ['target.password', { ...settings, target: { kind: 'sftp', host: 'sftp.example.com', username: 'u', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` } }],
    [
      'target.password',
      { ...settings, target: { kind: 'sftp', host: 'h', username: 'u', password: 'plain-text!', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` } },
    ],
    ['source.baseUrl', { ...settings, source: { kind: 'http', baseUrl: 'ftp://x', token: 'v1.k1.aaaa.bbbb.cccc' } }],
    ['files.maxRecords', { ...settings, files: { maxRecords: 0 } }],
  ])('refuses settings with a bad %s, naming it', async (field, input) => {
    const err = await cp.settings.putRetention('acme', input, { actor: 'cli' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetentionError);
    expect((err as RetentionError).code).toBe('ERR_SETTINGS_INVALID');
    expect((err as RetentionError).message).toContain(field);
  });

  it('says what to do when a tenant has no settings', async () => {
    expect(await codeOf(cp.settings.requireRetention('no-settings'))).toBe('ERR_SETTINGS_MISSING');
  });
});

describe('CheckpointsStore', () => {
  const head = (runId: string, sha: string) => ({ runId, path: `t/m-${runId}.json`, sha256: sha.repeat(64) });

  it('lets one run hold a tenant at a time', async () => {
    expect(await cp.checkpoints.claimRun('cp-one', 'r1')).toBe(true);
    expect(await cp.checkpoints.claimRun('cp-one', 'r1')).toBe(true);
    expect(await cp.checkpoints.claimRun('cp-one', 'r2')).toBe(false);
    await cp.checkpoints.releaseRun('cp-one', 'r2');
    expect((await cp.checkpoints.get('cp-one')).activeRunId).toBe('r1');
    await cp.checkpoints.releaseRun('cp-one', 'r1');
    expect(await cp.checkpoints.claimRun('cp-one', 'r2')).toBe(true);
  });

  it('claims atomically under contention', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => cp.checkpoints.claimRun('cp-race', `r${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('advances watermarks and head together, idempotently, and only along the chain', async () => {
    const through = new Date('2026-11-23T10:00:00Z');
    await cp.checkpoints.claimRun('cp-adv', 'r1');
    await cp.checkpoints.advance('cp-adv', 'r1', { through: { chats: through }, head: head('r1', 'a'), expectedHead: null });
    await cp.checkpoints.advance('cp-adv', 'r1', { through: { chats: through }, head: head('r1', 'a'), expectedHead: null });
    expect(await cp.checkpoints.get('cp-adv')).toEqual({ through: { chats: through }, head: head('r1', 'a'), activeRunId: null });

    await cp.checkpoints.claimRun('cp-adv', 'r2');
    expect(await codeOf(cp.checkpoints.advance('cp-adv', 'r2', { through: {}, head: head('r2', 'b'), expectedHead: null }))).toBe('ERR_CHAIN_CONFLICT');
    expect(await codeOf(cp.checkpoints.advance('cp-adv', 'r3', { through: {}, head: head('r3', 'c'), expectedHead: head('r1', 'a') }))).toBe(
      'ERR_CHAIN_CONFLICT',
    );
    await cp.checkpoints.advance('cp-adv', 'r2', { through: {}, head: head('r2', 'b'), expectedHead: head('r1', 'a') });
    expect((await cp.checkpoints.get('cp-adv')).through.chats).toEqual(through);
  });
});

describe('RunsStore', () => {
  const planned = {
    id: 'run-1',
    tenantId: 'acme',
    trigger: 'manual' as const,
    windows: { chats: { from: new Date('2026-11-22T00:00:00Z'), to: new Date('2026-11-23T00:00:00Z') } },
    previous: null,
    chunkCount: 3,
    createdAt: new Date('2026-11-23T00:05:00Z'),
  };

  it('creates a run once and keeps it on a retried plan', async () => {
    const first = await cp.runs.createIfAbsent(planned);
    const again = await cp.runs.createIfAbsent({ ...planned, chunkCount: 99 });
    expect(again).toEqual(first);
    expect(first.status).toBe('running');
  });

  it('never shows a run to another tenant', async () => {
    expect(await cp.runs.get('other', 'run-1')).toBeUndefined();
    expect(await cp.runs.listByTenant('other')).toEqual([]);
    expect(await codeOf(cp.runs.createIfAbsent({ ...planned, tenantId: 'other' }))).toBe('ERR_RUN_CONFLICT');
  });

  it('records failure once and errors bounded', async () => {
    await cp.runs.createIfAbsent({ ...planned, id: 'run-2' });
    for (let i = 0; i < 60; i += 1) await cp.runs.recordError('acme', 'run-2', { code: 'ERR_X', message: `try ${i}` });
    await cp.runs.markFailed('acme', 'run-2', { code: 'ERR_TARGET_AUTH', message: 'denied' });
    const run = await cp.runs.get('acme', 'run-2');
    expect(run?.status).toBe('failed');
    expect(run?.errors).toHaveLength(50);
    expect(run?.errors.at(-1)?.code).toBe('ERR_TARGET_AUTH');
  });
});

describe('AuditLog', () => {
  const event = (i: number) => ({ actor: { type: 'system' as const, id: 'worker' }, action: 'run.finished', outcome: 'success' as const, target: `run-${i}` });

  it('chains concurrent appends without gaps or forks', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => cp.audit.append('audit-co', event(i))));
    const entries = await cp.audit.list('audit-co', { limit: 100 });
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await cp.audit.verifyChain('audit-co')).toEqual({ entries: 12, intact: true });
  });

  it('queues one process’s concurrent appends to a tenant: one insert each, no lost race, no refusal', async () => {
    const monitored = await MongoClient.connect(inject('mongoUrl'), { monitorCommands: true });
    const commands: string[] = [];
    monitored.on('commandStarted', (e) => {
      if (e.databaseName === db.databaseName && (e.commandName === 'find' || e.commandName === 'insert')) commands.push(e.commandName);
    });
    try {
      const audit = new AuditLog(monitored.db(db.databaseName));
      const entries = await Promise.all(Array.from({ length: 60 }, (_, i) => audit.append('audit-busy', event(i))));
      expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(commands.filter((c) => c === 'insert')).toHaveLength(60);
      expect(commands.filter((c) => c === 'find')).toHaveLength(1);
      expect(await cp.audit.verifyChain('audit-busy')).toEqual({ entries: 60, intact: true });
    } finally {
      await monitored.close();
    }
  });

  it('chains appends of several processes to one tenant (each its own AuditLog) without forks or refusals', async () => {
    const processes = Array.from({ length: 4 }, () => new AuditLog(db));
    await processes[0]?.append('audit-many', event(0));
    const appended = await Promise.all(processes.flatMap((audit, p) => Array.from({ length: 25 }, (_, i) => audit.append('audit-many', event(p * 100 + i)))));
    expect(new Set(appended.map((e) => e.seq)).size).toBe(100);
    expect(await cp.audit.verifyChain('audit-many')).toEqual({ entries: 101, intact: true });
  });

  it('detects an edited entry', async () => {
    await db.collection('audit').updateOne({ tenantId: 'audit-co', seq: 5 }, { $set: { outcome: 'failure' } });
    expect(await cp.audit.verifyChain('audit-co')).toEqual({ entries: 4, intact: false, brokenAt: 5 });
  });

  it('neutralises control characters (no log injection)', async () => {
    const entry = await cp.audit.append('audit-inj', { ...event(0), target: 'x\nCEF:0|forged', details: { 'a.b$c': 'line1\r\nline2' } });
    expect(entry.target).toBe('x CEF:0|forged');
    expect(entry.details).toEqual({ a_b_c: 'line1  line2' });
  });
});
