import type { Keyring } from '../crypto/keyring.js';
import { openSecret } from '../crypto/secret-box.js';
import type { TargetSettings } from '../tenants/retention-settings.js';
import { secretContext } from '../tenants/secret-context.js';
import { LocalDirectoryTarget } from './local-directory-target.js';
import { SftpTarget } from './sftp-target.js';
import type { Target } from './target.js';

/**
 * Builds the delivery target a tenant's settings describe, opening its sealed credentials with the keyring.
 *
 * @example
 * const target = createTarget(keyring, 'acme', settings.target);
 */
export function createTarget(keyring: Keyring, tenantId: string, settings: TargetSettings): Target {
  if (settings.kind === 'local') return new LocalDirectoryTarget({ root: settings.directory });
  const open = (field: 'target.password' | 'target.privateKey' | 'target.passphrase', sealed: string | undefined) =>
    sealed === undefined ? {} : { [field.slice('target.'.length)]: openSecret(keyring, sealed, secretContext(tenantId, field)) };
  return new SftpTarget({
    host: settings.host,
    port: settings.port,
    username: settings.username,
    hostKeyFingerprint: settings.hostKeyFingerprint,
    root: settings.root,
    ...open('target.password', settings.password),
    ...open('target.privateKey', settings.privateKey),
    ...open('target.passphrase', settings.passphrase),
  });
}
