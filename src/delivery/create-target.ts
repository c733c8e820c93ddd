import type { Keyring } from '../crypto/keyring.js';
import type { DestinationPolicy } from '../tenants/destination-policy.js';
import type { TargetSettings } from '../tenants/retention-settings.js';
import { openRetentionSecret } from '../tenants/secret-context.js';
import { localTargetsOff } from './local-target-base.js';
import { LocalDirectoryTarget } from './local-directory-target.js';
import { SftpTarget } from './sftp-target.js';
import type { Target } from './target.js';

/**
 * Builds the delivery target a tenant's settings describe, opening its sealed credentials with the keyring. The
 * target stays within the operator's destination policy: an SFTP target connects only to addresses the network policy
 * allows, and a local-directory target only below `LOCAL_TARGET_BASE_DIR`; without that base a local target fails at
 * once with `ERR_LOCAL_TARGET_DISABLED`.
 *
 * @example
 * const target = createTarget(keyring, 'acme', settings.target, destinations);
 */
export function createTarget(keyring: Keyring, tenantId: string, settings: TargetSettings, destinations: DestinationPolicy): Target {
  if (settings.kind === 'local') {
    if (destinations.localTargetBaseDir === undefined) throw localTargetsOff(settings.directory);
    return new LocalDirectoryTarget({ root: settings.directory, baseDirectory: destinations.localTargetBaseDir });
  }
  const open = (field: 'target.password' | 'target.privateKey' | 'target.passphrase', sealed: string | undefined) =>
    sealed === undefined ? {} : { [field.slice('target.'.length)]: openRetentionSecret(keyring, tenantId, field, sealed) };
  return new SftpTarget({
    host: settings.host,
    port: settings.port,
    username: settings.username,
    hostKeyFingerprint: settings.hostKeyFingerprint,
    ...(settings.hostKeyType !== undefined ? { hostKeyType: settings.hostKeyType } : {}),
    ...(settings.secondHostKey !== undefined ? { secondHostKey: settings.secondHostKey } : {}),
    root: settings.root,
    network: destinations.network,
    ...open('target.password', settings.password),
    ...open('target.privateKey', settings.privateKey),
    ...open('target.passphrase', settings.passphrase),
  });
}
