import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../../errors.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { isDuplicateKeyError } from '../duplicate-key.js';

interface LeaseDocument {
  _id: string;
  holder: string;
  purpose: string;
  expiresAt: Date;
}

/** Options of a {@link TenantArchiveLease}. */
export interface TenantArchiveLeaseOptions {
  /** A lease not renewed for this long is free again (its holder died). Default 60 000 ms. */
  ttlMs?: number;
}

/**
 * One writer per tenant archive at a time, across every process: imports, rebuilds and purges of a tenant take the
 * tenant's lease in the control plane's `archiveLeases` collection, renewed while the work runs. Work that finds the
 * lease taken fails with `ERR_ARCHIVE_BUSY` (transient: the job is retried later).
 *
 * @example
 * await leases.withLease('acme', 'import', () => importManifest(...));
 */
export class TenantArchiveLease {
  private readonly leases: Collection<LeaseDocument>;
  private readonly ttlMs: number;

  constructor(db: Db, options: TenantArchiveLeaseOptions = {}) {
    this.leases = db.collection<LeaseDocument>('archiveLeases');
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** Runs `work` holding the tenant's lease; `ERR_ARCHIVE_BUSY` when another holder has it. */
  async withLease<T>(tenantId: string, purpose: string, work: () => Promise<T>): Promise<T> {
    const tenant = assertTenantId(tenantId);
    const holder = randomUUID();
    if (!(await this.acquire(tenant, holder, purpose))) {
      const current = await this.leases.findOne({ _id: tenant });
      throw new RetentionError(
        'ERR_ARCHIVE_BUSY',
        `the archive of "${tenant}" is busy (${current?.purpose ?? 'another job'} until ${current?.expiresAt.toISOString() ?? 'soon'}); retry later`,
      );
    }
    const renew = setInterval(
      () => {
        this.leases.updateOne({ _id: tenant, holder }, { $set: { expiresAt: new Date(Date.now() + this.ttlMs) } }).catch(() => undefined);
      },
      Math.max(Math.floor(this.ttlMs / 3), 10),
    );
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.leases.deleteOne({ _id: tenant, holder }).catch(() => undefined);
    }
  }

  private async acquire(tenant: string, holder: string, purpose: string): Promise<boolean> {
    const now = new Date();
    try {
      await this.leases.updateOne(
        { _id: tenant, expiresAt: { $lt: now } },
        { $set: { holder, purpose, expiresAt: new Date(now.getTime() + this.ttlMs) } },
        { upsert: true },
      );
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }
}
