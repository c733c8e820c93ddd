import type { Keyring } from '../crypto/keyring.js';
import { RECORD_TYPES } from '../records/record-type.js';
import type { SourceSettings } from '../tenants/retention-settings.js';
import { DemoSource } from './demo-source.js';
import type { Source } from './source.js';

/**
 * Builds the record source a tenant's settings describe, opening its sealed token with the keyring.
 *
 * @example
 * const source = createSource(keyring, 'acme', settings.source);
 */
export function createSource(_keyring: Keyring, tenantId: string, settings: SourceSettings): Source {
  if (settings.kind === 'demo') {
    return new DemoSource({
      tenantId,
      seed: settings.seed,
      invalidShare: settings.invalidShare,
      ...(settings.recordsPerHour !== undefined ? { ratesPerHour: Object.fromEntries(RECORD_TYPES.map((t) => [t, settings.recordsPerHour])) } : {}),
    });
  }
  throw new Error('http source: wired once HttpSource lands');
}
