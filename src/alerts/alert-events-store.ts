import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { AlertKind } from './alert-event.js';

/** How long a recorded alert event is kept (digested or not): the TTL of `alertEvents`. */
export const ALERT_EVENT_KEEP_DAYS = 30;
const KEEP_MS = ALERT_EVENT_KEEP_DAYS * 86_400_000;

/** An alert event recorded for a tenant's daily digest. */
export interface RecordedAlertEvent {
  tenantId: string;
  /** The event's key (`run-failed:<run id>`): an event is recorded once. */
  key: string;
  kind: AlertKind;
  at: Date;
  /** The tenant's day the event belongs to (`YYYY-MM-DD` in `timeZone`): the digest it goes into. */
  day: string;
  /** The IANA time zone `day` was taken in (the tenant's schedule's). */
  timeZone: string;
  /** The digest's line for it (no time, no link). */
  summary: string;
  /** The portal page with its details, relative to the tenant's portal address. */
  path: string;
  /** When its digest was queued; null while it waits for it. */
  digestedAt: Date | null;
}

/** A tenant's day with events waiting for their digest, and the time zones they were recorded in. */
export interface PendingDigestDay {
  tenantId: string;
  day: string;
  timeZones: string[];
}

interface AlertEventDocument extends RecordedAlertEvent {
  /** `<tenant>/<key>`. */
  _id: string;
  /** When MongoDB's TTL monitor removes it ({@link ALERT_EVENT_KEEP_DAYS} after `at`). */
  expiresAt: Date;
}

const toEvent = ({ _id: _ignored, expiresAt: _expires, ...event }: AlertEventDocument): RecordedAlertEvent => event;

/**
 * The control plane's `alertEvents` collection: the events of tenants whose alerts are delivered as a daily digest,
 * each recorded once (keyed by tenant and event key), marked when its digest was queued, removed after
 * {@link ALERT_EVENT_KEEP_DAYS} days (TTL index). Reads are per tenant, except {@link listPendingDays}, which tells the
 * digest job which tenants and days to look at.
 *
 * @example
 * await events.record({ tenantId: 'acme', key: 'run-failed:r1', kind: 'run-failed', at, day: '2026-11-23', timeZone: 'UTC', summary, path });
 * await events.listForDigest('acme', '2026-11-23');
 */
export class AlertEventsStore {
  private readonly events: Collection<AlertEventDocument>;

  constructor(db: Db) {
    this.events = db.collection<AlertEventDocument>('alertEvents');
  }

  /** Indexes: the digest job's scan of waiting events, one tenant's day, and the TTL. */
  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ digestedAt: 1, day: 1 }, { name: 'digest_pending' });
    await this.events.createIndex({ tenantId: 1, day: 1, at: 1 }, { name: 'tenant_day' });
    await this.events.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires_at' });
  }

  /** Records an event for its day's digest; `duplicate` when that tenant's event key was recorded before (nothing changed). */
  async record(event: Omit<RecordedAlertEvent, 'digestedAt'>): Promise<{ duplicate: boolean }> {
    const tenantId = assertTenantId(event.tenantId);
    try {
      await this.events.insertOne({
        ...event,
        _id: `${tenantId}/${event.key}`,
        tenantId,
        digestedAt: null,
        expiresAt: new Date(event.at.getTime() + KEEP_MS),
      });
      return { duplicate: false };
    } catch (err) {
      if (isDuplicateKeyError(err)) return { duplicate: true };
      throw err;
    }
  }

  /**
   * The tenants' days that have events waiting for their digest, oldest day first (at most `limit` events looked at;
   * the rest come in a later pass). For the digest job, which decides which of them are over.
   */
  async listPendingDays(limit = 10_000): Promise<PendingDigestDay[]> {
    const docs = await this.events
      .find({ digestedAt: null }, { projection: { tenantId: 1, day: 1, timeZone: 1 } })
      .sort({ day: 1, tenantId: 1 })
      .limit(limit)
      .toArray();
    const days = new Map<string, PendingDigestDay>();
    for (const doc of docs) {
      const id = `${doc.tenantId}/${doc.day}`;
      const pending = days.get(id) ?? { tenantId: doc.tenantId, day: doc.day, timeZones: [] };
      if (!pending.timeZones.includes(doc.timeZone)) pending.timeZones.push(doc.timeZone);
      days.set(id, pending);
    }
    return [...days.values()];
  }

  /** The tenant's events of `day` still waiting for their digest, oldest first. */
  async listForDigest(tenantId: string, day: string): Promise<RecordedAlertEvent[]> {
    const docs = await this.events
      .find({ tenantId: assertTenantId(tenantId), day, digestedAt: null })
      .sort({ at: 1, _id: 1 })
      .toArray();
    return docs.map(toEvent);
  }

  /** Marks the tenant's events (by key) as digested; returns how many were still waiting. */
  async markDigested(tenantId: string, keys: readonly string[], now: Date): Promise<number> {
    if (keys.length === 0) return 0;
    const tenant = assertTenantId(tenantId);
    const result = await this.events.updateMany(
      { _id: { $in: keys.map((key) => `${tenant}/${key}`) }, tenantId: tenant, digestedAt: null },
      { $set: { digestedAt: now } },
    );
    return result.modifiedCount;
  }
}
