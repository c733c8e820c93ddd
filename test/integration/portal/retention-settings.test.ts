import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { openSecret } from '../../../src/crypto/secret-box.js';
import { createExportQueues, type ExportQueues } from '../../../src/queue/export-queues.js';
import { createImportQueues, rebuildJobIds, type ImportQueues } from '../../../src/queue/import-queues.js';
import { RETENTION_FORM_FIELDS } from '../../../src/portal/routes/retention-settings-fields.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import type { RetentionSettings } from '../../../src/tenants/retention-settings.js';
import { isRetentionSecretField, secretContext } from '../../../src/tenants/secret-context.js';
import { quoteTyped } from '../../../src/validation/refused-value.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { TEST_LOCAL_TARGET_BASE_DIR, testDestinations } from '../../support/destinations.js';
import { keyring, startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';
import { errorOf, rawValidationText, shown, summaryOf } from './retention-page-text.js';

const queueRedis = createTestRedis();
const queuePrefix = uniqueName('retset');
let queues: ExportQueues;
let importQueues: ImportQueues;
let h: PortalHarness;

const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

/** A complete, valid SFTP form as a browser sends it. */
function sftpForm(overrides: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return {
    version: '',
    mode: 'offline',
    dataTypes: ['chats', 'contacts'],
    'schedule.cron': '0 2 * * *',
    'schedule.timezone': 'Europe/Berlin',
    'source.kind': 'demo',
    'source.seed': '7',
    'target.kind': 'sftp',
    'target.host': 'sftp.example.com',
    'target.port': '22',
    'target.username': 'acme',
    'target.password': 'first-password-Xy7',
    'target.hostKeyFingerprint': FINGERPRINT,
    'target.root': '/drops',
    'files.format': 'json',
    'files.gzip': 'on',
    'files.maxRecords': '1000',
    'files.maxBytes': '1048576',
    ...overrides,
  };
}

beforeAll(async () => {
  queues = createExportQueues(queueRedis, queuePrefix);
  importQueues = createImportQueues(queueRedis, queuePrefix);
  h = await startPortalHarness({}, { exportQueues: queues, importQueues });
});
afterAll(async () => {
  await h?.close();
  await queues?.close();
  await importQueues?.close();
  await cleanupPrefix(queueRedis, queuePrefix);
  await queueRedis.quit();
});

async function signedIn(tenantId: string, capabilities: UserCapability[]): Promise<PortalClient> {
  const { client } = await h.signedIn(tenantId, { displayName: 'Admin', capabilities });
  await client.get('/');
  return client;
}

async function configurer(): Promise<{ tenantId: string; client: PortalClient }> {
  const tenantId = await h.createTenant('ret-co');
  return { tenantId, client: await signedIn(tenantId, ['configure-retention']) };
}

describe('portal: retention settings', () => {
  it.each([
    ['GET', '/settings/retention', [], 403],
    ['GET', '/settings/retention', ['run-jobs', 'manage-users'], 403],
    ['GET', '/settings/retention', ['configure-retention'], 200],
    ['POST', '/settings/retention', ['run-jobs'], 403],
    ['POST', '/settings/retention', ['configure-retention'], 400],
    ['POST', '/settings/retention/test-connection', ['manage-users'], 403],
    ['POST', '/settings/retention/test-connection', ['configure-retention'], 400],
    ['POST', '/settings/retention/rebuild', ['run-jobs', 'manage-users'], 403],
    ['POST', '/settings/retention/rebuild', ['configure-retention'], 409],
  ] as const)('%s %s with %j answers %i', async (method, path, capabilities, status) => {
    const tenantId = await h.createTenant('ret-acl');
    const client = await signedIn(tenantId, [...capabilities]);
    const res = method === 'GET' ? await client.get(path) : await client.post(path, { 'target.host': '' });
    expect(res.status).toBe(status);
  });

  it('saves valid settings (sealed secret, schedule synced, audited) and never renders a secret back', async () => {
    const { tenantId, client } = await configurer();
    const res = await client.post('/settings/retention', sftpForm());
    expect(res.status).toBe(303);
    const stored = await h.controlPlane.settings.requireRetention(tenantId);
    expect(stored.value).toMatchObject({
      mode: 'offline',
      dataTypes: ['chats', 'contacts'],
      schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin', paused: false },
    });
    const target = stored.value.target;
    if (target.kind !== 'sftp') throw new Error('expected an SFTP target');
    expect(target.password).toMatch(/^v1\./);
    expect(openSecret(keyring, target.password ?? '', secretContext(tenantId, 'target.password'))).toBe('first-password-Xy7');
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    const audit = await h.controlPlane.audit.list(tenantId, { action: 'settings.changed' });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ version: 1, secretsReplaced: 'target.password', hostKeyFingerprint: FINGERPRINT });
    expect(JSON.stringify(audit[0])).not.toContain('first-password');

    const page = await client.get('/settings/retention');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('first-password-Xy7');
    expect(page.text).not.toContain(target.password);
    expect(page.text).toContain('(set)');
    expect(page.text).toContain('value="sftp.example.com"');

    // an empty secret field keeps the stored one; a typed one replaces it
    expect((await client.post('/settings/retention', sftpForm({ version: '1', 'target.password': '', 'schedule.paused': 'on' }))).status).toBe(303);
    const kept = (await h.controlPlane.settings.requireRetention(tenantId)).value.target;
    expect(kept.kind === 'sftp' && kept.password).toBe(target.password);
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toBeUndefined();
    expect((await client.post('/settings/retention', sftpForm({ version: '2', 'target.password': 'second-password-Q9' }))).status).toBe(303);
    const replaced = (await h.controlPlane.settings.requireRetention(tenantId)).value.target;
    expect(replaced.kind === 'sftp' && openSecret(keyring, replaced.password ?? '', secretContext(tenantId, 'target.password'))).toBe('second-password-Q9');
  });

  it('sets after how many failed runs in a row the schedule pauses (0: never); refuses other values, saving nothing', async () => {
    const { tenantId, client } = await configurer();
    expect((await client.post('/settings/retention', sftpForm({ 'schedule.pauseAfterFailures': '5' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.pauseAfterFailures).toBe(5);
    expect((await client.get('/settings/retention')).text).toContain('name="schedule.pauseAfterFailures" value="5"');
    for (const bad of ['51', '-1', '2.5', 'three']) {
      const res = await client.post('/settings/retention', sftpForm({ version: '1', 'target.password': '', 'schedule.pauseAfterFailures': bad }));
      expect(res.status).toBe(400);
      expect(res.text).toContain('schedule.pauseAfterFailures');
    }
    expect((await h.controlPlane.settings.requireRetention(tenantId)).version).toBe(1);
    expect((await client.post('/settings/retention', sftpForm({ version: '1', 'target.password': '', 'schedule.pauseAfterFailures': '0' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.pauseAfterFailures).toBe(0);
  });

  it("shows the next five run times in the schedule's time zone, in the portal's one format of times", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T10:00:00Z'));
    try {
      const { client } = await configurer();
      await client.post('/settings/retention', sftpForm());
      const page = await client.get('/settings/retention');
      expect(page.text).toContain("Next five runs, in the schedule's time zone (Europe/Berlin)");
      const items = [...page.text.matchAll(/<li><time datetime="([^"]*)" title="([^"]*)">([^<]*)<\/time> \(([A-Za-z]+)\)<\/li>/g)].map((m) => m.slice(1));
      expect(items).toHaveLength(5);
      expect(items[0]).toEqual(['2026-06-02T00:00:00.000Z', '2026-06-02 00:00:00 UTC', '2026-06-02 02:00:00 UTC+2', 'Tuesday']);
      expect(items.every(([, , text]) => /^\d{4}-\d{2}-\d{2} 02:00:00 UTC\+2$/.test(text ?? ''))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each<[Record<string, string | string[]>, string, string, string]>([
    [
      { mode: 'archive' },
      'mode',
      'Mode',
      '"archive" is not accepted; choose offline (files on your SFTP server only) or online (also browsable in the portal).',
    ],
    [{ dataTypes: [] }, 'dataTypes', 'Data types', 'an empty value is not accepted; choose one or more of call-logs, chats, contacts, each once.'],
    [
      { dataTypes: ['chats', 'invoices'] },
      'dataTypes',
      'Data types',
      '"invoices" is not accepted; choose one or more of call-logs, chats, contacts, each once.',
    ],
    [
      { 'schedule.cron': 'every day' },
      'schedule.cron',
      'Cron expression',
      '"every day" is not accepted; enter five fields separated by spaces (minute hour day month weekday), such as "0 2 * * *" for 02:00 every day.',
    ],
    [{ 'schedule.cron': '' }, 'schedule.cron', 'Cron expression', 'an empty value is not accepted; enter five fields separated by spaces'],
    [{ 'schedule.cron': '61 2 * * *' }, 'schedule.cron', 'Cron expression', '"61 2 * * *" is not accepted; enter five fields'],
    [
      { 'schedule.timezone': 'Mars/Olympus' },
      'schedule.timezone',
      'Time zone',
      '"Mars/Olympus" is not accepted; enter an IANA time zone name such as Europe/Berlin or UTC.',
    ],
    [
      { 'schedule.pauseAfterFailures': 'three' },
      'schedule.pauseAfterFailures',
      'Pause the schedule after this many failed runs in a row',
      '"three" is not accepted; enter a whole number from 0 to 50 (0: never pause).',
    ],
    [{ 'source.kind': 'ftp' }, 'source.kind', 'Where records come from', '"ftp" is not accepted; choose demo (the demo generator) or http (the export API).'],
    [{ 'source.seed': 'seven' }, 'source.seed', 'Seed', '"seven" is not accepted; enter a whole number from 0 to 2147483647.'],
    [{ 'source.seed': '-1' }, 'source.seed', 'Seed', '"-1" is not accepted; enter a whole number from 0 to 2147483647.'],
    [
      { 'source.recordsPerHour': '0' },
      'source.recordsPerHour',
      'Records per hour and type',
      '"0" is not accepted; enter a whole number from 1 to 100000, or leave it empty for a realistic mix.',
    ],
    [
      { 'source.invalidShare': '1.5' },
      'source.invalidShare',
      'Share of broken records',
      '"1.5" is not accepted; enter a number from 0 to 1, such as 0.05 for one record in twenty.',
    ],
    [
      { 'source.kind': 'http', 'source.baseUrl': 'ftp://export.example.com', 'source.token': 'tok-Zq8' },
      'source.baseUrl',
      'Base URL',
      '"ftp://export.example.com" is not accepted; enter the address of the export API, starting with https:// or http://',
    ],
    [
      { 'source.kind': 'http', 'source.baseUrl': 'https://export.example.com', 'source.token': 'tok-Zq8', 'source.pageSize': '5001' },
      'source.pageSize',
      'Page size',
      '"5001" is not accepted; enter a whole number from 1 to 5000.',
    ],
    [
      { 'source.kind': 'http', 'source.baseUrl': 'https://export.example.com' },
      'source.token',
      'API token',
      'an empty value is not accepted; type the API token of the export API.',
    ],
    [
      { 'target.kind': 'ftp' },
      'target.kind',
      'Where drops are delivered',
      '"ftp" is not accepted; choose sftp (an SFTP server) or local (a directory of the worker).',
    ],
    [{ 'target.host': 'bad host!' }, 'target.host', 'SFTP host', '"bad host!" is not accepted; enter a host name such as sftp.example.com, or an IP address.'],
    [{ 'target.host': '' }, 'target.host', 'SFTP host', 'an empty value is not accepted; enter a host name such as sftp.example.com'],
    [{ 'target.port': '70000' }, 'target.port', 'Port', '"70000" is not accepted; enter a whole number from 1 to 65535.'],
    [{ 'target.port': '22.5' }, 'target.port', 'Port', '"22.5" is not accepted; enter a whole number from 1 to 65535.'],
    [{ 'target.username': 'a b' }, 'target.username', 'User name', '"a b" is not accepted; enter a user name of at most 128 letters, digits, ".", "_" or "-".'],
    [
      { 'target.password': '' },
      'target.password',
      'Password',
      'an empty value is not accepted; type the SFTP password, or a private key instead: an SFTP target needs one of them.',
    ],
    [
      { 'target.hostKeyFingerprint': 'MD5:aa:bb' },
      'target.hostKeyFingerprint',
      'Host-key fingerprint',
      '"MD5:aa:bb" is not accepted; a host-key pin is the SHA-256 fingerprint',
    ],
    [
      { 'target.hostKeyFingerprint': '' },
      'target.hostKeyFingerprint',
      'Host-key fingerprint',
      "an empty value is not accepted; enter the SHA-256 fingerprint of the server's host key",
    ],
    [
      { 'target.root': '/drops/../etc' },
      'target.root',
      'Root directory on the server',
      '"/drops/../etc" is not accepted; enter a directory path of at most 512 letters, digits, ".", "_", "-" and "/", without ".." segments',
    ],
    [{ 'files.format': 'xml' }, 'files.format', 'Format', '"xml" is not accepted; choose json (a JSON array) or ndjson (one record per line).'],
    [{ 'files.maxRecords': '0' }, 'files.maxRecords', 'At most this many records per file', '"0" is not accepted; enter a whole number from 1 to 10000000.'],
    [
      { 'files.maxBytes': '10' },
      'files.maxBytes',
      'At most this many bytes per file',
      '"10" is not accepted; enter a whole number from 1024 to 4294967296 (1 KiB to 4 GiB).',
    ],
    [
      { 'target.kind': 'local', 'target.directory': 'relative/dir' },
      'target.directory',
      'Local directory',
      '"relative/dir" is not accepted; enter an absolute directory path of the worker, starting with "/", without ".." segments.',
    ],
  ])(
    'refuses %j with an error on %s naming its label, the value and what is accepted; keeps the typed values and saves nothing',
    async (overrides, field, label, message) => {
      const { tenantId, client } = await configurer();
      const res = await client.post('/settings/retention', sftpForm(overrides));
      expect(res.status).toBe(400);
      expect(errorOf(res.text, field)).toContain(`${label}: ${message}`);
      expect(summaryOf(res.text)).toContain(`${label}: ${message}`);
      expect(res.text).toMatch(new RegExp(`<a href="#${RETENTION_FORM_FIELDS[field]?.id ?? ''}">`));
      expect(rawValidationText(res.text)).toEqual([]);
      expect(res.text).not.toContain('ERR_SETTINGS_INVALID');
      expect(res.text).not.toContain('first-password-Xy7');
      expect(res.text).not.toContain('tok-Zq8');
      for (const [name, value] of Object.entries(overrides))
        if (typeof value === 'string' && !isRetentionSecretField(name) && !name.endsWith('.kind') && name !== 'mode' && name !== 'files.format')
          expect(shown(res.text)).toContain(`name="${name}" value="${value}"`);
      expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
      const failures = await h.controlPlane.audit.list(tenantId, { action: 'settings.change' });
      expect(failures[0]).toMatchObject({ outcome: 'failure', details: { fields: field } });
    },
  );

  it('names every refused field once, with its own message, when several are wrong', async () => {
    const { client } = await configurer();
    const res = await client.post('/settings/retention', sftpForm({ 'target.port': '0', 'files.maxRecords': 'many', 'schedule.timezone': 'Nowhere' }));
    expect(res.status).toBe(400);
    const summary = summaryOf(res.text);
    expect(summary).toContain('Time zone: "Nowhere" is not accepted');
    expect(summary).toContain('Port: "0" is not accepted; enter a whole number from 1 to 65535.');
    expect(summary).toContain('At most this many records per file: "many" is not accepted');
    expect(summary.match(/Port: /g)).toHaveLength(1);
    expect(rawValidationText(res.text)).toEqual([]);
  });

  it.each<[string, Record<string, string>, (settings: RetentionSettings) => unknown, unknown]>([
    [
      'the demo fields with an http source',
      {
        'source.kind': 'http',
        'source.baseUrl': 'https://export.example.com/api',
        'source.token': 'tok-Kq2',
        'source.seed': 'not a number',
        'source.invalidShare': '9',
      },
      (settings) => ({ ...settings.source, token: undefined }),
      { kind: 'http', baseUrl: 'https://export.example.com/api', pageSize: 500 },
    ],
    [
      'the http fields with a demo source',
      { 'source.kind': 'demo', 'source.seed': '3', 'source.baseUrl': 'not a url', 'source.pageSize': 'lots', 'source.token': 'tok-Kq2' },
      (settings) => settings.source,
      { kind: 'demo', seed: 3, invalidShare: 0 },
    ],
    [
      'the SFTP fields with a local target',
      {
        'target.kind': 'local',
        'target.directory': join(TEST_LOCAL_TARGET_BASE_DIR, 'drops'),
        'target.port': 'abc',
        'target.host': 'bad host!',
        'target.hostKeyFingerprint': 'MD5:x',
      },
      (settings) => settings.target,
      { kind: 'local', directory: join(TEST_LOCAL_TARGET_BASE_DIR, 'drops') },
    ],
    ['the local directory with an SFTP target', { 'target.directory': 'relative/../dir' }, (settings) => settings.target.kind, 'sftp'],
  ])('ignores %s (fields of the kind not chosen), as a form without JavaScript posts them', async (_label, overrides, part, expected) => {
    const { tenantId, client } = await configurer();
    const res = await client.post('/settings/retention', sftpForm(overrides));
    expect(res.status).toBe(303);
    const stored = await h.controlPlane.settings.requireRetention(tenantId);
    expect(part(stored.value)).toEqual(expected);
    expect(JSON.stringify(stored.value)).not.toContain('tok-Kq2');
  });

  it('keeps the values typed for the kind not chosen when it shows a refused form again', async () => {
    const { client } = await configurer();
    const res = await client.post(
      '/settings/retention',
      sftpForm({ 'target.kind': 'local', 'target.directory': 'relative', 'target.host': 'kept.example.com' }),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('name="target.host" value="kept.example.com"');
    expect(res.text).toContain('id="target-sftp-fields" data-kind-of="target-kind" data-kind="sftp"');
    expect(res.text).toContain('id="target-local-fields" data-kind-of="target-kind" data-kind="local"');
  });

  it("groups the form in sections with headings, each kind's fields in a group saying which kind it belongs to, and loads its script from the portal", async () => {
    const { client } = await configurer();
    const page = await client.get('/settings/retention');
    const headings = [...page.text.matchAll(/<h2[^>]*>([^<]*)<\/h2>/g)].map((m) => m[1]);
    expect(headings).toEqual(['Mode and data types', 'Schedule', 'Source', 'Target (destination)', 'Files', 'Online archive', 'Alerts']);
    for (const [kindOf, kind, legend] of [
      ['source-kind', 'demo', 'Demo generator'],
      ['source-kind', 'http', "The platform's export API"],
      ['target-kind', 'sftp', 'SFTP server'],
      ['target-kind', 'local', 'Local directory'],
    ])
      expect(shown(page.text)).toMatch(new RegExp(`data-kind-of="${kindOf}" data-kind="${kind}">\\s*<legend>${legend} <span class="kind-note">\\(used when`));
    expect(page.text).not.toMatch(/<fieldset[^>]*data-kind[^>]*hidden/);
    expect(page.text).toContain('<script type="module" src="/assets/retention-settings.js"></script>');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(page.text).not.toMatch(/\son[a-z]+="/);
    const script = await client.get('/assets/retention-settings.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
  });

  it('refuses a stale form (someone else saved in between)', async () => {
    const { tenantId, client } = await configurer();
    await client.post('/settings/retention', sftpForm());
    await client.post('/settings/retention', sftpForm({ version: '1', 'target.password': '' }));
    const stale = await client.post('/settings/retention', sftpForm({ version: '1', 'target.password': '', 'schedule.cron': '0 5 * * *' }));
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('Somebody else changed these settings');
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.cron).toBe('0 2 * * *');
  });

  it('test connection shows the real sshd host-key fingerprint and whether it matches the pinned one; audited', async () => {
    const sftp = inject('sftp');
    const { tenantId, client } = await configurer();
    const unpinned = await client.post(
      '/settings/retention/test-connection',
      sftpForm({ 'target.host': sftp.host, 'target.port': String(sftp.port), 'target.hostKeyFingerprint': '' }),
    );
    expect(unpinned.status).toBe(200);
    expect(unpinned.text).toContain(sftp.hostKeyFingerprint);
    expect(unpinned.text).toContain('No fingerprint is pinned yet');
    expect(unpinned.text).not.toContain('first-password-Xy7');

    const matching = await client.post(
      '/settings/retention/test-connection',
      sftpForm({ 'target.host': sftp.host, 'target.port': String(sftp.port), 'target.hostKeyFingerprint': sftp.hostKeyFingerprint }),
    );
    expect(matching.text).toContain('The server has the pinned key, so the worker will accept it.');

    const mismatch = await client.post('/settings/retention/test-connection', sftpForm({ 'target.host': sftp.host, 'target.port': String(sftp.port) }));
    expect(mismatch.text).toContain("None of the server's host keys matches the pinned fingerprint");

    const audit = await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' });
    expect(audit.map((e) => e.details?.matchesPinned)).toEqual(expect.arrayContaining([null, true, false]));
    expect(audit.every((e) => e.details?.fingerprint === sftp.hostKeyFingerprint)).toBe(true);
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
  });

  it('test connection refuses a bad host or port in words, naming each field and what it accepts', async () => {
    const { client } = await configurer();
    const res = await client.post('/settings/retention/test-connection', sftpForm({ 'target.host': 'bad host!', 'target.port': 'abc' }));
    expect(res.status).toBe(400);
    expect(errorOf(res.text, 'target.host')).toBe(
      'SFTP host: "bad host!" is not accepted; enter a host name such as sftp.example.com, or an IP address, to test.',
    );
    expect(errorOf(res.text, 'target.port')).toBe('Port: "abc" is not accepted; enter a whole number from 1 to 65535.');
    expect(summaryOf(res.text)).toContain('Enter a host and port to test the connection.');
    expect(rawValidationText(res.text)).toEqual([]);
  });

  it('test connection to a port without an SSH server says so', async () => {
    const { tenantId, client } = await configurer();
    const res = await client.post('/settings/retention/test-connection', sftpForm({ 'target.host': '127.0.0.1', 'target.port': '1' }));
    expect(res.status).toBe(502);
    expect(res.text).toContain('Could not read the host key');
    expect((await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' }))[0]?.outcome).toBe('failure');
  });
});

describe('portal: retention settings, online archive', () => {
  const onlineForm = (overrides: Record<string, string | string[]> = {}) => sftpForm({ mode: 'online', ...overrides });
  const archiveSection = (html: string): string => /<details[^>]*id="online-archive"[\s\S]*?<\/details>/.exec(html)?.[0] ?? '';
  const changes = async (tenantId: string) =>
    (await h.controlPlane.audit.list(tenantId, { action: 'settings.changed' })).sort((a, b) => Number(a.details?.version) - Number(b.details?.version));

  it('saves per-type archive retention, shows it in words with the legal-hold rule, clears it again; audited', async () => {
    const { tenantId, client } = await configurer();
    const res = await client.post('/settings/retention', onlineForm({ 'archiveRetentionDays.call-logs': '365', 'archiveRetentionDays.contacts': ' 1 ' }));
    expect(res.status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveRetentionDays).toEqual({ 'call-logs': 365, contacts: 1 });

    const page = await client.get('/settings/retention');
    const section = archiveSection(page.text);
    expect(section).toMatch(/<details[^>]*\bopen\b/);
    expect(section).toContain('Call logs: kept 365 days; Chats: kept forever; Contacts: kept 1 day.');
    expect(section).toContain('legal hold</strong> are kept regardless');
    expect(section).toContain('name="archiveRetentionDays.call-logs" value="365"');
    expect(section).toContain('name="archiveRetentionDays.chats" value=""');

    expect(
      (
        await client.post(
          '/settings/retention',
          onlineForm({ version: '1', 'target.password': '', 'archiveRetentionDays.call-logs': '', 'archiveRetentionDays.contacts': '' }),
        )
      ).status,
    ).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveRetentionDays).toBeUndefined();
    expect(archiveSection((await client.get('/settings/retention')).text)).toContain('Call logs: kept forever; Chats: kept forever; Contacts: kept forever.');

    expect((await changes(tenantId)).map((e) => [e.details?.archiveRetention, e.details?.archiveMongoUri])).toEqual([
      ['call-logs=365,chats=forever,contacts=1', 'not set'],
      ['call-logs=forever,chats=forever,contacts=forever', 'not set'],
    ]);
  });

  it('explains that the section is unused in offline mode, and keeps its values there', async () => {
    const { tenantId, client } = await configurer();
    const fresh = archiveSection((await client.get('/settings/retention')).text);
    expect(fresh).toContain('not used in offline mode');
    expect(fresh).not.toMatch(/<details[^>]*\bopen\b/);
    expect((await client.post('/settings/retention', sftpForm({ 'archiveRetentionDays.chats': '30' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value).toMatchObject({ mode: 'offline', archiveRetentionDays: { chats: 30 } });
    expect(archiveSection((await client.get('/settings/retention')).text)).toContain(
      'Chats: kept 30 days; Contacts: kept forever. <span class="hint">(Not applied while the saved mode is offline.)',
    );
  });

  it.each(['0', '36501', '1.5', '-3', 'ten', '365 days', '1e3'])(
    'refuses archive retention of %j days with the message, keeps the typed values and saves nothing',
    async (days) => {
      const { tenantId, client } = await configurer();
      const res = await client.post(
        '/settings/retention',
        onlineForm({ 'archiveRetentionDays.chats': days, 'archiveRetentionDays.call-logs': '90', archiveMongoUri: 'mongodb://db.example.com/acme_archive' }),
      );
      expect(res.status).toBe(400);
      const message = `Days to keep chats: ${quoteTyped(days)} is not accepted; enter a whole number of days from 1 to 36500, or leave it empty to keep the records forever.`;
      expect(errorOf(res.text, 'archiveRetentionDays.chats')).toBe(message);
      expect(summaryOf(res.text)).toContain(message);
      expect(errorOf(res.text, 'archiveRetentionDays.call-logs')).toBeUndefined();
      expect(rawValidationText(res.text)).toEqual([]);
      const section = archiveSection(res.text);
      expect(section).toMatch(/<details[^>]*\bopen\b/);
      expect(section).toContain(`name="archiveRetentionDays.chats" value="${days}"`);
      expect(section).toContain('name="archiveRetentionDays.call-logs" value="90"');
      expect(res.text).toContain('value="sftp.example.com"');
      expect(res.text).not.toContain('db.example.com/acme_archive');
      expect(res.text).toContain('secrets you typed are never shown again');
      expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
      const failures = await h.controlPlane.audit.list(tenantId, { action: 'settings.change' });
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ outcome: 'failure', details: { fields: 'archiveRetentionDays.chats' } });
    },
  );

  it.each([
    ['https://db.example.com/acme', 'starting with mongodb:// or mongodb+srv://'],
    ['db.example.com:27017', 'starting with mongodb:// or mongodb+srv://'],
    ['mongodb:///acme_archive', 'names the server'],
    ['mongodb://archivist:pa@ss@db.example.com/acme', 'percent-encode the characters'],
    ['mongodb://db.example.com:70000/acme', 'ports from 1 to 65535'],
    ['mongodb://db example.com/acme', 'without spaces or line breaks'],
    ['mongodb+srv://a.example.net,b.example.net/acme', 'names exactly one host, without a port'],
    ['mongodb+srv://cluster.example.net:27017/acme', 'names exactly one host, without a port'],
    ['mongodb://db.example.com/acme.archive', 'a database name of letters, digits'],
    ['mongodb://db.example.com/acme?maxPoolSize=many', 'the MongoDB driver accepts'],
    ['mongodb://db.example.com/acme?tls=true&tlsCAFile=/etc/ssl/private/operator.pem', 'names a file on the worker'],
    ['mongodb://db.example.com/acme?tls=true&tlsCertificateKeyFile=/run/secrets/key.pem', 'names a file on the worker'],
    ['mongodb://db.example.com/acme?authMechanism=MONGODB-AWS', 'own cloud or Kerberos identity'],
    ['mongodb://db.example.com/acme?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:azure,TOKEN_RESOURCE:x', 'own cloud or Kerberos identity'],
  ])('refuses the archive URI %j with a message on its field, never shows it back and saves nothing', async (uri, message) => {
    const { tenantId, client } = await configurer();
    const res = await client.post('/settings/retention', onlineForm({ archiveMongoUri: uri, 'archiveRetentionDays.chats': '30' }));
    expect(res.status).toBe(400);
    expect(errorOf(res.text, 'archiveMongoUri')).toMatch(/^Archive MongoDB URI: the value typed \(not shown again\) is not accepted; /);
    expect(summaryOf(res.text)).toContain('Archive MongoDB URI: the value typed (not shown again) is not accepted; ');
    expect(rawValidationText(res.text)).toEqual([]);
    const section = archiveSection(res.text);
    expect(section).toContain('class="field-error"');
    expect(section).toContain(message);
    expect(section).toContain('name="archiveRetentionDays.chats" value="30"');
    expect(res.text).not.toContain(uri);
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
    expect((await h.controlPlane.audit.list(tenantId, { action: 'settings.change' }))[0]?.details?.fields).toBe('archiveMongoUri');
  });

  it('seals the archive URI for the tenant, never renders or audits it, keeps it on empty, replaces and removes it', async () => {
    const { tenantId, client } = await configurer();
    const uri = 'mongodb://archivist:Arch1ve-s3cret@archive-db.example.com:27017/acme_archive?authSource=admin';
    expect((await client.post('/settings/retention', onlineForm({ archiveMongoUri: ` ${uri} ` }))).status).toBe(303);
    const sealed = (await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri ?? '';
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('Arch1ve-s3cret');
    expect(openSecret(keyring, sealed, secretContext(tenantId, 'archiveMongoUri'))).toBe(uri);
    expect(() => openSecret(keyring, sealed, secretContext('other-tenant', 'archiveMongoUri'))).toThrow();

    const page = await client.get('/settings/retention');
    for (const leak of [uri, 'Arch1ve-s3cret', 'archive-db.example.com', sealed]) expect(page.text).not.toContain(leak);
    const section = archiveSection(page.text);
    expect(section).toContain('(set) — leave empty to keep it');
    expect(section).toContain('name="archiveMongoUri" type="password" value=""');
    expect(section).toContain('name="clearSecrets" value="archiveMongoUri"');

    // empty keeps it (byte for byte), a typed one replaces it, "remove" drops it
    expect((await client.post('/settings/retention', onlineForm({ version: '1', 'target.password': '', archiveMongoUri: '' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri).toBe(sealed);
    const second = 'mongodb+srv://archivist:N3w-s3cret@cluster0.example.net/acme_archive';
    expect((await client.post('/settings/retention', onlineForm({ version: '2', 'target.password': '', archiveMongoUri: second }))).status).toBe(303);
    const resealed = (await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri ?? '';
    expect(openSecret(keyring, resealed, secretContext(tenantId, 'archiveMongoUri'))).toBe(second);
    // a refused form changes nothing, not even the stored URI
    expect(
      (
        await client.post(
          '/settings/retention',
          onlineForm({ version: '3', 'target.password': '', archiveMongoUri: 'mongodb://', clearSecrets: 'archiveMongoUri' }),
        )
      ).status,
    ).toBe(400);
    expect(await h.controlPlane.settings.requireRetention(tenantId)).toMatchObject({ version: 3, value: { archiveMongoUri: resealed } });
    expect((await client.post('/settings/retention', onlineForm({ version: '3', 'target.password': '', clearSecrets: 'archiveMongoUri' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri).toBeUndefined();
    const removed = archiveSection((await client.get('/settings/retention')).text);
    expect(removed).toContain('(not set)');
    expect(removed).not.toContain('value="archiveMongoUri"');

    const audit = await changes(tenantId);
    expect(audit.map((e) => [e.details?.archiveMongoUri, e.details?.secretsReplaced])).toEqual([
      ['replaced', 'target.password,archiveMongoUri'],
      ['kept', ''],
      ['replaced', 'archiveMongoUri'],
      ['removed', ''],
    ]);
    const recorded = JSON.stringify(await h.controlPlane.audit.list(tenantId, {}));
    for (const leak of ['Arch1ve-s3cret', 'N3w-s3cret', 'archive-db.example.com', 'cluster0.example.net', sealed, resealed])
      expect(recorded).not.toContain(leak);
  });

  it('an archive URI saved in the portal is the database the online archive opens', async () => {
    const { tenantId, client } = await configurer();
    const dbName = uniqueDbName('own_archive');
    const mongoUrl = new URL(inject('mongoUrl'));
    mongoUrl.pathname = `/${dbName}`;
    expect((await client.post('/settings/retention', onlineForm({ archiveMongoUri: mongoUrl.toString() }))).status).toBe(303);
    const shared = await MongoClient.connect(inject('mongoUrl'));
    const archives = new ArchiveDatabases({
      client: shared,
      prefix: 'unused_',
      keyring,
      settings: async (id) => (await h.controlPlane.settings.getRetention(id))?.value,
      network: testDestinations().network,
    });
    try {
      const db = await archives.forTenant(tenantId);
      expect(db.databaseName).toBe(dbName);
      await db.collection('probe').insertOne({ _id: 'written-through-own-uri' } as never);
      expect(await shared.db(dbName).collection('probe').countDocuments()).toBe(1);
    } finally {
      await archives.close();
      await dropTestDatabase(shared, dbName);
      await shared.close();
    }
  });
});

describe('portal: rebuilding the online archive', () => {
  const onlineForm = (overrides: Record<string, string | string[]> = {}) => sftpForm({ mode: 'online', ...overrides });
  const archiveSection = (html: string): string => /<details[^>]*id="online-archive"[\s\S]*?<\/details>/.exec(html)?.[0] ?? '';
  const BUTTON = 'Rebuild the online archive from the drops';
  /** The tenant's rebuild jobs in the queue, with their state. */
  const rebuildJobs = async (tenantId: string) => {
    const jobs = [];
    for (const id of rebuildJobIds(tenantId)) {
      const job = await importQueues.maintenance.getJob(id);
      if (job) jobs.push({ id, state: await job.getState(), data: job.data as unknown });
    }
    return jobs;
  };
  const requested = async (tenantId: string) => h.controlPlane.audit.list(tenantId, { action: 'archive.rebuild-requested' });
  const flashOf = async (client: PortalClient) =>
    /class="notice notice-(?:success|error)" role="status">([^<]*)</.exec((await client.get('/settings/retention')).text)?.[1] ?? '';

  it('offers the button in online mode, queues one rebuild for two clicks, shows it queued and audits who asked', async () => {
    const { tenantId, client } = await configurer();
    expect((await client.post('/settings/retention', onlineForm())).status).toBe(303);
    expect(await rebuildJobs(tenantId)).toEqual([]);

    const page = await client.get('/settings/retention');
    const section = archiveSection(page.text);
    expect(section).toContain(BUTTON);
    expect(section).toContain('form="archive-rebuild-form"');
    expect(section).toContain("Empties this tenant's online archive and loads it again from every verified drop");
    expect(section).not.toContain('run <code>retention rebuild</code>');
    expect(page.text).toMatch(
      /<form id="archive-rebuild-form" method="post" action="\/settings\/retention\/rebuild">\s*<input type="hidden" name="_csrf" value="[^"]+">\s*<\/form>/,
    );

    const first = await client.post('/settings/retention/rebuild', {});
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/settings/retention');
    expect(await flashOf(client)).toContain('A rebuild of the online archive was queued');
    const second = await client.post('/settings/retention/rebuild', {});
    expect(second.status).toBe(303);
    expect(await flashOf(client)).toContain('already queued; it was not queued twice');

    const user = (await h.controlPlane.users.list(tenantId))[0];
    expect(await rebuildJobs(tenantId)).toEqual([
      { id: rebuildJobIds(tenantId)[0], state: 'waiting', data: { tenantId, requestedBy: { type: 'user', id: user?.id } } },
    ]);
    expect(archiveSection((await client.get('/settings/retention')).text)).toContain('A rebuild is queued (since ');
    const audit = await requested(tenantId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: { type: 'user', id: user?.id },
      outcome: 'success',
      details: { trigger: 'button', job: rebuildJobIds(tenantId)[0] },
    });
  });

  it('shows no button in offline mode, and refuses a rebuild there (409) without queueing one', async () => {
    const { tenantId, client } = await configurer();
    expect((await client.post('/settings/retention', sftpForm())).status).toBe(303);
    expect((await client.get('/settings/retention')).text).not.toContain(BUTTON);
    const res = await client.post('/settings/retention/rebuild', {});
    expect(res.status).toBe(409);
    expect(res.text).toContain('There is no online archive to rebuild: the saved mode is offline.');
    expect(await rebuildJobs(tenantId)).toEqual([]);
    expect(await requested(tenantId)).toEqual([]);
  });

  it('refuses the rebuild without configure-retention (403, audited as denied) and queues nothing', async () => {
    const { tenantId, client } = await configurer();
    expect((await client.post('/settings/retention', onlineForm())).status).toBe(303);
    const other = await signedIn(tenantId, ['run-jobs', 'manage-users', 'read-audit', 'export']);
    const res = await other.post('/settings/retention/rebuild', {});
    expect(res.status).toBe(403);
    expect(res.text).toContain('ERR_FORBIDDEN');
    expect(await rebuildJobs(tenantId)).toEqual([]);
    expect(await requested(tenantId)).toEqual([]);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'access.denied' }))[0]).toMatchObject({ target: 'POST /settings/retention/rebuild' });
    expect((await client.post('/settings/retention/rebuild', {}, { csrf: 'not-the-token' })).status).toBe(403);
    expect(await rebuildJobs(tenantId)).toEqual([]);
  });

  it('queues a rebuild when a save replaces or removes the archive URI in online mode, not when it keeps it, and says so', async () => {
    const { tenantId, client } = await configurer();
    const clear = async () => {
      for (const id of rebuildJobIds(tenantId)) await (await importQueues.maintenance.getJob(id))?.remove();
    };
    expect((await client.post('/settings/retention', onlineForm({ archiveMongoUri: 'mongodb://db-one.example.com/acme_archive' }))).status).toBe(303);
    expect(await flashOf(client)).toContain('The archive now lives in another database, so a rebuild of the online archive from your drops was queued');
    expect((await rebuildJobs(tenantId)).map((j) => j.state)).toEqual(['waiting']);

    // a second replace while it waits: the waiting rebuild will use the new database
    expect(
      (
        await client.post(
          '/settings/retention',
          onlineForm({ version: '1', 'target.password': '', archiveMongoUri: 'mongodb://db-two.example.com/acme_archive' }),
        )
      ).status,
    ).toBe(303);
    expect(await flashOf(client)).toContain('the rebuild already queued will load it from your drops');
    expect(await rebuildJobs(tenantId)).toHaveLength(1);

    await clear();
    expect((await client.post('/settings/retention', onlineForm({ version: '2', 'target.password': '', 'schedule.cron': '0 4 * * *' }))).status).toBe(303);
    expect(await flashOf(client)).not.toContain('rebuild');
    expect(await rebuildJobs(tenantId)).toEqual([]);

    expect((await client.post('/settings/retention', onlineForm({ version: '3', 'target.password': '', clearSecrets: 'archiveMongoUri' }))).status).toBe(303);
    expect(await flashOf(client)).toContain('a rebuild of the online archive from your drops was queued');
    expect(await rebuildJobs(tenantId)).toHaveLength(1);

    await clear();
    expect(
      (
        await client.post(
          '/settings/retention',
          sftpForm({ version: '4', 'target.password': '', archiveMongoUri: 'mongodb://db-three.example.com/acme_archive' }),
        )
      ).status,
    ).toBe(303);
    expect(await flashOf(client)).toContain('The archive database changes once the mode is online');
    expect(await rebuildJobs(tenantId)).toEqual([]);

    expect((await requested(tenantId)).sort((a, b) => a.seq - b.seq).map((e) => e.details?.trigger)).toEqual(['archive-uri-replaced', 'archive-uri-removed']);
    const recorded = JSON.stringify(await h.controlPlane.audit.list(tenantId, {}));
    for (const leak of ['db-one.example.com', 'db-two.example.com', 'db-three.example.com']) expect(recorded).not.toContain(leak);
  });

  it('a portal without the archive queues answers 503 with a clear message and says so on the page', async () => {
    const bare = await startPortalHarness({}, { exportQueues: queues });
    try {
      const tenantId = await bare.createTenant('ret-bare');
      const email = `${uniqueName('admin')}@example.com`;
      await bare.controlPlane.users.create(tenantId, {
        email,
        displayName: 'Admin',
        role: 'administrator',
        capabilities: ['configure-retention'],
        dataTypes: [],
        passwordHash: bare.passwordHash,
      });
      const client = bare.client(tenantId);
      await client.signIn(email);
      await client.get('/');
      expect((await client.post('/settings/retention', onlineForm({ archiveMongoUri: 'mongodb://db-bare.example.com/acme_archive' }))).status).toBe(303);
      const page = await client.get('/settings/retention');
      expect(page.text).toContain('this portal cannot queue that rebuild, so ask your Retention operator to run it');
      const section = archiveSection(page.text);
      expect(section).toContain('This portal cannot queue rebuilds');
      expect(section).not.toContain(BUTTON);
      const res = await client.post('/settings/retention/rebuild', {});
      expect(res.status).toBe(503);
      expect(res.text).toContain('This portal was started without the archive queues, so it cannot queue a rebuild of the online archive.');
      expect(await rebuildJobs(tenantId)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});
