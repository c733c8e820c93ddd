import type { Config } from '../config.js';
import { RetentionError } from '../errors.js';
import { parseKeyring, type Keyring } from './keyring.js';

/**
 * The keyring of a process that handles secrets (worker, portal, CLI commands touching credentials).
 * `ERR_MASTER_KEYS_MISSING` says how to configure one.
 */
export function keyringFromConfig(config: Pick<Config, 'masterKeys' | 'activeKeyId'>): Keyring {
  if (config.masterKeys === undefined) {
    throw new RetentionError(
      'ERR_MASTER_KEYS_MISSING',
      'RETENTION_MASTER_KEYS is not set: generate a key with `openssl rand -base64 32` and set RETENTION_MASTER_KEYS=k1:<key> (or RETENTION_MASTER_KEYS_FILE)',
    );
  }
  return parseKeyring(config.masterKeys, config.activeKeyId);
}
