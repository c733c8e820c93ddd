import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { NetworkPolicy, systemResolver } from '../../../src/network/network-policy.js';
import { retentionFormField } from '../../../src/portal/routes/retention-settings-fields.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { staticResolver } from '../../support/destinations.js';
import { uniqueName } from '../../support/redis.js';
import { keyring, startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';
import { errorOf, shown, summaryOf } from './retention-page-text.js';

const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;
const sftp = inject('sftp');
let h: PortalHarness;
let off: PortalHarness;
let scratch: string;
let base: string;
/** A TCP listener on loopback that counts who connects: Test connection must never dial a refused destination. */
let counter: Server;
let counterPort: number;
let dialled = 0;

/** The DNS the portal sees in these tests: `.test` names answered here, anything else (localhost) by the system. */
const resolve = staticResolver(
  { 'sftp.lan': [sftp.host], 'internal.test': ['192.168.3.4'], 'metadata.test': ['169.254.169.254'], 'public.test': ['93.184.216.34', '2606:2800:220:1::1'] },
  async (name) => (name.endsWith('.test') ? staticResolver({})(name) : systemResolver(name)),
);

function sftpForm(overrides: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return {
    version: '',
    mode: 'offline',
    dataTypes: ['chats'],
    'schedule.cron': '0 2 * * *',
    'schedule.timezone': 'UTC',
    'source.kind': 'demo',
    'source.seed': '7',
    'target.kind': 'sftp',
    'target.host': 'public.test',
    'target.port': '22',
    'target.username': 'acme',
    'target.password': 'typed-password-Zq8',
    'target.hostKeyFingerprint': FINGERPRINT,
    'target.root': '/drops',
    'files.format': 'json',
    'files.gzip': 'on',
    ...overrides,
  };
}

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'retention-portal-dest-')));
  base = join(scratch, 'drops');
  await mkdir(join(base, 'acme'), { recursive: true });
  await mkdir(join(scratch, 'elsewhere'));
  await symlink(join(scratch, 'elsewhere'), join(base, 'escape'));
  counter = createServer((socket) => {
    dialled += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => counter.listen(0, '127.0.0.1', ready));
  counterPort = (counter.address() as { port: number }).port;
  h = await startPortalHarness(
    {},
    { destinations: { network: new NetworkPolicy({ allowlist: parseDestinationAllowlist('sftp.lan'), resolve }), localTargetBaseDir: base } },
  );
  off = await startPortalHarness({}, { destinations: { network: new NetworkPolicy({ resolve }), localTargetBaseDir: undefined } });
});
afterAll(async () => {
  await h?.close();
  await off?.close();
  await new Promise((done) => counter?.close(done));
  await rm(scratch, { recursive: true, force: true });
});

async function configurer(
  harness: PortalHarness,
  capabilities: UserCapability[] = ['configure-retention'],
): Promise<{ tenantId: string; client: PortalClient }> {
  const tenantId = await harness.createTenant('dest-co');
  const email = `${uniqueName('admin')}@example.com`;
  await harness.controlPlane.users.create(tenantId, {
    email,
    displayName: 'Admin',
    role: 'administrator',
    capabilities,
    dataTypes: [],
    passwordHash: harness.passwordHash,
  });
  const client = harness.client(tenantId);
  expect((await client.signIn(email)).status).toBe(303);
  await client.get('/');
  return { tenantId, client };
}

