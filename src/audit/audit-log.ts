import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import { isDuplicateKeyError } from '../store/duplicate-key.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { GENESIS_HASH, hashAuditEntry, type AuditEntry, type AuditEvent } from './audit-entry.js';

interface AuditDocument extends AuditEntry {
  _id: string;
}

/** Narrowing of {@link AuditLog.list}. */
export interface AuditListOptions {
  /** Most entries returned (1 to 10,000). Default 50. */
  limit?: number;
  action?: string;
  /** The actor's id (a user id, `cli`, `worker`). */
  actorId?: string;
  /** Entries at or after this instant. */
  from?: Date;
  /** Entries before this instant. */
  to?: Date;
}

/** Result of walking a tenant's audit chain. */
export interface AuditChainState {
  entries: number;
  intact: boolean;
  /** The first entry whose link or hash does not hold. */
  brokenAt?: number;
}

const MAX_APPEND_ATTEMPTS = 20;
const MAX_TEXT = 2000;
/** Longest pause between two attempts after losing a race to another process (jittered, growing with attempts). */
const MAX_RETRY_PAUSE_MS = 50;

/** Strips control characters (no log injection) and bounds the length. */
const clean = (value: string | undefined): string | undefined =>
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  value === undefined ? undefined : value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_TEXT);

/** The last entry of a tenant's chain, as far as this process knows. */
interface ChainHead {
  seq: number;
  hash: string;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The `audit` collection: append-only, one hash chain per tenant. Appends from any number of processes are
 * serialized by a unique `(tenantId, seq)` index: a writer that loses the race re-reads the head and tries again,
 * after a short jittered pause. Within one process, appends to one tenant's chain queue up behind each other and
 * link to the head this process wrote last, so concurrent page views of one tenant never race each other and cost one
 * insert each; the head is read again only when another process appended meanwhile.
 */
export class AuditLog {
  private readonly audit: Collection<AuditDocument>;
  /** Per tenant: the last append queued in this process (each append waits for the one before it). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Per tenant: the head of the chain as this process last wrote or read it (may be stale: then the insert fails). */
  private readonly heads = new Map<string, ChainHead>();

  constructor(db: Db) {
    this.audit = db.collection<AuditDocument>('audit');
  }

  async ensureIndexes(): Promise<void> {
    await this.audit.createIndex({ tenantId: 1, seq: 1 }, { unique: true, name: 'tenant_seq' });
    await this.audit.createIndex({ tenantId: 1, at: -1 }, { name: 'tenant_at' });
    await this.audit.createIndex({ tenantId: 1, 'actor.id': 1, seq: -1 }, { name: 'tenant_actor_seq' });
    await this.audit.createIndex({ tenantId: 1, action: 1, seq: -1 }, { name: 'tenant_action_seq' });
  }

  /**
   * Appends an event to the tenant's chain and returns the stored entry. `ERR_AUDIT_CONTENDED` (503) only when other
   * processes kept winning the race {@link MAX_APPEND_ATTEMPTS} times in a row.
   */
  async append(tenantId: string, event: AuditEvent, now = new Date()): Promise<AuditEntry> {
    const id = assertTenantId(tenantId);
    const before = this.queues.get(id) ?? Promise.resolve();
    const appended = before.then(() => this.appendInTurn(id, event, now));
    const settled = appended.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return appended;
  }

  private async appendInTurn(id: string, event: AuditEvent, now: Date): Promise<AuditEntry> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt += 1) {
      const last = this.heads.get(id) ?? (await this.readHead(id));
      const base: Omit<AuditEntry, 'hash'> = {
        tenantId: id,
        seq: (last?.seq ?? 0) + 1,
        at: now,
        actor: { type: event.actor.type, id: clean(event.actor.id) ?? '' },
        action: clean(event.action) ?? '',
        outcome: event.outcome,
        ...(event.target !== undefined ? { target: clean(event.target) } : {}),
        ...(event.ip !== undefined ? { ip: clean(event.ip) } : {}),
        ...(event.userAgent !== undefined ? { userAgent: clean(event.userAgent) } : {}),
        ...(event.details !== undefined ? { details: cleanDetails(event.details) } : {}),
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...base, hash: hashAuditEntry(base) };
      try {
        await this.audit.insertOne({ _id: `${id}:${entry.seq}`, ...entry });
        this.heads.set(id, { seq: entry.seq, hash: entry.hash });
        return entry;
      } catch (err) {
        this.heads.delete(id);
        if (!isDuplicateKeyError(err)) throw err;
        if (attempt > 0) await pause(Math.random() * Math.min(MAX_RETRY_PAUSE_MS, 5 * attempt));
      }
    }
    throw new RetentionError('ERR_AUDIT_CONTENDED', `could not append to the audit log of "${id}" after ${MAX_APPEND_ATTEMPTS} attempts; retry`);
  }

  private async readHead(id: string): Promise<ChainHead | undefined> {
    const last = await this.audit
      .find({ tenantId: id }, { projection: { seq: 1, hash: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .next();
    return last === null ? undefined : { seq: last.seq, hash: last.hash };
  }

  /**
   * Entries newest first, optionally narrowed to one action, one actor and a time range `[from, to)`.
   * Filter values are used only as typed values in equality and range conditions, never as query structure.
   */
  async list(tenantId: string, options: AuditListOptions = {}): Promise<AuditEntry[]> {
    const filter: Record<string, unknown> = { tenantId: assertTenantId(tenantId) };
    if (options.action !== undefined) filter.action = String(options.action);
    if (options.actorId !== undefined) filter['actor.id'] = String(options.actorId);
    const at: Record<string, Date> = {};
    if (options.from instanceof Date && !Number.isNaN(options.from.getTime())) at.$gte = options.from;
    if (options.to instanceof Date && !Number.isNaN(options.to.getTime())) at.$lt = options.to;
    if (Object.keys(at).length > 0) filter.at = at;
    const docs = await this.audit
      .find(filter)
      .sort({ seq: -1 })
      .limit(Math.min(Math.max(options.limit ?? 50, 1), 10_000))
      .toArray();
    return docs.map(({ _id: _ignored, ...entry }) => entry);
  }

  /** Recomputes every hash of the tenant's chain in order. */
  async verifyChain(tenantId: string): Promise<AuditChainState> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    const cursor = this.audit.find({ tenantId: assertTenantId(tenantId) }).sort({ seq: 1 });
    for await (const { _id: _ignored, hash, ...rest } of cursor) {
      if (rest.seq !== expectedSeq || rest.prevHash !== prevHash || hashAuditEntry(rest) !== hash) {
        return { entries: expectedSeq - 1, intact: false, brokenAt: expectedSeq };
      }
      prevHash = hash;
      expectedSeq += 1;
    }
    return { entries: expectedSeq - 1, intact: true };
  }
}

function cleanDetails(details: NonNullable<AuditEvent['details']>): NonNullable<AuditEvent['details']> {
  const out: NonNullable<AuditEvent['details']> = {};
  for (const [key, value] of Object.entries(details).slice(0, 50)) {
    out[clean(key)?.replace(/[.$]/g, '_') ?? ''] = typeof value === 'string' ? (clean(value) ?? '') : value;
  }
  return out;
}
