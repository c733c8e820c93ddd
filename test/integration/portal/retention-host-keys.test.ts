import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionFormField } from '../../../src/portal/routes/retention-settings-fields.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import { startSftpServer, type SftpServer } from '../../support/sftp-server.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';
import { errorNextTo, rawValidationText, shown, summaryOf, textOf } from './retention-page-text.js';

/**
 * Issue 11.4 in the portal: the Retention settings form pins the SFTP host key with its type and a second key during
 * a rotation, and *Test connection* lists every host key the server has, against a real OpenSSH server with ed25519,
 * ECDSA and RSA host keys.
 */

const execFileAsync = promisify(execFile);
const OTHER = `SHA256:${'B'.repeat(43)}`;
const ANOTHER = `SHA256:${'C'.repeat(43)}`;

let h: PortalHarness;
let multi: SftpServer;
let scratch: string;
/** `ssh-keygen -l` lines of the multi-key server's keys, by type, as an administrator would paste them. */
let keygenLines: Record<'ED25519' | 'ECDSA' | 'RSA', string>;
/** A TCP listener that counts who connects: a refused test must not dial anything. */
let counter: Server;
let counterPort: number;
let dialled = 0;

const fingerprintOf = (type: 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ssh-rsa'): string => multi.hostKeys.find((key) => key.type === type)?.fingerprint ?? '';

/** A complete, valid SFTP form as a browser sends it, with both pins' fields. */
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
    'target.host': multi.host,
    'target.port': String(multi.port),
    'target.username': 'acme',
    'target.password': 'typed-password-Hk4',
    'target.hostKeyFingerprint': fingerprintOf('ssh-ed25519'),
    'target.hostKeyType': '',
    'target.secondHostKey.fingerprint': '',
    'target.secondHostKey.type': '',
    'target.root': '/drops',
    'files.format': 'json',
    'files.gzip': 'on',
    ...overrides,
  };
}

/** The value a text field shows, unescaped. */
const valueOf = (html: string, name: string): string | undefined => {
  const raw = new RegExp(`name="${name.replaceAll('.', '\\.')}" value="([^"]*)"`).exec(html)?.[1];
  return raw === undefined ? undefined : shown(raw);
};

/** The option a select shows as selected. */
const selectedOf = (html: string, name: string): string | undefined => {
  const select = new RegExp(`<select[^>]*name="${name.replaceAll('.', '\\.')}"[^>]*>([\\s\\S]*?)</select>`).exec(html)?.[1] ?? '';
  return /<option value="([^"]*)" selected>/.exec(select)?.[1];
};

/** The rows of Test connection's table: type label, fingerprint, pinned column. */
const hostKeyRows = (html: string): string[][] =>
  [...html.matchAll(/<tr>\s*<td>([^<]*)<\/td>\s*<td><code class="fingerprint">([^<]*)<\/code><\/td>\s*<td>([^<]*)<\/td>\s*<\/tr>/g)].map((m) => [
    m[1] ?? '',
    m[2] ?? '',
    m[3] ?? '',
  ]);

async function signedIn(tenantId: string, capabilities: UserCapability[]): Promise<PortalClient> {
  const { client } = await h.signedIn(tenantId, { displayName: 'Admin', capabilities });
  await client.get('/');
  return client;
}

async function configurer(): Promise<{ tenantId: string; client: PortalClient }> {
  const tenantId = await h.createTenant('keys-co');
  return { tenantId, client: await signedIn(tenantId, ['configure-retention']) };
}

async function storedTarget(tenantId: string) {
  const target = (await h.controlPlane.settings.requireRetention(tenantId)).value.target;
  if (target.kind !== 'sftp') throw new Error('expected an SFTP target');
  return target;
}

