import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditActor } from '../../../src/audit/audit-entry.js';
import { parseKeyring, type Keyring } from '../../../src/crypto/keyring.js';
import { openSecret, sealSecret } from '../../../src/crypto/secret-box.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { createExportQueues, type ExportQueues } from '../../../src/queue/export-queues.js';
import { createImportQueues, rebuildJobIds, type ImportQueues } from '../../../src/queue/import-queues.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import {
  createRetentionSettingsService,
  settingsRefusalError,
  type RetentionSettingsServiceDeps,
  type SaveRetentionOutcome,
} from '../../../src/tenants/retention-settings-service.js';
import { RETENTION_SECRET_FIELDS, secretContext } from '../../../src/tenants/secret-context.js';
import { staticResolver, testDestinations } from '../../support/destinations.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;
const NOW = new Date('2026-06-01T10:00:00Z');
const ACTOR: AuditActor = { type: 'user', id: 'user-1' };
const keyring: Keyring = parseKeyring(`svc-k1:${randomBytes(32).toString('base64')}`);
const redis = createTestRedis();
const prefix = uniqueName('rss');
const dbName = uniqueDbName('retention_settings_service');
let client: MongoClient;
let cp: ControlPlane;
let exportQueues: ExportQueues;
let importQueues: ImportQueues;

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  cp = createControlPlane(client.db(dbName));
  await ensureControlPlaneIndexes(cp);
  exportQueues = createExportQueues(redis, prefix);
  importQueues = createImportQueues(redis, prefix);
});

afterAll(async () => {
  await exportQueues?.close();
  await importQueues?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(client, dbName);
  await client.close();
});

function service(overrides: Partial<RetentionSettingsServiceDeps> = {}) {
  return createRetentionSettingsService({
    settings: cp.settings,
    audit: cp.audit,
    keyring: () => keyring,
    destinations: testDestinations(),
    runs: () => exportQueues.runs,
    importQueues: () => importQueues,
    now: () => NOW,
    ...overrides,
  });
}

/** Valid SFTP settings without secrets, as a caller submits them. */
function sftpSettings(overrides: { mode?: string; schedule?: Record<string, unknown>; target?: Record<string, unknown> } = {}) {
  return {
    mode: overrides.mode ?? 'offline',
    dataTypes: ['chats'],
    schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin', ...overrides.schedule },
    source: { kind: 'demo', seed: 7 },
    target: { kind: 'sftp', host: 'sftp.example.com', username: 'acme', hostKeyFingerprint: FINGERPRINT, root: '/drops', ...overrides.target },
  };
}

