import { createHash } from 'node:crypto';

/**
 * Who did something: always a real principal, never text a visitor typed. `user`: a portal user's id; `system`: a
 * worker component; `cli`: the operator's command line; `anonymous` (id `anonymous`): a visitor who is nobody yet,
 * such as a sign-in with an unknown email (the attempted email goes, masked, into the details).
 */
export interface AuditActor {
  type: 'user' | 'system' | 'cli' | 'anonymous';
  id: string;
}

/** The actor of everything a visitor does before they are a known user. */
export const ANONYMOUS_ACTOR: Readonly<AuditActor> = Object.freeze({ type: 'anonymous', id: 'anonymous' });

/** What an audit writer is given. */
export interface AuditEvent {
  actor: AuditActor;
  /** Dotted verb, e.g. `run.finished`, `auth.login`, `record.viewed`. */
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  target?: string;
  ip?: string;
  userAgent?: string;
  details?: Record<string, string | number | boolean | null>;
}

/** A stored audit entry: the event, its place in the tenant's chain and the chain hashes. */
export interface AuditEntry extends AuditEvent {
  tenantId: string;
  seq: number;
  at: Date;
  prevHash: string;
  hash: string;
}

/** The hash of "nothing before": the `prevHash` of a tenant's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 over the previous hash and a canonical serialization of the entry (fixed key order, UTC time),
 * so any edit, insertion or removal breaks every later link.
 */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const canonical = JSON.stringify([
    entry.tenantId,
    entry.seq,
    entry.at.toISOString(),
    entry.actor.type,
    entry.actor.id,
    entry.action,
    entry.outcome,
    entry.target ?? null,
    entry.ip ?? null,
    entry.userAgent ?? null,
    entry.details
      ? Object.keys(entry.details)
          .sort()
          .map((key) => [key, entry.details?.[key] ?? null])
      : null,
    entry.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
