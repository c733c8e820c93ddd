import { describe, expect, it } from 'vitest';
import { targetSettingsSchema } from '../../../src/tenants/retention-settings.js';

const FIRST = `SHA256:${'a'.repeat(43)}`;
const SECOND = `SHA256:${'b'.repeat(43)}`;
const sealed = 'v1.k1.aaaa.bbbb.cccc';
const sftp = (extra: Record<string, unknown>) => ({
  kind: 'sftp',
  host: 'sftp.example.com',
  username: 'acme',
  privateKey: sealed,
  hostKeyFingerprint: FIRST,
  ...extra,
});

describe('SFTP target settings: host-key pins', () => {
  it('keep a typed first pin and a second pin for a rotation', () => {
    const parsed = targetSettingsSchema.parse(sftp({ hostKeyType: 'ssh-rsa', secondHostKey: { fingerprint: SECOND, type: 'ssh-ed25519' } }));
    expect(parsed).toMatchObject({ hostKeyFingerprint: FIRST, hostKeyType: 'ssh-rsa', secondHostKey: { fingerprint: SECOND, type: 'ssh-ed25519' } });
  });

  it('store a fingerprint without the base64 padding some tools print, so it compares with what the worker sees', () => {
    const parsed = targetSettingsSchema.parse(sftp({ hostKeyFingerprint: `${FIRST}=`, secondHostKey: { fingerprint: `${SECOND}=` } }));
    expect(parsed).toMatchObject({ hostKeyFingerprint: FIRST, secondHostKey: { fingerprint: SECOND } });
  });

  it('refuse a second pin that is the first again, padded or not, naming the field', () => {
    for (const fingerprint of [FIRST, `${FIRST}=`]) {
      const result = targetSettingsSchema.safeParse(sftp({ secondHostKey: { fingerprint } }));
      expect(result.success).toBe(false);
      expect(result.error?.issues).toEqual([
        expect.objectContaining({ path: ['secondHostKey', 'fingerprint'], message: expect.stringContaining('first one again') }),
      ]);
    }
  });

  it.each([{ hostKeyType: 'ssh-dss' }, { secondHostKey: { fingerprint: 'SHA256:short' } }, { secondHostKey: { fingerprint: SECOND, extra: 1 } }])(
    'refuse a malformed pin %j',
    (extra) => {
      expect(targetSettingsSchema.safeParse(sftp(extra)).success).toBe(false);
    },
  );
});
