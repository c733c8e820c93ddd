import type { Keyring } from '../crypto/keyring.js';
import { RECORD_TYPES } from '../records/record-type.js';
import type { DestinationPolicy } from '../tenants/destination-policy.js';
import type { SourceSettings } from '../tenants/retention-settings.js';
import { openRetentionSecret } from '../tenants/secret-context.js';
import { DemoSource } from './demo-source.js';
import { HttpSource } from './http-source.js';
import type { Source } from './source.js';

/**
 * Builds the record source a tenant's settings describe, opening its sealed token with the keyring. An http source
 * connects only to addresses the operator's network policy allows.
 *
 * @example
 * const source = createSource(keyring, 'acme', settings.source, destinations);
 */
export function createSource(keyring: Keyring, tenantId: string, settings: SourceSettings, destinations: Pick<DestinationPolicy, 'network'>): Source {
  if (settings.kind === 'http') {
    return new HttpSource({
      baseUrl: settings.baseUrl,
      token: openRetentionSecret(keyring, tenantId, 'source.token', settings.token),
      pageSize: settings.pageSize,
      network: destinations.network,
    });
  }
  return new DemoSource({
    tenantId,
    seed: settings.seed,
    invalidShare: settings.invalidShare,
    ...(settings.recordsPerHour !== undefined ? { ratesPerHour: Object.fromEntries(RECORD_TYPES.map((t) => [t, settings.recordsPerHour])) } : {}),
  });
}