function saved(outcome: SaveRetentionOutcome): Extract<SaveRetentionOutcome, { status: 'saved' }> {
  if (outcome.status !== 'saved') throw new Error(`expected a save, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const tenant = () => uniqueName('svc');
const scheduler = (tenantId: string) => exportQueues.runs.getJobScheduler(`tenant.${tenantId}`);
const audit = (tenantId: string, action: string) => cp.audit.list(tenantId, { action });
const rebuildJobs = async (tenantId: string) => {
  const jobs = [];
  for (const id of rebuildJobIds(tenantId)) {
    const job = await importQueues.maintenance.getJob(id);
    if (job) jobs.push(job);
  }
  return jobs;
};
const clearRebuilds = async (tenantId: string) => {
  for (const job of await rebuildJobs(tenantId)) await job.remove();
};

describe('retention-settings service: refusals store and schedule nothing', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown mode', { ...sftpSettings(), mode: 'archive' }, 'mode'],
    ['no data types', { ...sftpSettings(), dataTypes: [] }, 'dataTypes'],
    ['a four-field cron', sftpSettings({ schedule: { cron: '0 2 * *' } }), 'schedule.cron'],
    ['an unknown time zone', sftpSettings({ schedule: { timezone: 'Mars/Olympus' } }), 'schedule.timezone'],
    ['a host with a space', sftpSettings({ target: { host: 'bad host' } }), 'target.host'],
    ['an SFTP target without password or key', sftpSettings(), 'target.password'],
    ['a second pin that is the first', sftpSettings({ target: { secondHostKey: { fingerprint: FINGERPRINT } } }), 'target.secondHostKey.fingerprint'],
  ])('refuses %s with a problem on %s (ERR_SETTINGS_INVALID), audited as settings.change', async (_label, settings, field) => {
    const tenantId = tenant();
    const secrets = field === 'target.password' ? {} : { 'target.password': 'pw-Refused-1' };
    const outcome = await service().save(tenantId, { settings, secrets }, ACTOR, { client: { ip: '203.0.113.9' } });
    expect(outcome).toMatchObject({ status: 'refused', reason: 'ERR_SETTINGS_INVALID' });
    expect(outcome.status === 'refused' && outcome.problems.map((problem) => [problem.field, problem.code])).toContainEqual([field, 'ERR_SETTINGS_INVALID']);
    for (const { message } of outcome.status === 'refused' ? outcome.problems : []) {
      expect(message).toMatch(/ is not accepted; /);
      expect(message).not.toMatch(/Invalid (input|option)|expected |Too (big|small)|[<>]=/);
    }
    expect(await cp.settings.getRetention(tenantId)).toBeUndefined();
    expect(await scheduler(tenantId)).toBeUndefined();
    const [failure] = await audit(tenantId, 'settings.change');
    expect(failure).toMatchObject({
      actor: ACTOR,
      outcome: 'failure',
      target: 'retention',
      ip: '203.0.113.9',
      details: { reason: 'ERR_SETTINGS_INVALID', fields: field },
    });
    expect(JSON.stringify(failure)).not.toContain('pw-Refused-1');
    expect(await audit(tenantId, 'settings.changed')).toEqual([]);
  });

  it("refuses with the caller's own problems, and adds none of its own on their fields", async () => {
    const tenantId = tenant();
    const outcome = await service().save(
      tenantId,
      {
        settings: { ...sftpSettings({ schedule: { cron: 'every day at two' } }), target: { kind: 'sftp', host: 'sftp.example.com', username: 'acme' } },
        secrets: { 'target.password': 'pw' },
        problems: [{ field: 'target.hostKeyFingerprint', code: 'ERR_SETTINGS_INVALID', message: 'an unreadable pin' }],
      },
      ACTOR,
    );
    if (outcome.status !== 'refused') throw new Error('expected a refusal');
    expect(outcome.problems.map((problem) => [problem.field, problem.message])).toEqual([
      ['target.hostKeyFingerprint', 'an unreadable pin'],
      ['schedule.cron', expect.stringContaining('"every day at two" is not accepted; enter five fields separated by spaces')],
    ]);
    expect((await audit(tenantId, 'settings.change'))[0]?.details?.fields).toBe('target.hostKeyFingerprint,schedule.cron');
  });

  it('refuses a typed archive URI it cannot use, never quoting it', async () => {
    const tenantId = tenant();
    const uri = 'mongodb://archivist:S3cret-Uri@db.example.com/acme?tlsCAFile=/etc/ssl/operator.pem';
    const outcome = await service().save(
      tenantId,
      { settings: sftpSettings({ mode: 'online' }), secrets: { 'target.password': 'pw', archiveMongoUri: uri } },
      ACTOR,
    );
    if (outcome.status !== 'refused') throw new Error('expected a refusal');
    expect(outcome.problems).toEqual([
      { field: 'archiveMongoUri', code: 'ERR_SETTINGS_INVALID', message: expect.stringContaining('names a file on the worker') },
    ]);
    expect(JSON.stringify([outcome, await cp.audit.list(tenantId, {})])).not.toContain('S3cret-Uri');
    expect(await cp.settings.getRetention(tenantId)).toBeUndefined();
  });

  it("refuses destinations the operator has not allowed, on their fields with the policy's code (the archive URI checked opened)", async () => {
    const tenantId = tenant();
    const resolve = staticResolver({ 'internal.test': ['10.1.2.3'] });
    const strict = service({ destinations: { network: new NetworkPolicy({ resolve }), localTargetBaseDir: undefined } });
    const outcome = await strict.save(
      tenantId,
      {
        settings: sftpSettings({ mode: 'online', target: { host: 'internal.test' } }),
        secrets: { 'target.password': 'pw', archiveMongoUri: 'mongodb://archivist:S3cret@127.0.0.1:27017/acme' },
      },
      ACTOR,
    );
    if (outcome.status !== 'refused') throw new Error('expected a refusal');
    expect(outcome.reason).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(outcome.problems.map((problem) => [problem.field, problem.code]).sort()).toEqual([
      ['archiveMongoUri', 'ERR_DESTINATION_NOT_ALLOWED'],
      ['target.host', 'ERR_DESTINATION_NOT_ALLOWED'],
    ]);
    expect(JSON.stringify(outcome)).not.toContain('S3cret');
    expect(await cp.settings.getRetention(tenantId)).toBeUndefined();
    expect((await audit(tenantId, 'settings.change'))[0]?.details).toMatchObject({ reason: 'ERR_DESTINATION_NOT_ALLOWED' });
    const local = await strict.save(tenantId, { settings: { ...sftpSettings(), target: { kind: 'local', directory: '/srv/drops' } } }, ACTOR);
    expect(local).toMatchObject({ status: 'refused', reason: 'ERR_LOCAL_TARGET_DISABLED', problems: [{ field: 'target.directory' }] });
  });

  it('prints a refusal as one error: the first code, every field', () => {
    const invalid = settingsRefusalError([
      { field: 'mode', code: 'ERR_SETTINGS_INVALID', message: 'bad' },
      { field: 'dataTypes', code: 'ERR_SETTINGS_INVALID', message: 'none' },
    ]);
    expect(invalid).toMatchObject({ code: 'ERR_SETTINGS_INVALID', status: 400, message: 'invalid retention settings: mode: bad; dataTypes: none' });
    const refused = settingsRefusalError([{ field: 'target.host', code: 'ERR_DESTINATION_NOT_ALLOWED', message: 'is the loopback' }]);
    expect(refused).toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED', message: 'target.host: is the loopback' });
  });
});

describe('retention-settings service: secrets', () => {
  it('seals each typed secret for its tenant and field, keeps a stored one left out, removes one set to null', async () => {
    const tenantId = tenant();
    const first = saved(
      await service().save(
        tenantId,
        {
          settings: sftpSettings({ mode: 'online' }),
          secrets: { 'target.password': 'pw-First-1', 'target.passphrase': 'phrase-1', archiveMongoUri: 'mongodb://db.example.com/acme' },
        },
        ACTOR,
      ),
    );
    const target = first.saved.value.target;
    if (target.kind !== 'sftp') throw new Error('expected an SFTP target');
    expect(target.password).toMatch(/^v1\.svc-k1\./);
    expect(openSecret(keyring, target.password ?? '', secretContext(tenantId, 'target.password'))).toBe('pw-First-1');
    expect(() => openSecret(keyring, target.password ?? '', secretContext('other-tenant', 'target.password'))).toThrow();
    expect(() => openSecret(keyring, target.password ?? '', secretContext(tenantId, 'target.passphrase'))).toThrow();
    expect(openSecret(keyring, first.saved.value.archiveMongoUri ?? '', secretContext(tenantId, 'archiveMongoUri'))).toBe('mongodb://db.example.com/acme');
    expect(first.changes).toEqual({ secretsReplaced: ['target.password', 'target.passphrase', 'archiveMongoUri'], archiveMongoUri: 'replaced' });

    const kept = saved(
      await service().save(
        tenantId,
        { settings: sftpSettings({ mode: 'online', schedule: { cron: '0 3 * * *' } }), secrets: { 'target.passphrase': null } },
        ACTOR,
        { expectedVersion: 1 },
      ),
    );
    const keptTarget = kept.saved.value.target;
    expect(keptTarget.kind === 'sftp' && keptTarget.password).toBe(target.password);
    expect(keptTarget).not.toHaveProperty('passphrase');
    expect(kept.saved.value.archiveMongoUri).toBe(first.saved.value.archiveMongoUri);
    expect(kept.changes).toEqual({ secretsReplaced: [], archiveMongoUri: 'kept' });
    expect(await cp.settings.requireRetention(tenantId)).toMatchObject({ version: 2, value: { target: { password: target.password } } });
  });

  it('uses no secret the submitted settings carry themselves: only the stored ones and those typed anew', async () => {
    const tenantId = tenant();
    const foreign = sealSecret(keyring, 'smuggled', secretContext('other-tenant', 'target.password'));
    const outcome = await service().save(tenantId, { settings: sftpSettings({ target: { password: foreign } }) }, ACTOR);
    expect(outcome).toMatchObject({ status: 'refused', problems: [{ field: 'target.password' }] });
    const ok = saved(
      await service().save(tenantId, { settings: sftpSettings({ target: { password: foreign } }), secrets: { 'target.password': 'typed' } }, ACTOR),
    );
    const target = ok.saved.value.target;
    expect(target.kind === 'sftp' && openSecret(keyring, target.password ?? '', secretContext(tenantId, 'target.password'))).toBe('typed');
  });

  it('drops a stored secret when its source or target changes kind', async () => {
    const tenantId = tenant();
    saved(
      await service().save(
        tenantId,
        {
          settings: { ...sftpSettings(), source: { kind: 'http', baseUrl: 'https://api.example.com/' } },
          secrets: { 'target.password': 'pw', 'source.token': 'tok' },
        },
        ACTOR,
      ),
    );
    const changed = saved(
      await service().save(
        tenantId,
        { settings: { ...sftpSettings(), target: { kind: 'local', directory: `${testDestinations().localTargetBaseDir}/svc-drop` } } },
        ACTOR,
        { expectedVersion: 1 },
      ),
    );
    expect(changed.saved.value.target).toEqual({ kind: 'local', directory: `${testDestinations().localTargetBaseDir}/svc-drop` });
    expect(changed.saved.value.source).toEqual({ kind: 'demo', seed: 7, invalidShare: 0 });
  });

  it('asks for no master key when nothing is sealed or opened', async () => {
    const noKeys = service({
      keyring: () => {
        throw new Error('the keyring was asked for');
      },
    });
    const outcome = await noKeys.save(
      tenant(),
      { settings: { ...sftpSettings(), target: { kind: 'local', directory: `${testDestinations().localTargetBaseDir}/svc-drop` } } },
      ACTOR,
    );
    expect(outcome.status).toBe('saved');
  });

  it('covers every secret field of the settings, each under its own context', () => {
    expect(RETENTION_SECRET_FIELDS.map(({ field }) => secretContext('acme', field))).toEqual([
      'tenant:acme/source.token',
      'tenant:acme/target.password',
      'tenant:acme/target.privateKey',
      'tenant:acme/target.passphrase',
      'tenant:acme/archiveMongoUri',
    ]);
  });
});

describe('retention-settings service: store, schedule, audit, rebuild', () => {
  it("stores, syncs the tenant's job scheduler in Redis (removed when paused) and audits settings.changed without secrets", async () => {
    const tenantId = tenant();
    const first = saved(
      await service().save(tenantId, { settings: sftpSettings(), secrets: { 'target.password': 'pw-Audit-1' } }, ACTOR, {
        client: { ip: '203.0.113.7', userAgent: 'test' },
      }),
    );
    expect(first).toMatchObject({ schedule: 'scheduled', saved: { version: 1, updatedBy: 'user-1', updatedAt: NOW } });
    expect(first.rebuild).toBeUndefined();
    expect(await scheduler(tenantId)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    const [changed] = await audit(tenantId, 'settings.changed');
    expect(changed).toMatchObject({
      actor: ACTOR,
      outcome: 'success',
      target: 'retention',
      ip: '203.0.113.7',
      userAgent: 'test',
      details: {
        version: 1,
        mode: 'offline',
        cron: '0 2 * * *',
        timezone: 'Europe/Berlin',
        paused: false,
        schedule: 'scheduled',
        hostKeyFingerprint: FINGERPRINT,
        secretsReplaced: 'target.password',
        archiveMongoUri: 'not set',
        target: 'sftp://acme@sftp.example.com:22/drops',
      },
    });
    expect(JSON.stringify(changed)).not.toContain('pw-Audit-1');
    expect(JSON.stringify(changed)).not.toContain('v1.svc-k1.');

    const moved = saved(
      await service().save(tenantId, { settings: sftpSettings({ schedule: { cron: '30 4 * * 1', timezone: 'UTC' } }) }, ACTOR, { expectedVersion: 1 }),
    );
    expect(moved.schedule).toBe('scheduled');
    expect(await scheduler(tenantId)).toMatchObject({ pattern: '30 4 * * 1', tz: 'UTC' });
    const paused = saved(await service().save(tenantId, { settings: sftpSettings({ schedule: { paused: true } }) }, ACTOR, { expectedVersion: 2 }));
    expect(paused.schedule).toBe('removed');
    expect(await scheduler(tenantId)).toBeUndefined();
    expect((await audit(tenantId, 'settings.changed')).map((event) => event.details?.schedule).sort()).toEqual(['removed', 'scheduled', 'scheduled']);
  });

  it('without a runs queue stores and audits but leaves the scheduler alone', async () => {
    const tenantId = tenant();
    const outcome = saved(await service({ runs: undefined }).save(tenantId, { settings: sftpSettings(), secrets: { 'target.password': 'pw' } }, ACTOR));
    expect(outcome.schedule).toBe('not synced');
    expect(await scheduler(tenantId)).toBeUndefined();
    expect(await audit(tenantId, 'settings.changed')).toHaveLength(1);
  });

  it('queues a rebuild only when an online save replaces or removes the archive URI, audited with its trigger', async () => {
    const tenantId = tenant();
    const save = (secrets: Record<string, string | null>, version: number | undefined, mode = 'online') =>
      service().save(tenantId, { settings: sftpSettings({ mode }), secrets }, ACTOR, version === undefined ? {} : { expectedVersion: version });

    const replaced = saved(await save({ 'target.password': 'pw', archiveMongoUri: 'mongodb://db-one.example.com/acme' }, undefined));
    expect(replaced.rebuild).toEqual({ trigger: 'archive-uri-replaced', status: 'queued', jobId: rebuildJobIds(tenantId)[0] });
    expect((await rebuildJobs(tenantId)).map((job) => job.data)).toEqual([{ tenantId, requestedBy: ACTOR }]);
    const again = saved(await save({ archiveMongoUri: 'mongodb://db-two.example.com/acme' }, 1));
    expect(again.rebuild).toMatchObject({ status: 'already queued' });
    await clearRebuilds(tenantId);

    const kept = saved(await save({}, 2));
    expect(kept.rebuild).toBeUndefined();
    expect(kept.changes.archiveMongoUri).toBe('kept');
    const offline = saved(await save({ archiveMongoUri: 'mongodb://db-three.example.com/acme' }, 3, 'offline'));
    expect(offline.rebuild).toBeUndefined();
    expect(await rebuildJobs(tenantId)).toEqual([]);
    const removed = saved(await save({ archiveMongoUri: null }, 4));
    expect(removed.rebuild).toMatchObject({ trigger: 'archive-uri-removed', status: 'queued' });

    const requested = (await audit(tenantId, 'archive.rebuild-requested')).sort((a, b) => a.seq - b.seq);
    expect(requested.map((event) => [event.actor, event.details?.trigger])).toEqual([
      [ACTOR, 'archive-uri-replaced'],
      [ACTOR, 'archive-uri-removed'],
    ]);
    expect(JSON.stringify(await cp.audit.list(tenantId, {}))).not.toMatch(/db-(one|two|three)\.example\.com/);
    await clearRebuilds(tenantId);
  });

  it('says a rebuild is unavailable without archive queues, and requestRebuild refuses with ERR_REBUILD_UNAVAILABLE', async () => {
    const tenantId = tenant();
    const bare = service({ importQueues: undefined });
    const outcome = saved(
      await bare.save(
        tenantId,
        { settings: sftpSettings({ mode: 'online' }), secrets: { 'target.password': 'pw', archiveMongoUri: 'mongodb://db.example.com/acme' } },
        ACTOR,
      ),
    );
    expect(outcome.rebuild).toEqual({ trigger: 'archive-uri-replaced', status: 'unavailable' });
    await expect(bare.requestRebuild(tenantId, ACTOR, 'button')).rejects.toMatchObject({ code: 'ERR_REBUILD_UNAVAILABLE', status: 503 });
    expect(await audit(tenantId, 'archive.rebuild-requested')).toEqual([]);
  });

  it('refuses a stale expected version, and a save without one over stored settings, storing and scheduling nothing', async () => {
    const tenantId = tenant();
    saved(await service().save(tenantId, { settings: sftpSettings(), secrets: { 'target.password': 'pw' } }, ACTOR));
    saved(await service().save(tenantId, { settings: sftpSettings({ schedule: { cron: '0 3 * * *' } }) }, ACTOR, { expectedVersion: 1 }));
    const stale = await service().save(tenantId, { settings: sftpSettings({ schedule: { cron: '0 5 * * *' } }) }, ACTOR, { expectedVersion: 1 });
    expect(stale).toEqual({ status: 'stale', expectedVersion: 1 });
    const blind = await service().save(tenantId, { settings: sftpSettings({ schedule: { cron: '0 6 * * *' } }) }, ACTOR);
    expect(blind).toEqual({ status: 'stale', expectedVersion: undefined });
    expect(await cp.settings.requireRetention(tenantId)).toMatchObject({ version: 2, value: { schedule: { cron: '0 3 * * *' } } });
    expect(await scheduler(tenantId)).toMatchObject({ pattern: '0 3 * * *' });
    expect(await audit(tenantId, 'settings.changed')).toHaveLength(2);
  });
});
