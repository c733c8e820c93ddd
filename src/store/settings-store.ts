import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import { parseRetentionSettings, type RetentionSettings } from '../tenants/retention-settings.js';
import { assertTenantId } from '../tenants/tenant-id.js';

interface SettingsDocument {
  _id: string;
  tenantId: string;
  kind: 'retention';
  value: unknown;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** Stored settings with the version used for optimistic concurrency. */
export interface VersionedSettings<T> {
  value: T;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** The `settings` collection of the control plane: one document per tenant and kind. */
export class SettingsStore {
  private readonly settings: Collection<SettingsDocument>;

  constructor(db: Db) {
    this.settings = db.collection<SettingsDocument>('settings');
  }

  async ensureIndexes(): Promise<void> {
    await this.settings.createIndex({ tenantId: 1, kind: 1 }, { unique: true, name: 'tenant_kind' });
  }

  /**
   * The tenant's retention settings, validated again on read (a document edited by hand cannot smuggle in
   * a bad value): `ERR_SETTINGS_INVALID` names the field.
   */
  async getRetention(tenantId: string): Promise<VersionedSettings<RetentionSettings> | undefined> {
    const doc = await this.settings.findOne({ _id: `${assertTenantId(tenantId)}/retention` });
    if (!doc) return undefined;
    return { value: parseRetentionSettings(doc.value), version: doc.version, updatedAt: doc.updatedAt, updatedBy: doc.updatedBy };
  }

  /** Like {@link getRetention} but `ERR_SETTINGS_MISSING` when the tenant has none. */
  async requireRetention(tenantId: string): Promise<VersionedSettings<RetentionSettings>> {
    const settings = await this.getRetention(tenantId);
    if (!settings) {
      throw new RetentionError('ERR_SETTINGS_MISSING', `tenant "${tenantId}" has no retention settings (set them with: retention tenant set ${tenantId} ...)`);
    }
    return settings;
  }

  /**
   * Validates and stores retention settings. With `expectedVersion`, the write only succeeds if nobody changed
   * the settings since they were read (`ERR_SETTINGS_CONFLICT` otherwise).
   */
  async putRetention(
    tenantId: string,
    input: unknown,
    options: { actor: string; expectedVersion?: number; now?: Date },
  ): Promise<VersionedSettings<RetentionSettings>> {
    const id = assertTenantId(tenantId);
    const value = parseRetentionSettings(input);
    const now = options.now ?? new Date();
    if (options.expectedVersion === undefined) {
      const doc = await this.settings.findOneAndUpdate(
        { _id: `${id}/retention` },
        { $set: { tenantId: id, kind: 'retention', value, updatedAt: now, updatedBy: options.actor }, $inc: { version: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return { value, version: doc?.version ?? 1, updatedAt: now, updatedBy: options.actor };
    }
    const result = await this.settings.updateOne(
      { _id: `${id}/retention`, version: options.expectedVersion },
      { $set: { value, updatedAt: now, updatedBy: options.actor }, $inc: { version: 1 } },
    );
    if (result.matchedCount === 0) {
      throw new RetentionError('ERR_SETTINGS_CONFLICT', `retention settings of "${id}" changed since version ${options.expectedVersion}; reload and try again`);
    }
    return { value, version: options.expectedVersion + 1, updatedAt: now, updatedBy: options.actor };
  }

  /**
   * Every tenant's stored retention settings in one query, by tenant id, each validated as {@link getRetention} does;
   * a document that fails validation is returned with its error instead, so one bad tenant does not hide the others.
   *
   * @example
   * for (const entry of await settings.listRetention()) if ('error' in entry) console.error(entry.tenantId, entry.error);
   */
  async listRetention(): Promise<Array<{ tenantId: string; settings: VersionedSettings<RetentionSettings> } | { tenantId: string; error: unknown }>> {
    const docs = await this.settings.find({ kind: 'retention' }).sort({ tenantId: 1 }).toArray();
    return docs.map((doc) => {
      try {
        return {
          tenantId: doc.tenantId,
          settings: { value: parseRetentionSettings(doc.value), version: doc.version, updatedAt: doc.updatedAt, updatedBy: doc.updatedBy },
        };
      } catch (error) {
        return { tenantId: doc.tenantId, error };
      }
    });
  }

  /** Tenants that have retention settings (the scheduler keeps one job scheduler for each). */
  async listRetentionTenants(): Promise<string[]> {
    const docs = await this.settings
      .find({ kind: 'retention' }, { projection: { tenantId: 1 } })
      .sort({ tenantId: 1 })
      .toArray();
    return docs.map((doc) => doc.tenantId);
  }
}
