import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { parseAlertSettings, type AlertSettings, type AlertSettingsInput } from './alert-settings.js';

interface AlertSettingsDocument {
  _id: string;
  tenantId: string;
  kind: 'alerts';
  recipients: unknown;
  delivery: unknown;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** A tenant's saved alert settings, with the version that guards the next save. */
export interface StoredAlertSettings extends AlertSettings {
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** How {@link AlertSettingsStore.put} saves. */
export interface PutAlertSettingsOptions {
  /** Who saves (a user id, `cli:…`); kept on the document. */
  actor: string;
  /**
   * The version the change was made on: 0 when nothing was saved yet. The save succeeds only if that is still the
   * stored version (`ERR_SETTINGS_CONFLICT` otherwise). Absent: saved whatever is stored.
   */
  expectedVersion?: number;
  now?: Date;
}

/**
 * A tenant's alert settings (recipients and delivery of the run alerts): one document of kind `alerts` per tenant,
 * `_id: '<tenant>/alerts'`, in the control plane's `settings` collection. Validated on write and again on read.
 * A tenant without the document has never saved any: its alerts go to the owner, each event by itself (see
 * `resolveAlertRecipients`); a saved empty list turns alerts off.
 *
 * @example
 * const alerts = new AlertSettingsStore(db);
 * await alerts.put('acme', { recipients: ['oncall@acme.example'], delivery: 'each-event' }, { actor: user.id, expectedVersion: 0 });
 * (await alerts.get('acme'))?.recipients; // ['oncall@acme.example']
 */
export class AlertSettingsStore {
  private readonly settings: Collection<AlertSettingsDocument>;

  constructor(db: Db) {
    this.settings = db.collection<AlertSettingsDocument>('settings');
  }

  async ensureIndexes(): Promise<void> {
    await this.settings.createIndex({ tenantId: 1, kind: 1 }, { unique: true, name: 'tenant_kind' });
  }

  /** The saved settings, or undefined when the tenant never saved any; `ERR_ALERT_SETTINGS_INVALID` for a bad document. */
  async get(tenantId: string): Promise<StoredAlertSettings | undefined> {
    const doc = await this.settings.findOne({ _id: `${assertTenantId(tenantId)}/alerts` });
    if (doc === null) return undefined;
    return { ...parseAlertSettings(doc), version: doc.version, updatedAt: doc.updatedAt, updatedBy: doc.updatedBy };
  }

  /** Validates (`ERR_ALERT_SETTINGS_INVALID`) and saves the settings; returns them as stored. */
  async put(tenantId: string, input: AlertSettingsInput, options: PutAlertSettingsOptions): Promise<StoredAlertSettings> {
    const id = assertTenantId(tenantId);
    const value = parseAlertSettings(input);
    const now = options.now ?? new Date();
    const fields = { recipients: value.recipients, delivery: value.delivery, updatedAt: now, updatedBy: String(options.actor) };
    const conflict = () =>
      new RetentionError('ERR_SETTINGS_CONFLICT', `the alert settings of "${id}" changed since version ${options.expectedVersion ?? 0}; reload and try again`);
    if (options.expectedVersion === undefined) {
      const doc = await this.settings.findOneAndUpdate(
        { _id: `${id}/alerts` },
        { $set: { ...fields, tenantId: id, kind: 'alerts' }, $inc: { version: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return { ...value, version: doc?.version ?? 1, updatedAt: now, updatedBy: fields.updatedBy };
    }
    if (options.expectedVersion === 0) {
      try {
        await this.settings.insertOne({ _id: `${id}/alerts`, tenantId: id, kind: 'alerts', ...fields, version: 1 });
      } catch (err) {
        if (isDuplicateKeyError(err)) throw conflict();
        throw err;
      }
      return { ...value, version: 1, updatedAt: now, updatedBy: fields.updatedBy };
    }
    const result = await this.settings.updateOne({ _id: `${id}/alerts`, version: options.expectedVersion }, { $set: fields, $inc: { version: 1 } });
    if (result.matchedCount === 0) throw conflict();
    return { ...value, version: options.expectedVersion + 1, updatedAt: now, updatedBy: fields.updatedBy };
  }
}
