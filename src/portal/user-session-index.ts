import { createHash } from 'node:crypto';
import type { SessionData, Store } from 'express-session';
import type { Redis } from 'ioredis';
import { assertTenantId } from '../tenants/tenant-id.js';

/** One of a user's sessions as the sessions page shows it. */
export interface UserSessionSummary {
  /** An opaque handle for "sign out of this session": not the session id, which never leaves the cookie. */
  handle: string;
  signedInAt: Date | undefined;
  lastSeenAt: Date | undefined;
  ip: string | undefined;
  userAgent: string | undefined;
  signInMethod: string | undefined;
  current: boolean;
}

const handleOf = (sid: string): string => createHash('sha256').update(sid).digest('base64url').slice(0, 22);

const getSession = (store: Store, sid: string): Promise<SessionData | null | undefined> =>
  new Promise((resolve, reject) =>
    store.get(sid, (err: unknown, data?: SessionData | null) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(data))),
  );

const destroySession = (store: Store, sid: string): Promise<void> =>
  new Promise((resolve, reject) => store.destroy(sid, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));

/**
 * Which sessions a user has, so they can see and end them (ASVS 3.3.4) and all of them can be ended at once after a
 * password change or a 2FA reset (ASVS 3.3.3). A Redis hash per user maps an opaque handle to the session id; the
 * sessions themselves live in the session store, and entries whose session has expired are pruned when listed.
 *
 * @example
 * const index = new UserSessionIndex(redis, sessionStore, 'retention:portal:');
 * await index.add('acme', user.id, req.sessionID, absoluteMs);
 * await index.endAll('acme', user.id, { except: req.sessionID });
 */
export class UserSessionIndex {
  constructor(
    private readonly redis: Redis,
    private readonly store: Store,
    private readonly prefix: string,
  ) {}

  /** Records a new signed-in session; the index lives as long as the longest session can. */
  async add(tenantId: string, userId: string, sid: string, lifetimeMs: number): Promise<void> {
    const key = this.key(tenantId, userId);
    await this.redis.multi().hset(key, handleOf(sid), sid).pexpire(key, lifetimeMs).exec();
  }

  /** Forgets a session that ended (sign-out). */
  async remove(tenantId: string, userId: string, sid: string): Promise<void> {
    await this.redis.hdel(this.key(tenantId, userId), handleOf(sid));
  }

  /** The user's live sessions, most recently used first. */
  async list(tenantId: string, userId: string, currentSid: string | undefined): Promise<UserSessionSummary[]> {
    const key = this.key(tenantId, userId);
    const entries = await this.redis.hgetall(key);
    const sessions: UserSessionSummary[] = [];
    for (const [handle, sid] of Object.entries(entries)) {
      const data = await getSession(this.store, sid);
      if (!data || data.userId !== userId || data.tenantId !== tenantId) {
        await this.redis.hdel(key, handle);
        continue;
      }
      sessions.push({
        handle,
        signedInAt: data.signedInAt === undefined ? undefined : new Date(data.signedInAt),
        lastSeenAt: data.lastSeenAt === undefined ? undefined : new Date(data.lastSeenAt),
        ip: data.ip,
        userAgent: data.userAgent,
        signInMethod: data.signInMethod,
        current: sid === currentSid,
      });
    }
    return sessions.sort((a, b) => (b.lastSeenAt?.getTime() ?? 0) - (a.lastSeenAt?.getTime() ?? 0));
  }

  /** Ends one session by its handle; false when the handle is not one of this user's sessions. */
  async end(tenantId: string, userId: string, handle: string): Promise<boolean> {
    const key = this.key(tenantId, userId);
    const sid = typeof handle === 'string' ? await this.redis.hget(key, handle) : null;
    if (sid === null) return false;
    await destroySession(this.store, sid);
    await this.redis.hdel(key, handle);
    return true;
  }

  /** Ends every session of the user, except `except` when given. Returns how many were ended. */
  async endAll(tenantId: string, userId: string, options: { except?: string } = {}): Promise<number> {
    const key = this.key(tenantId, userId);
    let ended = 0;
    for (const [handle, sid] of Object.entries(await this.redis.hgetall(key))) {
      if (sid === options.except) continue;
      await destroySession(this.store, sid);
      await this.redis.hdel(key, handle);
      ended += 1;
    }
    return ended;
  }

  private key(tenantId: string, userId: string): string {
    return `${this.prefix}user-sessions:${assertTenantId(tenantId)}:${userId}`;
  }
}
