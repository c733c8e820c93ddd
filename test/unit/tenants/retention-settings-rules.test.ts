import { describe, expect, it } from 'vitest';
import { RETENTION_FORM_FIELDS } from '../../../src/portal/routes/retention-settings-fields.js';
import { parseRetentionSettings, retentionSettingsSchema } from '../../../src/tenants/retention-settings.js';
import { RETENTION_SETTING_RULES, describeSettingsIssue } from '../../../src/tenants/retention-settings-rules.js';

const FINGERPRINT = `SHA256:${'a'.repeat(43)}`;
const SEALED = 'v1.k1.aaaa.bbbb.cccc';

const valid = () => ({
  mode: 'offline',
  dataTypes: ['chats'],
  schedule: { cron: '0 2 * * *', timezone: 'UTC' },
  source: { kind: 'demo', seed: 1 } as Record<string, unknown>,
  target: { kind: 'sftp', host: 'sftp.example.com', username: 'acme', password: SEALED, hostKeyFingerprint: FINGERPRINT } as Record<string, unknown>,
  files: {} as Record<string, unknown>,
});

/** Settings with `change` applied to a valid whole. */
function settingsWith(change: (settings: ReturnType<typeof valid>) => void): unknown {
  const settings = valid();
  change(settings);
  return settings;
}

/** Zod's own wording, which no refusal may show. */
const RAW = /Invalid (input|option|discriminator)|expected |Too (big|small)|[<>]=|Unrecognized key|received /;