beforeAll(async () => {
  multi = await startSftpServer({ hostKeyType: 'ed25519', extraHostKeyTypes: ['ecdsa', 'rsa'] });
  h = await startPortalHarness();
  scratch = await mkdtemp(join(tmpdir(), 'retention-portal-keys-'));
  const scanned = (await execFileAsync('ssh-keyscan', ['-p', String(multi.port), '-t', 'ed25519,ecdsa,rsa', multi.host])).stdout;
  await writeFile(join(scratch, 'known_hosts'), scanned);
  const lines = (await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(scratch, 'known_hosts')])).stdout.trim().split('\n');
  const line = (type: string): string => lines.find((l) => l.trim().endsWith(`(${type})`)) ?? '';
  keygenLines = { ED25519: line('ED25519'), ECDSA: line('ECDSA'), RSA: line('RSA') };
  counter = createServer((socket) => {
    dialled += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => counter.listen(0, '127.0.0.1', ready));
  counterPort = (counter.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await h?.close();
  await multi?.destroy();
  await new Promise((done) => counter?.close(done));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('portal: host-key pins in the Retention settings form (issue 11.4)', () => {
  it('has ssh-keygen lines of a real server with ed25519, ECDSA and RSA host keys', () => {
    expect(multi.hostKeys.map((key) => key.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa']);
    expect(keygenLines.ED25519).toMatch(new RegExp(`^256 ${fingerprintOf('ssh-ed25519').replaceAll('+', '\\+')} .*\\(ED25519\\)$`));
    expect(keygenLines.ECDSA).toContain(fingerprintOf('ecdsa-sha2-nistp256'));
    expect(keygenLines.RSA).toContain(fingerprintOf('ssh-rsa'));
  });

  it('offers the type selects with a blank "any type" and a readable label per type', async () => {
    const { client } = await configurer();
    const page = await client.get('/settings/retention');
    for (const name of ['target.hostKeyType', 'target.secondHostKey.type']) {
      const select = new RegExp(`<select[^>]*name="${name.replaceAll('.', '\\.')}"[^>]*>([\\s\\S]*?)</select>`).exec(page.text)?.[1] ?? '';
      expect([...select.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => [m[1], m[2]])).toEqual([
        ['', 'Any type the server has'],
        ['ssh-ed25519', 'Ed25519 (ssh-ed25519)'],
        ['ecdsa-sha2-nistp256', 'ECDSA P-256 (ecdsa-sha2-nistp256)'],
        ['ecdsa-sha2-nistp384', 'ECDSA P-384 (ecdsa-sha2-nistp384)'],
        ['ecdsa-sha2-nistp521', 'ECDSA P-521 (ecdsa-sha2-nistp521)'],
        ['ssh-rsa', 'RSA (ssh-rsa)'],
      ]);
      expect(selectedOf(page.text, name)).toBe('');
    }
    expect(page.text).toContain('Second host-key fingerprint (during a key rotation)');
  });

  it('saves a typed first pin and a second pin, stores them in the settings, shows them again and audits them', async () => {
    const { tenantId, client } = await configurer();
    const res = await client.post(
      '/settings/retention',
      sftpForm({ 'target.hostKeyType': 'ssh-ed25519', 'target.secondHostKey.fingerprint': fingerprintOf('ssh-rsa'), 'target.secondHostKey.type': 'ssh-rsa' }),
    );
    expect(res.status).toBe(303);
    const target = await storedTarget(tenantId);
    expect(target).toMatchObject({
      hostKeyFingerprint: fingerprintOf('ssh-ed25519'),
      hostKeyType: 'ssh-ed25519',
      secondHostKey: { fingerprint: fingerprintOf('ssh-rsa'), type: 'ssh-rsa' },
    });

    const page = await client.get('/settings/retention');
    expect(valueOf(page.text, 'target.hostKeyFingerprint')).toBe(fingerprintOf('ssh-ed25519'));
    expect(selectedOf(page.text, 'target.hostKeyType')).toBe('ssh-ed25519');
    expect(valueOf(page.text, 'target.secondHostKey.fingerprint')).toBe(fingerprintOf('ssh-rsa'));
    expect(selectedOf(page.text, 'target.secondHostKey.type')).toBe('ssh-rsa');

    const [changed] = await h.controlPlane.audit.list(tenantId, { action: 'settings.changed' });
    expect(changed?.details).toMatchObject({
      hostKeyFingerprint: fingerprintOf('ssh-ed25519'),
      hostKeyType: 'ssh-ed25519',
      secondHostKey: `ssh-rsa ${fingerprintOf('ssh-rsa')}`,
    });
    expect(JSON.stringify(changed)).not.toContain('typed-password-Hk4');
  });

  it('saves an untyped second pin without a type, and a blank first type as "any type"', async () => {
    const { tenantId, client } = await configurer();
    expect(
      (await client.post('/settings/retention', sftpForm({ 'target.secondHostKey.fingerprint': ` ${fingerprintOf('ecdsa-sha2-nistp256')} ` }))).status,
    ).toBe(303);
    const target = await storedTarget(tenantId);
    expect(target.hostKeyType).toBeUndefined();
    expect(target.secondHostKey).toEqual({ fingerprint: fingerprintOf('ecdsa-sha2-nistp256') });
    const [changed] = await h.controlPlane.audit.list(tenantId, { action: 'settings.changed' });
    expect(changed?.details).toMatchObject({ hostKeyType: null, secondHostKey: fingerprintOf('ecdsa-sha2-nistp256') });
  });

  it.each([
    ['ED25519', 'ssh-ed25519'],
    ['ECDSA', 'ecdsa-sha2-nistp256'],
    ['RSA', 'ssh-rsa'],
  ] as const)('takes a pasted ssh-keygen -l line of the %s key in either field, its type filling a blank select', async (name, type) => {
    const { tenantId, client } = await configurer();
    const first = await client.post('/settings/retention', sftpForm({ 'target.hostKeyFingerprint': keygenLines[name] }));
    expect(first.status).toBe(303);
    expect(await storedTarget(tenantId)).toMatchObject({ hostKeyFingerprint: fingerprintOf(type), hostKeyType: type });
    const page = await client.get('/settings/retention');
    expect(valueOf(page.text, 'target.hostKeyFingerprint')).toBe(fingerprintOf(type));
    expect(selectedOf(page.text, 'target.hostKeyType')).toBe(type);

    // the same line as the second pin, with the select naming the same type (they agree)
    const second = await client.post(
      '/settings/retention',
      sftpForm({
        version: '1',
        'target.password': '',
        'target.hostKeyFingerprint': OTHER,
        'target.secondHostKey.fingerprint': keygenLines[name],
        'target.secondHostKey.type': type,
      }),
    );
    expect(second.status).toBe(303);
    const target = await storedTarget(tenantId);
    expect(target.hostKeyType).toBeUndefined();
    expect(target.secondHostKey).toEqual({ fingerprint: fingerprintOf(type), type });
  });

  it.each<[string, Record<string, string>, string, string]>([
    [
      'a pasted ED25519 line with RSA selected',
      { 'target.hostKeyFingerprint': 'ED25519', 'target.hostKeyType': 'ssh-rsa' },
      'target.hostKeyType',
      'the pasted line is a key of type Ed25519 (ssh-ed25519), but RSA (ssh-rsa) is selected',
    ],
    [
      'a pasted RSA line as second pin with ECDSA selected',
      { 'target.secondHostKey.fingerprint': 'RSA', 'target.secondHostKey.type': 'ecdsa-sha2-nistp256' },
      'target.secondHostKey.type',
      'the pasted line is a key of type RSA (ssh-rsa), but ECDSA P-256 (ecdsa-sha2-nistp256) is selected',
    ],
    [
      '"type SHA256:…" naming another type than the select',
      { 'target.hostKeyFingerprint': `ssh-rsa ${OTHER}`, 'target.hostKeyType': 'ssh-ed25519' },
      'target.hostKeyType',
      'but Ed25519 (ssh-ed25519) is selected',
    ],
    ['a type that is not a host-key type', { 'target.hostKeyType': 'ssh-dss' }, 'target.hostKeyType', 'one of ssh-ed25519, ecdsa-sha2-nistp256'],
    ['an MD5 fingerprint', { 'target.hostKeyFingerprint': 'MD5:9f:3a:1c:aa' }, 'target.hostKeyFingerprint', 'a host-key pin is the SHA-256 fingerprint'],
    [
      'a truncated fingerprint as second pin',
      { 'target.secondHostKey.fingerprint': 'SHA256:abc' },
      'target.secondHostKey.fingerprint',
      'a host-key pin is the SHA-256 fingerprint',
    ],
    [
      'the first key again as second pin',
      { 'target.secondHostKey.fingerprint': 'FIRST' },
      'target.secondHostKey.fingerprint',
      'the second pin is the same key as the first',
    ],
    [
      'the first key again, pasted as its ssh-keygen line',
      { 'target.secondHostKey.fingerprint': 'ED25519' },
      'target.secondHostKey.fingerprint',
      'the second pin is the same key as the first',
    ],
  ])('refuses %s with an error next to its field, keeps what was typed and saves nothing; audited', async (_label, raw, field, message) => {
    const { tenantId, client } = await configurer();
    const paste = (value: string): string =>
      value === 'FIRST' ? fingerprintOf('ssh-ed25519') : value in keygenLines ? keygenLines[value as keyof typeof keygenLines] : value;
    const overrides = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, paste(value)]));
    const res = await client.post('/settings/retention', sftpForm(overrides));
    expect(res.status).toBe(400);
    const label = retentionFormField(field).label;
    expect(errorNextTo(res.text, field)).toContain(`${label}: `);
    expect(errorNextTo(res.text, field)).toContain(message);
    expect(summaryOf(res.text)).toContain(`${label}: `);
    expect(rawValidationText(res.text)).toEqual([]);
    for (const [key, value] of Object.entries(overrides)) {
      if (key.endsWith('ingerprint')) expect(valueOf(res.text, key)).toBe(value);
      else if (value !== 'ssh-dss') expect(selectedOf(res.text, key)).toBe(value);
    }
    expect(res.text).not.toContain('typed-password-Hk4');
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
    const [failure] = await h.controlPlane.audit.list(tenantId, { action: 'settings.change' });
    expect(failure).toMatchObject({ outcome: 'failure', details: { reason: 'ERR_SETTINGS_INVALID', fields: field } });
  });

  it('ignores the pin fields for a local-directory target', async () => {
    const { tenantId, client } = await configurer();
    const res = await client.post(
      '/settings/retention',
      sftpForm({
        'target.kind': 'local',
        'target.directory': scratch,
        'target.hostKeyFingerprint': 'not a pin',
        'target.secondHostKey.fingerprint': 'nor this',
      }),
    );
    expect(res.status).toBe(303);
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.target).toEqual({ kind: 'local', directory: scratch });
  });

  it('an empty second fingerprint removes the second pin (whatever its select says), a blank type removes the type; audited', async () => {
    const { tenantId, client } = await configurer();
    const both = { 'target.hostKeyType': 'ssh-ed25519', 'target.secondHostKey.fingerprint': fingerprintOf('ssh-rsa'), 'target.secondHostKey.type': 'ssh-rsa' };
    expect((await client.post('/settings/retention', sftpForm(both))).status).toBe(303);
    expect((await storedTarget(tenantId)).secondHostKey).toBeDefined();

    const cleared = await client.post(
      '/settings/retention',
      sftpForm({ ...both, version: '1', 'target.password': '', 'target.secondHostKey.fingerprint': '  ' }),
    );
    expect(cleared.status).toBe(303);
    const target = await storedTarget(tenantId);
    expect(target.secondHostKey).toBeUndefined();
    expect(target.hostKeyType).toBe('ssh-ed25519');
    expect('secondHostKey' in target).toBe(false);
    const page = await client.get('/settings/retention');
    expect(valueOf(page.text, 'target.secondHostKey.fingerprint')).toBe('');
    expect(selectedOf(page.text, 'target.secondHostKey.type')).toBe('');

    expect((await client.post('/settings/retention', sftpForm({ version: '2', 'target.password': '' }))).status).toBe(303);
    expect('hostKeyType' in (await storedTarget(tenantId))).toBe(false);

    const changes = (await h.controlPlane.audit.list(tenantId, { action: 'settings.changed' })).sort(
      (a, b) => Number(a.details?.version) - Number(b.details?.version),
    );
    expect(changes.map((e) => [e.details?.hostKeyType, e.details?.secondHostKey])).toEqual([
      ['ssh-ed25519', `ssh-rsa ${fingerprintOf('ssh-rsa')}`],
      ['ssh-ed25519', null],
      [null, null],
    ]);
  });

  it('prints typed pins back escaped, never as markup', async () => {
    const { client } = await configurer();
    const script = `256 ${fingerprintOf('ssh-ed25519')} <script>alert(1)</script> (ED25519)`;
    const quote = '" autofocus onfocus="alert(2)';
    const res = await client.post('/settings/retention', sftpForm({ 'target.hostKeyFingerprint': script, 'target.secondHostKey.fingerprint': quote }));
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('<script>alert(1)</script>');
    expect(res.text).not.toContain('onfocus="alert(2)');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).toContain('value="&#34; autofocus onfocus=&#34;alert(2)"');
    expect(valueOf(res.text, 'target.hostKeyFingerprint')).toBe(script);
    expect(valueOf(res.text, 'target.secondHostKey.fingerprint')).toBe(quote);

    const tested = await client.post(
      '/settings/retention/test-connection',
      sftpForm({ 'target.hostKeyFingerprint': script, 'target.secondHostKey.fingerprint': quote }),
    );
    expect(tested.status).toBe(400);
    expect(tested.text).not.toContain('<script>alert(1)</script>');
    expect(tested.text).not.toContain('onfocus="alert(2)');
  });

  it.each([
    ['save', '/settings/retention'],
    ['test connection', '/settings/retention/test-connection'],
  ])('refuses %s (403) to a user without the settings capability, saving and dialling nothing', async (_label, path) => {
    const tenantId = await h.createTenant('keys-acl');
    const client = await signedIn(tenantId, ['run-jobs', 'manage-users', 'read-audit', 'export']);
    const before = dialled;
    const res = await client.post(
      path,
      sftpForm({ 'target.port': String(counterPort), 'target.hostKeyType': 'ssh-ed25519', 'target.secondHostKey.fingerprint': fingerprintOf('ssh-rsa') }),
    );
    expect(res.status).toBe(403);
    expect(res.text).toContain('ERR_FORBIDDEN');
    expect(dialled).toBe(before);
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
    expect(await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' })).toEqual([]);
    expect((await h.controlPlane.audit.list(tenantId, { action: 'access.denied' }))[0]).toMatchObject({ target: `POST ${path}` });
  });
});

