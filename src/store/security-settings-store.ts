import type { Collection, Db, Document } from 'mongodb';
import { parseIpAllowlist } from '../auth/ip-allowlist.js';
import {
  DEFAULT_MIN_LENGTH_FLOOR,
  DEFAULT_PASSWORD_POLICY,
  parsePasswordPolicy,
  storedPasswordPolicy,
  type PasswordPolicy,
  type PasswordPolicyLimits,
} from '../auth/password-policy.js';
import { assertTenantId } from '../tenants/tenant-id.js';

/** A tenant's portal security settings. */
export interface SecuritySettings {
  passwordPolicy: PasswordPolicy;
  /** Every user must use TOTP; users without it are taken to enrolment and reach nothing else. */
  requireTwoFactor: boolean;
  /** Allowed client networks in canonical CIDR form; empty allows every address. */
  ipAllowlist: string[];
  /**
   * The owner may reset a forgotten password through a mailed link (the second factor is still asked for). Default
   * true; off, the owner's "forgot password" requests send nothing and links already mailed stop working.
   */
  ownerPasswordResetByMail: boolean;
  updatedAt: Date | undefined;
  updatedBy: string | undefined;
}

/** The settings of a tenant that has not changed anything. */
export const DEFAULT_SECURITY_SETTINGS: Readonly<SecuritySettings> = Object.freeze({
  passwordPolicy: DEFAULT_PASSWORD_POLICY,
  requireTwoFactor: false,
  ipAllowlist: [],
  ownerPasswordResetByMail: true,
  updatedAt: undefined,
  updatedBy: undefined,
});

/** The `_id` of a tenant's security settings in `settings`. */
export function securityDocumentId(tenantId: string): string {
  return `${assertTenantId(tenantId)}/security`;
}

interface SecurityDocument {
  _id: string;
  tenantId: string;
  kind: 'security';
  passwordPolicy?: unknown;
  requireTwoFactor?: boolean;
  ipAllowlist?: string[];
  ownerPasswordResetByMail?: boolean;
  updatedAt: Date;
  updatedBy: string;
}

/**
 * A tenant's portal security settings (password policy, 2FA enforcement, IP allowlist, the owner's reset by mail),
 * one document of kind `security` per tenant in the control plane's `settings` collection. Values are validated on
 * write and again on read, so a document edited by hand cannot smuggle in a bad value.
 *
 * @example
 * const security = new SecuritySettingsStore(db);
 * const { passwordPolicy } = await security.get('acme');
 */
export class SecuritySettingsStore {
  private readonly settings: Collection<SecurityDocument>;

  /** `limits.minLengthFloor`: the operator's `PASSWORD_MIN_LENGTH_FLOOR` (default 12). */
  constructor(
    db: Db,
    private readonly limits: PasswordPolicyLimits = {},
  ) {
    this.settings = db.collection<SecurityDocument>('settings');
  }

  /** The lowest minimum password length a tenant may set (the operator's `PASSWORD_MIN_LENGTH_FLOOR`). */
  get minLengthFloor(): number {
    return this.limits.minLengthFloor ?? DEFAULT_MIN_LENGTH_FLOOR;
  }

  async ensureIndexes(): Promise<void> {
    await this.settings.createIndex({ tenantId: 1, kind: 1 }, { unique: true, name: 'tenant_kind' });
  }

  /** The tenant's settings, defaults for anything never set. */
  async get(tenantId: string): Promise<SecuritySettings> {
    return this.fromDocument(await this.settings.findOne({ _id: securityDocumentId(tenantId) }));
  }

  /** The settings of a stored document (read here or in another query, see `RequestContextStore`); defaults without one. */
  fromDocument(stored: Document | null | undefined): SecuritySettings {
    const doc = stored as SecurityDocument | null | undefined;
    if (!doc) return { ...DEFAULT_SECURITY_SETTINGS, ipAllowlist: [] };
    return {
      passwordPolicy: storedPasswordPolicy(doc.passwordPolicy ?? {}, this.limits),
      requireTwoFactor: doc.requireTwoFactor === true,
      ipAllowlist: parseIpAllowlist(doc.ipAllowlist ?? []).map((range) => range.cidr),
      ownerPasswordResetByMail: doc.ownerPasswordResetByMail !== false,
      updatedAt: doc.updatedAt,
      updatedBy: doc.updatedBy,
    };
  }

  /** Validates (`ERR_PASSWORD_POLICY_INVALID`, also for a minimum length under the operator's floor) and stores the password policy. */
  async setPasswordPolicy(tenantId: string, input: unknown, actor: string, now = new Date()): Promise<PasswordPolicy> {
    const policy = parsePasswordPolicy(input, this.limits);
    await this.update(tenantId, { passwordPolicy: policy }, actor, now);
    return policy;
  }

  async setRequireTwoFactor(tenantId: string, required: boolean, actor: string, now = new Date()): Promise<void> {
    await this.update(tenantId, { requireTwoFactor: required === true }, actor, now);
  }

  /** Whether the owner may reset a forgotten password by mail. */
  async setOwnerPasswordResetByMail(tenantId: string, allowed: boolean, actor: string, now = new Date()): Promise<void> {
    await this.update(tenantId, { ownerPasswordResetByMail: allowed === true }, actor, now);
  }

  /** Validates (`ERR_IP_ALLOWLIST_INVALID`) and stores the allowlist; returns the canonical entries. */
  async setIpAllowlist(tenantId: string, entries: string | readonly string[], actor: string, now = new Date()): Promise<string[]> {
    const cidrs = parseIpAllowlist(entries).map((range) => range.cidr);
    await this.update(tenantId, { ipAllowlist: cidrs }, actor, now);
    return cidrs;
  }

  private async update(
    tenantId: string,
    fields: Partial<Pick<SecurityDocument, 'passwordPolicy' | 'requireTwoFactor' | 'ipAllowlist' | 'ownerPasswordResetByMail'>>,
    actor: string,
    now: Date,
  ): Promise<void> {
    const id = assertTenantId(tenantId);
    await this.settings.updateOne(
      { _id: securityDocumentId(id) },
      { $set: { ...fields, tenantId: id, kind: 'security', updatedAt: now, updatedBy: String(actor) } },
      { upsert: true },
    );
  }
}