describe('portal: retention settings may not steer the worker at the operator network or disk (issue #10.6)', () => {
  it.each<[string, () => Record<string, string>, string, string, string]>([
    ['a loopback SFTP host', () => ({ 'target.host': '127.0.0.1' }), 'target.host', 'ERR_DESTINATION_NOT_ALLOWED', 'ALLOWED_PRIVATE_DESTINATIONS'],
    [
      'localhost (resolved by the system)',
      () => ({ 'target.host': 'localhost' }),
      'target.host',
      'ERR_DESTINATION_NOT_ALLOWED',
      'ALLOWED_PRIVATE_DESTINATIONS',
    ],
    [
      'an IPv4-mapped private SFTP host',
      () => ({ 'target.host': '::ffff:10.0.0.1' }),
      'target.host',
      'ERR_DESTINATION_NOT_ALLOWED',
      'ALLOWED_PRIVATE_DESTINATIONS',
    ],
    [
      'an SFTP host name resolving to a private address',
      () => ({ 'target.host': 'internal.test' }),
      'target.host',
      'ERR_DESTINATION_NOT_ALLOWED',
      'ALLOWED_PRIVATE_DESTINATIONS',
    ],
    [
      'a source URL at the cloud metadata address',
      () => ({ 'source.kind': 'http', 'source.baseUrl': 'http://169.254.169.254/latest/', 'source.token': 'tok-typed-Zq8' }),
      'source.baseUrl',
      'ERR_DESTINATION_NOT_ALLOWED',
      'ALLOWED_PRIVATE_DESTINATIONS',
    ],
    [
      'a source URL whose name resolves to link-local',
      () => ({ 'source.kind': 'http', 'source.baseUrl': 'https://metadata.test/', 'source.token': 'tok-typed-Zq8' }),
      'source.baseUrl',
      'ERR_DESTINATION_NOT_ALLOWED',
      'ALLOWED_PRIVATE_DESTINATIONS',
    ],
    [
      'a local directory outside the base',
      () => ({ 'target.kind': 'local', 'target.directory': '/etc' }),
      'target.directory',
      'ERR_LOCAL_TARGET_OUTSIDE_BASE',
      'LOCAL_TARGET_BASE_DIR',
    ],
    [
      'a local directory through a link that leads out of the base',
      () => ({ 'target.kind': 'local', 'target.directory': join(base, 'escape') }),
      'target.directory',
      'ERR_LOCAL_TARGET_OUTSIDE_BASE',
      'LOCAL_TARGET_BASE_DIR',
    ],
  ])(
    'refuses to save %s: 400 on its field with the code and the operator variable, nothing saved, audited',
    async (_label, overrides, field, code, variable) => {
      const { tenantId, client } = await configurer(h);
      const res = await client.post('/settings/retention', sftpForm(overrides()));
      expect(res.status).toBe(400);
      const label = retentionFormField(field).label;
      expect(errorOf(res.text, field)).toMatch(new RegExp(`^${label}: .* \\(${code}\\)$`));
      expect(summaryOf(res.text)).toContain(`${label}: `);
      expect(res.text.split(code)).toHaveLength(2);
      expect(res.text).toContain(variable);
      expect(res.text).toContain('class="field-error"');
      expect(res.text).not.toContain('typed-password-Zq8');
      expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
      const [failure] = await h.controlPlane.audit.list(tenantId, { action: 'settings.change' });
      expect(failure).toMatchObject({ outcome: 'failure', details: { reason: code, fields: field } });
    },
  );

  it.each<[string, Record<string, string>]>([
    ['an SFTP host name resolving to public addresses', { 'target.host': 'public.test' }],
    ['an SFTP host name that does not resolve yet (the worker checks it when it connects)', { 'target.host': 'not-yet-in-dns.test' }],
    ['a private SFTP host the operator allowlisted by name', { 'target.host': 'sftp.lan' }],
    ['a public source URL', { 'source.kind': 'http', 'source.baseUrl': 'https://public.test/api', 'source.token': 'tok-typed-Zq8' }],
  ])('saves %s', async (_label, overrides) => {
    const { tenantId, client } = await configurer(h);
    expect((await client.post('/settings/retention', sftpForm(overrides))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).version).toBe(1);
  });

  it('saves a local directory below the operator base', async () => {
    const { tenantId, client } = await configurer(h);
    expect((await client.post('/settings/retention', sftpForm({ 'target.kind': 'local', 'target.directory': join(base, 'acme') }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.target).toEqual({ kind: 'local', directory: join(base, 'acme') });
  });

  it('refuses every local directory where the operator set no LOCAL_TARGET_BASE_DIR', async () => {
    const { tenantId, client } = await configurer(off);
    const res = await client.post('/settings/retention', sftpForm({ 'target.kind': 'local', 'target.directory': join(base, 'acme') }));
    expect(res.status).toBe(400);
    expect(errorOf(res.text, 'target.directory')).toMatch(/^Local directory: .* \(ERR_LOCAL_TARGET_DISABLED\)$/);
    expect(res.text.split('ERR_LOCAL_TARGET_DISABLED')).toHaveLength(2);
    expect(await off.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
  });

  it.each([
    ['a loopback address', () => '127.0.0.1', () => counterPort],
    ['the IPv6 loopback address', () => '::1', () => counterPort],
    ['localhost', () => 'localhost', () => counterPort],
    ['a name resolving to a private address', () => 'internal.test', () => counterPort],
    ['the real sshd on loopback', () => sftp.host, () => sftp.port],
  ])('Test connection refuses %s without dialling it (no port probe of the operator network); audited', async (_label, host, port) => {
    const { tenantId, client } = await configurer(h);
    const before = dialled;
    const res = await client.post(
      '/settings/retention/test-connection',
      sftpForm({ 'target.host': host(), 'target.port': String(port()), 'target.hostKeyFingerprint': '' }),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('Not tested: nothing was sent to');
    expect(res.text).toContain('ERR_DESTINATION_NOT_ALLOWED');
    expect(res.text).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(res.text).not.toContain(sftp.hostKeyFingerprint);
    expect(dialled).toBe(before);
    const [tested] = await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' });
    expect(tested).toMatchObject({ outcome: 'failure', details: { reason: 'ERR_DESTINATION_NOT_ALLOWED', fingerprint: null } });
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
  });

  it('Test connection reaches a private SFTP server the operator allowlisted, at the address it checked', async () => {
    const { client } = await configurer(h);
    const res = await client.post(
      '/settings/retention/test-connection',
      sftpForm({ 'target.host': 'sftp.lan', 'target.port': String(sftp.port), 'target.hostKeyFingerprint': '' }),
    );
    expect(res.status).toBe(200);
    expect(res.text).toContain(sftp.hostKeyFingerprint);
  });
});

describe('portal: the archive MongoDB URI may not lead to the operator network either (issue #10.6)', () => {
  const PASSWORD = 'Arch1ve-S3cret';
  const uriAt = (hosts: string, scheme = 'mongodb') => `${scheme}://archiver:${PASSWORD}@${hosts}/acme_archive`;
  const onlineForm = (overrides: Record<string, string | string[]> = {}) => sftpForm({ mode: 'online', ...overrides });

  it.each<[string, string, string]>([
    ['a loopback address', uriAt('127.0.0.1:27017'), '"127.0.0.1" is the loopback'],
    ['localhost (resolved by the system)', uriAt('localhost:27017'), '"localhost" resolves to the loopback'],
    ['the IPv6 loopback address', uriAt('[::1]:27017'), '"::1" is the loopback'],
    ['a private 10.x address', uriAt('10.1.2.3:27017'), '"10.1.2.3" is a private network'],
    ['a host list where only the second host is private', uriAt('public.test:27017,10.9.8.7:27018'), '"10.9.8.7" is a private network'],
    ['a host name resolving to a private address', uriAt('internal.test:27017'), '"internal.test" resolves to a private network'],
    [
      'a mongodb+srv:// name resolving to a private address',
      `mongodb+srv://archiver:${PASSWORD}@internal.test/acme_archive`,
      'SRV name "internal.test" resolves to a private network',
    ],
  ])('refuses to save %s: 400 on the URI field, nothing saved, audited, the URI and its credentials never shown', async (_label, uri, what) => {
    const { tenantId, client } = await configurer(h);
    const res = await client.post('/settings/retention', onlineForm({ archiveMongoUri: uri }));
    expect(res.status).toBe(400);
    expect(errorOf(res.text, 'archiveMongoUri')).toMatch(/^Archive MongoDB URI: .* \(ERR_DESTINATION_NOT_ALLOWED\)$/);
    expect(shown(res.text)).toContain(`archive MongoDB ${what}`);
    expect(res.text.split('ERR_DESTINATION_NOT_ALLOWED')).toHaveLength(2);
    expect(res.text).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect(res.text).toContain('class="field-error"');
    for (const secret of [PASSWORD, 'archiver', uri]) expect(shown(res.text)).not.toContain(secret);
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
    const audit = await h.controlPlane.audit.list(tenantId, { action: 'settings.change' });
    expect(audit[0]).toMatchObject({ outcome: 'failure', details: { reason: 'ERR_DESTINATION_NOT_ALLOWED', fields: 'archiveMongoUri' } });
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });

  it.each<[string, string]>([
    ['public hosts', uriAt('public.test:27017,public.test:27018')],
    ['a host name that does not resolve yet (the worker checks it when it connects)', uriAt('archive-not-yet-in-dns.test:27017')],
    ['a private host the operator allowlisted by name', uriAt('sftp.lan:27017')],
  ])('saves an archive URI with %s', async (_label, uri) => {
    const { tenantId, client } = await configurer(h);
    expect((await client.post('/settings/retention', onlineForm({ archiveMongoUri: uri }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri).toMatch(/^v1\./);
  });

  it('checks a stored archive URI again at every save (kept, it blocks the save; removed, the save goes through)', async () => {
    const { tenantId, client } = await configurer(h);
    await h.controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'online',
        dataTypes: ['chats'],
        schedule: { cron: '0 2 * * *' },
        source: { kind: 'demo', seed: 7 },
        target: {
          kind: 'sftp',
          host: 'public.test',
          username: 'acme',
          password: sealSecret(keyring, 'stored-pw', secretContext(tenantId, 'target.password')),
          hostKeyFingerprint: FINGERPRINT,
          root: '/drops',
        },
        archiveMongoUri: sealSecret(keyring, uriAt('10.4.4.4:27017'), secretContext(tenantId, 'archiveMongoUri')),
      },
      { actor: 'test' },
    );
    const kept = await client.post('/settings/retention', onlineForm({ version: '1', 'target.password': '' }));
    expect(kept.status).toBe(400);
    expect(errorOf(kept.text, 'archiveMongoUri')).toMatch(/^Archive MongoDB URI: /);
    expect(shown(kept.text)).toContain('archive MongoDB "10.4.4.4" is a private network');
    expect(kept.text).not.toContain(PASSWORD);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).version).toBe(1);
    expect((await client.post('/settings/retention', onlineForm({ version: '1', 'target.password': '', clearSecrets: 'archiveMongoUri' }))).status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.archiveMongoUri).toBeUndefined();
  });
});
