import { describe, expect, it } from 'vitest';
import type { TargetSettings } from '../../../src/tenants/retention-settings.js';
import { targetHostKey } from '../../../worker/export-deps.js';

const local = (directory: string): TargetSettings => ({ kind: 'local', directory });
const sftp = (host: string, port: number): TargetSettings => ({
  kind: 'sftp',
  host,
  port,
  username: 'drop',
  password: 'v1.k1.aaaa.bbbb.cccc',
  hostKeyFingerprint: 'SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ',
  root: '/',
});

describe('targetHostKey (the upload-limit pool of a target)', () => {
  it.each<[string, TargetSettings, string]>([
    ['an SFTP server by host and port', sftp('sftp.example.com', 22), 'sftp:sftp.example.com:22'],
    ['another port of the same host', sftp('sftp.example.com', 2222), 'sftp:sftp.example.com:2222'],
    ['a local directory by its path', local('/srv/retention/acme'), 'local:/srv/retention/acme'],
    ['a local directory written with a trailing slash', local('/srv/retention/acme/'), 'local:/srv/retention/acme'],
    ['a local directory written with doubled slashes and "."', local('/srv//retention/./acme'), 'local:/srv/retention/acme'],
    ['the root directory', local('/'), 'local:/'],
  ])('keys %s', (_, settings, key) => {
    expect(targetHostKey(settings)).toBe(key);
  });

  it("gives local directories of different tenants pools of their own: one tenant's uploads never wait for another's", () => {
    expect(targetHostKey(local('/srv/retention/acme'))).not.toBe(targetHostKey(local('/srv/retention/globex')));
    expect(targetHostKey(local('/srv/retention/acme'))).not.toBe(targetHostKey(sftp('acme', 22)));
  });
});
