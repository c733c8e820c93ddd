import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { openSecret } from '../../../src/crypto/secret-box.js';
import { createImportQueues, rebuildJobIds, type ImportQueues } from '../../../src/queue/import-queues.js';
import { createControlPlane, type ControlPlane } from '../../../src/store/control-plane.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { TEST_MASTER_KEYS } from '../../support/export-harness.js';
import { cliRunner } from '../../support/cli-run.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

/** `retention tenant set` through the retention-settings service: the archive URI, rebuilds, versions, audited refusals. */

const dbName = uniqueDbName('cli_set');
const prefix = uniqueName('cliset');
const redis = createTestRedis();
const PASSWORD = 'Cli-Set-Arch1ve';
let scratch: string;
let client: MongoClient;
let cp: ControlPlane;
let importQueues: ImportQueues;

const cli = cliRunner({ database: dbName, queuePrefix: prefix, env: { LOCAL_TARGET_BASE_DIR: tmpdir() } });

async function uriFile(uri: string): Promise<string> {
  const path = join(scratch, uniqueName('uri'));
  await writeFile(path, `${uri}\n`);
  return path;
}

async function onlineTenant(): Promise<string> {
  const id = uniqueName('cli-set');
  expect((await cli(['tenant', 'create', id])).code).toBe(0);
  const set = await cli([
    'tenant',
    'set',
    id,
    '--mode',
    'online',
    '--target',
    'local',
    '--directory',
    join(scratch, 'drop'),
    '--source',
    'demo',
    '--seed',
    '1',
  ]);
  expect(set.err).toBe('');
  return id;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'retention-cli-set-'));
  client = await MongoClient.connect(inject('mongoUrl'));
  cp = createControlPlane(client.db(dbName));
  importQueues = createImportQueues(redis, prefix);
});

afterAll(async () => {
  await importQueues?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(client, dbName);
  await client.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('retention tenant set: the archive MongoDB URI', () => {
  it('seals a URI read from a file, queues the rebuild of the moved archive, and never prints or audits the URI', async () => {
    const id = await onlineTenant();
    const uri = `mongodb://archiver:${PASSWORD}@archive.example.com:27017/acme_archive`;
    const set = await cli(['tenant', 'set', id, '--archive-uri-file', await uriFile(uri)]);
    expect(set.err).toBe('');
    expect(set.code).toBe(0);
    expect(set.out).toContain(`a rebuild from the drops was queued (job ${rebuildJobIds(id)[0]})`);
    const stored = await cp.settings.requireRetention(id);
    expect(openSecret(parseKeyring(TEST_MASTER_KEYS), stored.value.archiveMongoUri ?? '', secretContext(id, 'archiveMongoUri'))).toBe(uri);
    expect((await importQueues.maintenance.getJob(rebuildJobIds(id)[0]))?.data).toEqual({ tenantId: id, requestedBy: { type: 'cli', id: 'cli' } });
    const [changed] = await cp.audit.list(id, { action: 'settings.changed' });
    expect(changed?.details).toMatchObject({ version: 2, archiveMongoUri: 'replaced', secretsReplaced: 'archiveMongoUri', schedule: 'scheduled' });
    expect((await cp.audit.list(id, { action: 'archive.rebuild-requested' }))[0]?.details).toMatchObject({ trigger: 'archive-uri-replaced' });
    const show = await cli(['tenant', 'show', id]);
    const recorded = JSON.stringify(await cp.audit.list(id, {}));
    for (const text of [set.out, show.out, recorded]) expect(text).not.toContain(PASSWORD);

    const removed = await cli(['tenant', 'set', id, '--no-archive-uri']);
    expect(removed.code).toBe(0);
    expect(removed.out).toContain('the rebuild already queued will load it from the drops');
    expect((await cp.settings.requireRetention(id)).value.archiveMongoUri).toBeUndefined();
  });

  it.each([
    ['https://archive.example.com/acme', 'starting with mongodb://'],
    [`mongodb://archiver:${PASSWORD}@archive.example.com/acme?tlsCAFile=/etc/ssl/operator.pem`, 'names a file on the worker'],
  ])('refuses the URI %s naming the field, saves nothing and audits the refusal', async (uri, message) => {
    const id = await onlineTenant();
    const result = await cli(['tenant', 'set', id, '--archive-uri-file', await uriFile(uri)]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('error [ERR_SETTINGS_INVALID]: invalid retention settings: archiveMongoUri: ');
    expect(result.err).toContain(message);
    expect(result.err).not.toContain(PASSWORD);
    expect((await cp.settings.requireRetention(id)).version).toBe(1);
    expect((await cp.audit.list(id, { action: 'settings.change' }))[0]).toMatchObject({
      outcome: 'failure',
      actor: { type: 'cli', id: 'cli' },
      details: { reason: 'ERR_SETTINGS_INVALID', fields: 'archiveMongoUri' },
    });
  });

  it('refuses a private archive host with ERR_DESTINATION_NOT_ALLOWED', async () => {
    const id = await onlineTenant();
    const result = await cli(['tenant', 'set', id, '--archive-uri-file', await uriFile(`mongodb://archiver:${PASSWORD}@10.2.3.4:27017/acme`)]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('error [ERR_DESTINATION_NOT_ALLOWED]: archiveMongoUri: archive MongoDB');
    expect(result.err).not.toContain(PASSWORD);
  });

  it('refuses --archive-uri-file with --no-archive-uri as a usage error', async () => {
    const id = await onlineTenant();
    expect((await cli(['tenant', 'set', id, '--archive-uri-file', await uriFile('mongodb://db.example.com/a'), '--no-archive-uri'])).code).toBe(2);
  });
});

describe('retention tenant set --expected-version', () => {
  it('changes the settings only while they are at the version given', async () => {
    const id = await onlineTenant();
    const ok = await cli(['tenant', 'set', id, '--cron', '0 4 * * *', '--expected-version', '1']);
    expect(ok.err).toBe('');
    expect(ok.out).toContain('(version 2)');
    const stale = await cli(['tenant', 'set', id, '--cron', '0 5 * * *', '--expected-version', '1']);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain('error [ERR_SETTINGS_CONFLICT]: the retention settings of');
    expect(stale.err).toContain('no longer at version 1');
    expect(await cp.settings.requireRetention(id)).toMatchObject({ version: 2, value: { schedule: { cron: '0 4 * * *' } } });
    expect((await cli(['tenant', 'set', id, '--expected-version', 'two'])).code).toBe(2);
  });
});
