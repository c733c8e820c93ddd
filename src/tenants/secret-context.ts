import type { Keyring } from '../crypto/keyring.js';
import { openSecret, sealSecret, type SealedSecret } from '../crypto/secret-box.js';

/**
 * Every secret of a tenant's retention settings: its field (the dotted path in the settings, also the portal's form
 * field) and the label of its sealing context. A stored value opens only under the context it was sealed with, so a
 * label never changes once settings were saved with it, even if the field moves.
 */
export const RETENTION_SECRET_FIELDS = [
  { field: 'source.token', context: 'source.token' },
  { field: 'target.password', context: 'target.password' },
  { field: 'target.privateKey', context: 'target.privateKey' },
  { field: 'target.passphrase', context: 'target.passphrase' },
  { field: 'archiveMongoUri', context: 'archiveMongoUri' },
] as const;

/** A secret field of the retention settings (see {@link RETENTION_SECRET_FIELDS}). */
export type RetentionSecretField = (typeof RETENTION_SECRET_FIELDS)[number]['field'];

/**
 * True when `value` names a secret field of the retention settings.
 *
 * @example
 * isRetentionSecretField('target.password'); // true
 * isRetentionSecretField('target.host'); // false
 */
export function isRetentionSecretField(value: string): value is RetentionSecretField {
  return RETENTION_SECRET_FIELDS.some((entry) => entry.field === value);
}

/**
 * The AES-GCM associated data a tenant's secret is sealed under, so a sealed value copied to another tenant or
 * another field fails to open.
 *
 * @example
 * sealSecret(keyring, password, secretContext('acme', 'target.password')); // context 'tenant:acme/target.password'
 */
export function secretContext(tenantId: string, field: RetentionSecretField): string {
  const entry = RETENTION_SECRET_FIELDS.find((candidate) => candidate.field === field);
  if (entry === undefined) throw new TypeError(`"${String(field)}" is not a secret of the retention settings`);
  return `tenant:${tenantId}/${entry.context}`;
}

/**
 * Seals the plain text of a tenant's secret field under its context.
 *
 * @example
 * const sealed = sealRetentionSecret(keyring, 'acme', 'target.password', 'pw');
 */
export function sealRetentionSecret(keyring: Keyring, tenantId: string, field: RetentionSecretField, plaintext: string): SealedSecret {
  return sealSecret(keyring, plaintext, secretContext(tenantId, field));
}

/**
 * Opens a tenant's sealed secret field (`ERR_SECRET_*` when it was sealed for another tenant or field, or under a
 * key the ring lacks).
 *
 * @example
 * const token = openRetentionSecret(keyring, 'acme', 'source.token', settings.source.token);
 */
export function openRetentionSecret(keyring: Keyring, tenantId: string, field: RetentionSecretField, sealed: string): string {
  return openSecret(keyring, sealed, secretContext(tenantId, field));
}

/**
 * The value a settings object (stored, or as a caller submitted it) holds at a secret field, when it is a string.
 *
 * @example
 * retentionSecretOf(stored.value, 'target.password'); // 'v1.k1.…' or undefined
 */
export function retentionSecretOf(settings: unknown, field: RetentionSecretField): string | undefined {
  const value = field
    .split('.')
    .reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), settings);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Writes `value` at a secret field of a settings object in place (the holder, `source` or `target`, must exist).
 *
 * @example
 * replaceRetentionSecret(copy, 'target.password', resealed);
 */
export function replaceRetentionSecret(settings: Record<string, unknown>, field: RetentionSecretField, value: string): void {
  const keys = field.split('.');
  const last = keys.pop() as string;
  const holder = keys.reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, settings);
  holder[last] = value;
}
