/**
 * The AES-GCM associated data a tenant's secret is sealed under, so a sealed value copied to another tenant or
 * another field fails to open.
 *
 * @example
 * sealSecret(keyring, password, secretContext('acme', 'target.password'));
 */
export function secretContext(tenantId: string, field: 'source.token' | 'target.password' | 'target.privateKey' | 'target.passphrase' | 'archiveMongoUri'): string {
  return `tenant:${tenantId}/${field}`;
}