describe('retention settings refusals in words (issue 16.8)', () => {
  it.each<[string, unknown, string, string]>([
    ['a mode', settingsWith((s) => (s.mode = 'archive')), 'mode', '"archive" is not accepted; choose offline'],
    ['no data types', settingsWith((s) => (s.dataTypes = [])), 'dataTypes', 'an empty value is not accepted; choose one or more of call-logs, chats, contacts'],
    ['an unknown data type', settingsWith((s) => (s.dataTypes = ['chats', 'invoices'])), 'dataTypes', '"invoices" is not accepted'],
    [
      'a data type twice',
      settingsWith((s) => (s.dataTypes = ['chats', 'chats'])),
      'dataTypes',
      '"chats, chats" is not accepted; choose one or more of call-logs, chats, contacts, each once.',
    ],
    ['a four-field cron', settingsWith((s) => (s.schedule.cron = '0 2 * *')), 'schedule.cron', '"0 2 * *" is not accepted; enter five fields'],
    [
      'a time zone',
      settingsWith((s) => (s.schedule.timezone = 'Mars/Olympus')),
      'schedule.timezone',
      '"Mars/Olympus" is not accepted; enter an IANA time zone',
    ],
    [
      'a pause after 51 failures',
      settingsWith((s) => Object.assign(s.schedule, { pauseAfterFailures: 51 })),
      'schedule.pauseAfterFailures',
      '"51" is not accepted; enter a whole number from 0 to 50',
    ],
    ['an unknown source kind', settingsWith((s) => (s.source = { kind: 'ftp' })), 'source.kind', '"ftp" is not accepted; choose demo'],
    [
      'no source',
      settingsWith((s) => delete (s as Partial<ReturnType<typeof valid>>).source),
      'source',
      'an empty value is not accepted; choose where records come from',
    ],
    ['a seed as text', settingsWith((s) => (s.source.seed = 'seven')), 'source.seed', '"seven" is not accepted; enter a whole number from 0 to 2147483647.'],
    ['a share over 1', settingsWith((s) => (s.source.invalidShare = 2)), 'source.invalidShare', '"2" is not accepted; enter a number from 0 to 1'],
    [
      'an ftp base URL',
      settingsWith((s) => (s.source = { kind: 'http', baseUrl: 'ftp://x.example', token: SEALED })),
      'source.baseUrl',
      '"ftp://x.example" is not accepted; enter the address of the export API',
    ],
    [
      'an http source without token',
      settingsWith((s) => (s.source = { kind: 'http', baseUrl: 'https://x.example' })),
      'source.token',
      'an empty value is not accepted; type the API token',
    ],
    [
      'a page size of 0',
      settingsWith((s) => (s.source = { kind: 'http', baseUrl: 'https://x.example', token: SEALED, pageSize: 0 })),
      'source.pageSize',
      '"0" is not accepted; enter a whole number from 1 to 5000.',
    ],
    ['a host with a space', settingsWith((s) => (s.target.host = 'bad host')), 'target.host', '"bad host" is not accepted; enter a host name'],
    ['port 0', settingsWith((s) => (s.target.port = 0)), 'target.port', '"0" is not accepted; enter a whole number from 1 to 65535.'],
    ['a user name with a space', settingsWith((s) => (s.target.username = 'a b')), 'target.username', '"a b" is not accepted; enter a user name'],
    [
      'no password or key',
      settingsWith((s) => delete s.target.password),
      'target.password',
      'an empty value is not accepted; type the SFTP password, or a private key instead',
    ],
    [
      'an MD5 fingerprint',
      settingsWith((s) => (s.target.hostKeyFingerprint = 'MD5:aa')),
      'target.hostKeyFingerprint',
      '"MD5:aa" is not accepted; enter the SHA-256 fingerprint',
    ],
    [
      'an unknown key type',
      settingsWith((s) => (s.target.hostKeyType = 'ssh-dss')),
      'target.hostKeyType',
      '"ssh-dss" is not accepted; choose one of ssh-ed25519',
    ],
    [
      'the first pin again as second',
      settingsWith((s) => (s.target.secondHostKey = { fingerprint: FINGERPRINT })),
      'target.secondHostKey.fingerprint',
      'not the first one again',
    ],
    [
      'an unknown key of the second pin',
      settingsWith((s) => (s.target.secondHostKey = { fingerprint: `SHA256:${'b'.repeat(43)}`, note: 'x' })),
      'target.secondHostKey.note',
      '"note" is not accepted; give the second host key as a fingerprint',
    ],
    ['a root with ..', settingsWith((s) => (s.target.root = '/a/../b')), 'target.root', '"/a/../b" is not accepted; enter a directory path'],
    [
      'a relative local directory',
      settingsWith((s) => (s.target = { kind: 'local', directory: 'drops' })),
      'target.directory',
      '"drops" is not accepted; enter an absolute directory path',
    ],
    ['a file format', settingsWith((s) => (s.files.format = 'xml')), 'files.format', '"xml" is not accepted; choose json'],
    [
      'a tiny file size',
      settingsWith((s) => (s.files.maxBytes = 10)),
      'files.maxBytes',
      '"10" is not accepted; enter a whole number from 1024 to 4294967296 (1 KiB to 4 GiB).',
    ],
    [
      'archive days of a type that does not exist',
      settingsWith((s) => Object.assign(s, { archiveRetentionDays: { invoices: 3 } })),
      'archiveRetentionDays.invoices',
      '"invoices" is not accepted; give days only for call-logs, chats, contacts.',
    ],
    [
      '0 archive days',
      settingsWith((s) => Object.assign(s, { archiveRetentionDays: { chats: 0 } })),
      'archiveRetentionDays.chats',
      '"0" is not accepted; enter a whole number of days from 1 to 36500',
    ],
    ['a non-object', 'offline', 'settings', '"offline" is not accepted; give the retention settings'],
  ])('%s: on %s, %s', (_label, input, field, message) => {
    const issues = retentionSettingsSchema.safeParse(input).error?.issues ?? [];
    expect(issues.length).toBeGreaterThan(0);
    const described = issues.map((issue) => describeSettingsIssue(issue, input));
    expect(described).toContainEqual({ field, message: expect.stringContaining(message) });
    for (const problem of described) {
      expect(problem.message).not.toMatch(RAW);
      expect(problem.message).toMatch(/ is not accepted; .*\.$/);
    }
  });

  it('never quotes a secret', () => {
    const input = settingsWith((s) => (s.target.password = 'plain-Secret-9'));
    const described = (retentionSettingsSchema.safeParse(input).error?.issues ?? []).map((issue) => describeSettingsIssue(issue, input));
    expect(described).toEqual([{ field: 'target.password', message: expect.stringContaining('the value typed (not shown again) is not accepted') }]);
    expect(JSON.stringify(described)).not.toContain('plain-Secret-9');
  });

  it('has a rule for every field the portal form shows', () => {
    expect(Object.keys(RETENTION_FORM_FIELDS).filter((field) => RETENTION_SETTING_RULES[field] === undefined)).toEqual([]);
  });

  it('parseRetentionSettings names each field with the same words', () => {
    expect(() => parseRetentionSettings(settingsWith((s) => (s.target.port = 70_000)))).toThrow(
      'invalid retention settings: target.port: "70000" is not accepted; enter a whole number from 1 to 65535.',
    );
  });
});
