import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';

/** An identity at the tenant's OpenID provider, linked to one administrator of the tenant. */
export interface SsoIdentity {
  tenantId: string;
  userId: string;
  /** The provider's `iss`. */
  issuer: string;
  /** The provider's stable `sub` for this user (and this portal). */
  subject: string;
  /** The verified address the identity was linked through (at the time of linking). */
  linkedEmail: string;
  linkedAt: Date;
  lastSignInAt: Date | undefined;
}

/** Stored with the key `<tenant>\n<issuer>\n<subject>` as `_id`: one user per identity. */
type SsoIdentityDocument = Omit<SsoIdentity, 'lastSignInAt'> & { _id: string; lastSignInAt?: Date };

const identityKey = (tenantId: string, issuer: string, subject: string): string => `${assertTenantId(tenantId)}\n${issuer}\n${subject}`;

function identityOf(doc: SsoIdentityDocument): SsoIdentity {
  return {
    tenantId: doc.tenantId,
    userId: doc.userId,
    issuer: doc.issuer,
    subject: doc.subject,
    linkedEmail: doc.linkedEmail,
    linkedAt: doc.linkedAt,
    lastSignInAt: doc.lastSignInAt,
  };
}

/**
 * The links between provider identities (`iss`, `sub`) and administrators: collection `sso_identities`. An identity
 * belongs to at most one user (its key is the `_id`) and a user has at most one identity (unique index), so a second
 * account at the provider cannot take over a linked user, nor one identity reach two users.
 *
 * @example
 * const identity = await identities.find('acme', claims.iss, claims.sub);
 */
export class SsoIdentitiesStore {
  private readonly identities: Collection<SsoIdentityDocument>;

  constructor(db: Db) {
    this.identities = db.collection<SsoIdentityDocument>('sso_identities');
  }

  async ensureIndexes(): Promise<void> {
    await this.identities.createIndex({ tenantId: 1, userId: 1 }, { unique: true, name: 'tenant_user' });
  }

  /** The identity, when linked. */
  async find(tenantId: string, issuer: string, subject: string): Promise<SsoIdentity | undefined> {
    const doc = await this.identities.findOne({ _id: identityKey(tenantId, issuer, subject) });
    return doc === null ? undefined : identityOf(doc);
  }

  /** The identity linked to a user, when there is one. */
  async forUser(tenantId: string, userId: string): Promise<SsoIdentity | undefined> {
    const doc = await this.identities.findOne({ tenantId: assertTenantId(tenantId), userId: String(userId) });
    return doc === null ? undefined : identityOf(doc);
  }

  /** The users of the tenant with a linked identity (for the users page). */
  async linkedUserIds(tenantId: string): Promise<Set<string>> {
    const docs = await this.identities.find({ tenantId: assertTenantId(tenantId) }, { projection: { userId: 1 } }).toArray();
    return new Set(docs.map((doc) => doc.userId));
  }

  /**
   * Links the identity to the user. False (nothing changed) when the identity is linked already, to anyone, or the
   * user has another identity: of two concurrent first sign-ins only one links.
   */
  async link(identity: Omit<SsoIdentity, 'lastSignInAt'>): Promise<boolean> {
    try {
      await this.identities.insertOne({ _id: identityKey(identity.tenantId, identity.issuer, identity.subject), ...identity, userId: String(identity.userId) });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Records a sign-in with the identity. */
  async recordSignIn(tenantId: string, issuer: string, subject: string, at: Date): Promise<void> {
    await this.identities.updateOne({ _id: identityKey(tenantId, issuer, subject) }, { $set: { lastSignInAt: at } });
  }

  /** Removes the user's link; the identity it removed, or undefined when there was none. */
  async unlink(tenantId: string, userId: string): Promise<SsoIdentity | undefined> {
    const doc = await this.identities.findOneAndDelete({ tenantId: assertTenantId(tenantId), userId: String(userId) });
    return doc === null ? undefined : identityOf(doc);
  }
}
