import type { Db, Document } from 'mongodb';
import { assertTenantId } from '../tenants/tenant-id.js';
import { securityDocumentId, type SecuritySettings, type SecuritySettingsStore } from './security-settings-store.js';
import type { Tenant, TenantsStore } from './tenants-store.js';
import { UsersStore, type User } from './users-store.js';

/** What every portal request needs from the control plane before it is handled. */
export interface RequestContext {
  /** The tenant, when it exists. */
  tenant: Tenant | undefined;
  /** Its security settings (defaults for anything never set). */
  security: SecuritySettings;
  /** The session's user, when one was asked for and exists in this tenant. */
  user: User | undefined;
}

/**
 * Reads a request's tenant, its security settings and the session's user in **one** round trip: an aggregation on
 * `tenants` that looks the other two up by their keys (`settings` by `<tenant>/security`, `users` by `_id` and
 * `tenantId`). Nothing is cached: a disabled tenant or user, a new IP allowlist or a 2FA requirement applies from
 * the very next request, in every portal process. The documents are decoded by the stores that own them, so they
 * read exactly as `tenants.get`, `security.get` and `users.findById` would.
 *
 * @example
 * const { tenant, security, user } = await controlPlane.requestContext.load('acme', req.session.userId);
 */
export class RequestContextStore {
  constructor(
    private readonly db: Db,
    private readonly stores: { tenants: TenantsStore; security: SecuritySettingsStore; users: UsersStore },
  ) {}

  /** Reads only by `_id` and the users' tenant index: nothing of its own to create. */
  async ensureIndexes(): Promise<void> {}

  async load(tenantId: string, userId?: unknown): Promise<RequestContext> {
    const tenant = assertTenantId(tenantId);
    const withUser = UsersStore.isUserId(userId);
    const [doc] = await this.db
      .collection('tenants')
      .aggregate<Document & { security: Document[]; user?: Document[] }>([
        { $match: { _id: tenant } },
        { $lookup: { from: 'settings', pipeline: [{ $match: { _id: securityDocumentId(tenant) } }], as: 'security' } },
        ...(withUser ? [{ $lookup: { from: 'users', pipeline: [{ $match: { _id: userId, tenantId: tenant } }], as: 'user' } }] : []),
      ])
      .toArray();
    if (doc === undefined) return { tenant: undefined, security: this.stores.security.fromDocument(undefined), user: undefined };
    const { security, user, ...tenantDoc } = doc;
    const userDoc = user?.[0];
    return {
      tenant: this.stores.tenants.fromDocument(tenantDoc),
      security: this.stores.security.fromDocument(security[0]),
      user: userDoc !== undefined && userDoc.tenantId === tenant ? this.stores.users.fromDocument(userDoc) : undefined,
    };
  }
}