describe('portal: Test connection lists every host key of the server (issue 11.4)', () => {
  const test = (client: PortalClient, overrides: Record<string, string> = {}) => client.post('/settings/retention/test-connection', sftpForm(overrides));
  const notice = (html: string): string => /<div class="notice [^"]*connection-result"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';

  it('with nothing pinned, lists ed25519, ECDSA and RSA with their fingerprints and suggests the ed25519 key with the text to copy; audited', async () => {
    const { tenantId, client } = await configurer();
    const res = await test(client, { 'target.hostKeyFingerprint': '' });
    expect(res.status).toBe(200);
    const box = notice(res.text);
    expect(box).toContain('notice-success');
    expect(hostKeyRows(box).sort()).toEqual(
      [
        ['Ed25519 (ssh-ed25519)', fingerprintOf('ssh-ed25519'), '—'],
        ['ECDSA P-256 (ecdsa-sha2-nistp256)', fingerprintOf('ecdsa-sha2-nistp256'), '—'],
        ['RSA (ssh-rsa)', fingerprintOf('ssh-rsa'), '—'],
      ].sort(),
    );
    expect(box).toContain('No fingerprint is pinned yet. Pin the Ed25519 (ssh-ed25519) key');
    expect(box).toContain('<code>ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub</code>');
    expect(box).toContain(`<code class="fingerprint pin-text">ssh-ed25519 ${fingerprintOf('ssh-ed25519')}</code>`);
    expect(res.text).not.toContain('typed-password-Hk4');

    const [tested] = await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' });
    expect(tested).toMatchObject({
      outcome: 'success',
      target: `sftp://${multi.host}:${multi.port}`,
      details: { matchesPinned: null, matchedPins: null, reason: null, error: null },
    });
    expect(String(tested?.details?.fingerprints).split(',').sort()).toEqual(multi.hostKeys.map((key) => `${key.type} ${key.fingerprint}`).sort());
    expect(multi.hostKeys.map((key) => key.fingerprint)).toContain(tested?.details?.fingerprint);
    expect(await h.controlPlane.settings.getRetention(tenantId)).toBeUndefined();
  });

  it('the suggested text, pasted into the form, pins that key with its type, and the next test marks it', async () => {
    const { tenantId, client } = await configurer();
    const suggested = /<code class="fingerprint pin-text">([^<]*)<\/code>/.exec((await test(client, { 'target.hostKeyFingerprint': '' })).text)?.[1] ?? '';
    expect((await client.post('/settings/retention', sftpForm({ 'target.hostKeyFingerprint': suggested }))).status).toBe(303);
    expect(await storedTarget(tenantId)).toMatchObject({ hostKeyFingerprint: fingerprintOf('ssh-ed25519'), hostKeyType: 'ssh-ed25519' });

    // a test with the pin fields left empty compares with the saved pins
    const res = await client.post('/settings/retention/test-connection', { 'target.hostKeyFingerprint': '' });
    expect(res.status).toBe(200);
    const rows = hostKeyRows(notice(res.text));
    expect(rows.find((row) => row[1] === fingerprintOf('ssh-ed25519'))?.[2]).toBe('matches the first pin');
    expect(rows.filter((row) => row[2] === 'not pinned')).toHaveLength(2);
  });

  it.each<[string, Record<string, string>, Record<string, string>, string]>([
    [
      'the RSA key pinned with its type',
      { 'target.hostKeyFingerprint': 'ssh-rsa', 'target.hostKeyType': 'ssh-rsa' },
      { 'ssh-rsa': 'matches the first pin' },
      'first',
    ],
    [
      'the ECDSA key pinned without a type',
      { 'target.hostKeyFingerprint': 'ecdsa-sha2-nistp256' },
      { 'ecdsa-sha2-nistp256': 'matches the first pin' },
      'first',
    ],
    [
      'ed25519 first and RSA second (a rotation)',
      {
        'target.hostKeyFingerprint': 'ssh-ed25519',
        'target.hostKeyType': 'ssh-ed25519',
        'target.secondHostKey.fingerprint': 'ssh-rsa',
        'target.secondHostKey.type': 'ssh-rsa',
      },
      { 'ssh-ed25519': 'matches the first pin', 'ssh-rsa': 'matches the second pin' },
      'first,second',
    ],
  ])('marks %s among the server keys', async (_label, pins, marks, matched) => {
    const { tenantId, client } = await configurer();
    const form = Object.fromEntries(Object.entries(pins).map(([key, value]) => [key, key.endsWith('ingerprint') ? fingerprintOf(value as 'ssh-rsa') : value]));
    const res = await test(client, form);
    expect(res.status).toBe(200);
    const box = notice(res.text);
    expect(box).toContain('notice-success');
    expect(box).toContain('The server has the pinned key, so the worker will accept it.');
    expect(box).not.toContain('No fingerprint is pinned yet');
    const rows = hostKeyRows(box);
    expect(rows).toHaveLength(3);
    for (const key of multi.hostKeys) expect(rows.find((row) => row[1] === key.fingerprint)?.[2]).toBe(marks[key.type] ?? 'not pinned');
    const [tested] = await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' });
    expect(tested?.details).toMatchObject({ matchesPinned: true, matchedPins: matched });
  });

  it('says which pin the server lacks during a rotation, before and after the server switched keys', async () => {
    const { client } = await configurer();
    const before = notice((await test(client, { 'target.secondHostKey.fingerprint': OTHER })).text);
    expect(before).toContain('The server has the pinned key');
    expect(textOf(before)).toContain(`The second pin ${OTHER} is not among the server's keys (yet)`);
    const after = notice(
      (
        await test(client, {
          'target.hostKeyFingerprint': OTHER,
          'target.secondHostKey.fingerprint': fingerprintOf('ssh-rsa'),
          'target.secondHostKey.type': 'ssh-rsa',
        })
      ).text,
    );
    expect(after).toContain('notice-success');
    expect(textOf(after)).toContain(`The first pin ${OTHER} is not among the server's keys any more`);
    expect(hostKeyRows(after).find((row) => row[1] === fingerprintOf('ssh-rsa'))?.[2]).toBe('matches the second pin');
  });

  it.each<[string, Record<string, string>]>([
    ['a key the server does not have', { 'target.hostKeyFingerprint': OTHER }],
    ['two keys the server does not have', { 'target.hostKeyFingerprint': OTHER, 'target.secondHostKey.fingerprint': ANOTHER }],
    [
      'the ed25519 fingerprint pinned with the RSA type (the worker would ask for an RSA key)',
      { 'target.hostKeyFingerprint': 'ssh-ed25519', 'target.hostKeyType': 'ssh-rsa' },
    ],
  ])('says clearly when none of the keys matches: %s', async (_label, pins) => {
    const { tenantId, client } = await configurer();
    const form = Object.fromEntries(Object.entries(pins).map(([key, value]) => [key, value === 'ssh-ed25519' ? fingerprintOf('ssh-ed25519') : value]));
    const res = await test(client, form);
    expect(res.status).toBe(200);
    const box = notice(res.text);
    expect(box).toContain('notice-error');
    expect(box).toContain("None of the server's host keys matches the pinned");
    expect(box).toContain("Do not pin a new key until the server's administrator confirms it changed.");
    expect(box).not.toContain('No fingerprint is pinned yet');
    expect(hostKeyRows(box).map((row) => row[2])).toEqual(['not pinned', 'not pinned', 'not pinned']);
    const [tested] = await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' });
    expect(tested).toMatchObject({ outcome: 'success', details: { matchesPinned: false, matchedPins: '' } });
  });

  it('refuses unreadable or contradictory pins before connecting (400, errors next to the fields, nothing dialled)', async () => {
    const { tenantId, client } = await configurer();
    const before = dialled;
    const res = await test(client, {
      'target.port': String(counterPort),
      'target.hostKeyFingerprint': keygenLines.ED25519,
      'target.hostKeyType': 'ssh-rsa',
      'target.secondHostKey.fingerprint': 'SHA256:nope',
    });
    expect(res.status).toBe(400);
    expect(errorNextTo(res.text, 'target.hostKeyType')).toContain('but RSA (ssh-rsa) is selected');
    expect(errorNextTo(res.text, 'target.secondHostKey.fingerprint')).toContain('a host-key pin is the SHA-256 fingerprint');
    expect(shown(res.text)).toContain("Correct the host-key pins to compare them with the server's keys");
    expect(dialled).toBe(before);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'settings.connection-tested' })).toEqual([]);
  });
});
