import type { Collection, Db, Document } from 'mongodb';
import { RetentionError } from '../errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { parseTimeZone } from '../time/time-zones.js';
import { isDuplicateKeyError } from './duplicate-key.js';

/** A customer company using Retention. */
export interface Tenant {
  id: string;
  displayName: string;
  status: 'active' | 'disabled';
  /** The time zone the portal shows times in for users who chose none (IANA name; `UTC` unless the owner set one). */
  timeZone: string;
  createdAt: Date;
  updatedAt: Date;
}

interface TenantDocument {
  _id: string;
  displayName: string;
  status: 'active' | 'disabled';
  timeZone?: string;
  createdAt: Date;
  updatedAt: Date;
}

const toTenant = (doc: TenantDocument): Tenant => ({
  id: doc._id,
  displayName: doc.displayName,
  status: doc.status,
  timeZone: doc.timeZone ?? 'UTC',
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

/** The `tenants` collection of the control plane. */
export class TenantsStore {
  private readonly tenants: Collection<TenantDocument>;

  constructor(db: Db) {
    this.tenants = db.collection<TenantDocument>('tenants');
  }

  /** No secondary indexes: every lookup is by `_id`. */
  async ensureIndexes(): Promise<void> {}

  /** Creates a tenant; `ERR_TENANT_EXISTS` if the id is taken. */
  async create(input: { id: string; displayName: string }, now = new Date()): Promise<Tenant> {
    const id = assertTenantId(input.id);
    const displayName = input.displayName.trim();
    if (displayName.length < 1 || displayName.length > 200) {
      throw new RetentionError('ERR_TENANT_NAME_INVALID', 'tenant display name must be 1 to 200 characters');
    }
    const doc: TenantDocument = { _id: id, displayName, status: 'active', createdAt: now, updatedAt: now };
    try {
      await this.tenants.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new RetentionError('ERR_TENANT_EXISTS', `tenant "${id}" already exists`);
      throw err;
    }
    return toTenant(doc);
  }

  /** The tenant of a stored document, read in another query (see `RequestContextStore`). */
  fromDocument(doc: Document): Tenant {
    return toTenant(doc as TenantDocument);
  }

  async get(id: string): Promise<Tenant | undefined> {
    const doc = await this.tenants.findOne({ _id: assertTenantId(id) });
    return doc ? toTenant(doc) : undefined;
  }

  /** Like {@link get} but `ERR_TENANT_NOT_FOUND` when absent. */
  async require(id: string): Promise<Tenant> {
    const tenant = await this.get(id);
    if (!tenant) throw new RetentionError('ERR_TENANT_NOT_FOUND', `tenant "${id}" does not exist (create it with: retention tenant create ${id})`);
    return tenant;
  }

  async list(): Promise<Tenant[]> {
    return (await this.tenants.find({}).sort({ _id: 1 }).toArray()).map(toTenant);
  }

  /** Sets the tenant's default time zone for the portal's times (`parseTimeZone` checked it). */
  async setTimeZone(id: string, timeZone: string, now = new Date()): Promise<void> {
    const result = await this.tenants.updateOne({ _id: assertTenantId(id) }, { $set: { timeZone: parseTimeZone(timeZone), updatedAt: now } });
    if (result.matchedCount === 0) throw new RetentionError('ERR_TENANT_NOT_FOUND', `tenant "${id}" does not exist`);
  }

  async setStatus(id: string, status: Tenant['status'], now = new Date()): Promise<void> {
    const result = await this.tenants.updateOne({ _id: assertTenantId(id) }, { $set: { status, updatedAt: now } });
    if (result.matchedCount === 0) throw new RetentionError('ERR_TENANT_NOT_FOUND', `tenant "${id}" does not exist`);
  }
}
