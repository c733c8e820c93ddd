import type { Collection, Db, Document } from 'mongodb';
import type { Keyring } from '../crypto/keyring.js';
import { openSecret, sealSecret, type SealedSecret } from '../crypto/secret-box.js';
import { RetentionError } from '../errors.js';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { parseSsoSettingsInput, type SsoSettingsInput } from './sso-settings.js';

/** The secrets of the SSO settings, each sealed under its own context (see {@link ssoSecretContext}). */
export const SSO_SECRET_FIELDS = ['clientSecret', 'privateKey'] as const;
export type SsoSecretField = (typeof SSO_SECRET_FIELDS)[number];

/**
 * The AES-GCM associated data of a tenant's SSO secret: a sealed value copied to another tenant or field does not open.
 *
 * @example
 * ssoSecretContext('acme', 'clientSecret'); // 'tenant:acme/sso.clientSecret'
 */
export function ssoSecretContext(tenantId: string, field: SsoSecretField): string {
  return `tenant:${assertTenantId(tenantId)}/sso.${field}`;
}

/** Seals the plain text of an SSO secret of the tenant. */
export function sealSsoSecret(keyring: Keyring, tenantId: string, field: SsoSecretField, plaintext: string): SealedSecret {
  return sealSecret(keyring, plaintext, ssoSecretContext(tenantId, field));
}

/** Opens a sealed SSO secret of the tenant (`ERR_SECRET_*` when sealed for another tenant or field, or under a missing key). */
export function openSsoSecret(keyring: Keyring, tenantId: string, field: SsoSecretField, sealed: string): string {
  return openSecret(keyring, sealed, ssoSecretContext(tenantId, field));
}

/** The SSO settings as saved: the validated form, the sealed credential of the portal at the provider. */
export interface SsoSettingsRecord extends SsoSettingsInput {
  /** Sealed; set with `client_secret_basic` / `client_secret_post`. */
  clientSecret: string | undefined;
  /** Sealed PKCS#8 PEM; set with `private_key_jwt`. */
  privateKey: string | undefined;
  /** The `kid` of the private key's public half as registered at the provider (optional). */
  privateKeyId: string | undefined;
  /** The certificate of the private key (PEM), registered at Entra ID: its thumbprint goes in the assertion's `x5t`. */
  certificate: string | undefined;
}

/** The stored settings with the version that guards the next save. */
export interface StoredSsoSettings extends SsoSettingsRecord {
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** The stored document: these fields, then the form's and the sealed credential's (`STORED_FIELDS`), validated on read. */
interface SsoSettingsDocument extends Document {
  _id: string;
  tenantId: string;
  kind: 'sso';
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

const STORED_FIELDS = [
  'mode',
  'preset',
  'issuer',
  'clientId',
  'clientAuthMethod',
  'emailClaim',
  'allowedDomains',
  'acceptProviderMfa',
  'mfaAcrValues',
  'buttonLabel',
  'clientSecret',
  'privateKey',
  'privateKeyId',
  'certificate',
] as const;

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * A tenant's single sign-on settings: one document of kind `sso` per tenant, `_id: '<tenant>/sso'`, in the control
 * plane's `settings` collection. Validated on write and again on read (a document edited by hand cannot smuggle in an
 * `http://` issuer on a public host or a mode that does not exist); the client secret and private key stay sealed.
 * A tenant without the document has SSO off.
 *
 * @example
 * const sso = new SsoSettingsStore(db);
 * (await sso.get('acme'))?.mode; // 'optional'
 */
export class SsoSettingsStore {
  private readonly settings: Collection<{ _id: string } & Document>;

  constructor(db: Db) {
    this.settings = db.collection<{ _id: string } & Document>('settings');
  }

  async ensureIndexes(): Promise<void> {
    await this.settings.createIndex({ tenantId: 1, kind: 1 }, { unique: true, name: 'tenant_kind' });
  }

  /** The saved settings, or undefined when the tenant never saved any (SSO off); `ERR_SSO_SETTINGS_INVALID` for a bad document. */
  async get(tenantId: string): Promise<StoredSsoSettings | undefined> {
    const doc = (await this.settings.findOne({ _id: `${assertTenantId(tenantId)}/sso` })) as SsoSettingsDocument | null;
    if (doc === null) return undefined;
    const parsed = parseSsoSettingsInput(doc, { allowHttpLoopbackIssuer: true });
    return {
      ...parsed,
      clientSecret: optionalString(doc.clientSecret),
      privateKey: optionalString(doc.privateKey),
      privateKeyId: optionalString(doc.privateKeyId),
      certificate: optionalString(doc.certificate),
      version: typeof doc.version === 'number' ? doc.version : 1,
      updatedAt: doc.updatedAt,
      updatedBy: doc.updatedBy,
    };
  }

  /** The tenants that saved SSO settings (for `keys rotate`). */
  async listTenants(): Promise<string[]> {
    const docs = await this.settings.find({ kind: 'sso' }, { projection: { tenantId: 1 } }).toArray();
    return docs.map((doc) => String(doc.tenantId)).sort();
  }

  /**
   * Saves the settings. `expectedVersion` is the version the change was made on (0: nothing saved yet); the save
   * succeeds only if it is still the stored one (`ERR_SETTINGS_CONFLICT`).
   */
  async put(tenantId: string, record: SsoSettingsRecord, options: { actor: string; expectedVersion: number; now?: Date }): Promise<StoredSsoSettings> {
    const id = assertTenantId(tenantId);
    const now = options.now ?? new Date();
    const fields: Record<string, unknown> = { updatedAt: now, updatedBy: String(options.actor) };
    const unset: Record<string, ''> = {};
    for (const key of STORED_FIELDS) {
      const value = record[key];
      if (value === undefined) unset[key] = '';
      else fields[key] = value;
    }
    const conflict = () =>
      new RetentionError(
        'ERR_SETTINGS_CONFLICT',
        `the single sign-on settings changed since version ${options.expectedVersion}; reload the page and try again`,
      );
    if (options.expectedVersion === 0) {
      try {
        await this.settings.insertOne({ _id: `${id}/sso`, tenantId: id, kind: 'sso', ...fields, version: 1 });
      } catch (err) {
        if (isDuplicateKeyError(err)) throw conflict();
        throw err;
      }
    } else {
      const update = Object.keys(unset).length > 0 ? { $set: fields, $unset: unset, $inc: { version: 1 } } : { $set: fields, $inc: { version: 1 } };
      const result = await this.settings.updateOne({ _id: `${id}/sso`, version: options.expectedVersion }, update);
      if (result.matchedCount === 0) throw conflict();
    }
    return { ...record, version: options.expectedVersion + 1, updatedAt: now, updatedBy: String(options.actor) };
  }
}
