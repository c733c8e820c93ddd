import type { Request } from 'express';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { AuditEvent } from '../audit/audit-entry.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import { NetworkPolicy } from '../network/network-policy.js';
import { SsoRelyingParty } from '../sso/sso-relying-party.js';
import type { PortalDeps, PortalOptions } from './portal-deps.js';
import { auditClient } from './portal-context.js';
import { UserSessionIndex } from './user-session-index.js';

/** How long a password-verified sign-in waits for its second factor. */
export const SECOND_FACTOR_WINDOW_MS = 5 * 60_000;

/** Everything the routes share, built once per app from {@link PortalDeps}. */
export interface PortalServices {
  deps: PortalDeps;
  options: Required<Pick<PortalOptions, 'redisPrefix' | 'version'>> & PortalOptions;
  now: () => Date;
  throttle: LoginThrottle;
  sessionStore: RedisStore;
  sessionIndex: UserSessionIndex;
  /** Outgoing mail; undefined when no mail is configured (`SMTP_URL` unset): the portal then mails nothing. */
  mail: MailOutbox | undefined;
  /** The OpenID Connect relying party of the tenants' single sign-on (its requests pass the destination policy). */
  sso: SsoRelyingParty;
  /** Appends an audit event for the tenant with the request's address and user agent; an event that cannot be written fails the request (logged, then thrown). */
  audit(req: Request, tenantId: string, event: Omit<AuditEvent, 'ip' | 'userAgent'>): Promise<void>;
}

/** The sealing context of a user's TOTP secret: a secret copied to another user or tenant does not open. */
export function totpSecretContext(tenantId: string, userId: string): string {
  return `tenant:${tenantId}/user:${userId}/totp`;
}

/**
 * Builds the shared services. Sessions live in Redis through connect-redis **v8**: v8 is the last major that works
 * with ioredis (v9 and later support only the `redis` client, and the rest of Retention, BullMQ included, uses
 * ioredis); v8 exports `{ RedisStore }` only.
 */
export function createPortalServices(deps: PortalDeps): PortalServices {
  const options = { redisPrefix: 'retention:portal:', version: '0.0.0', ...deps.options };
  const now = deps.now ?? (() => new Date());
  const ttlSeconds = (session: SessionData): number => {
    const current = now().getTime();
    const idleEnd = (session.lastSeenAt ?? current) + options.sessionIdleMs;
    const end = session.signedInAt === undefined ? idleEnd : Math.min(idleEnd, session.signedInAt + options.sessionAbsoluteMs);
    return Math.max(1, Math.ceil((end - current) / 1000));
  };
  // No touch: a session's expiry follows its recorded last use (ttlSeconds), which changes only when the session is
  // saved, so an EXPIRE on every unchanged request would set the same end again, one Redis round trip each time.
  const sessionStore = new RedisStore({ client: deps.redis, prefix: `${options.redisPrefix}sess:`, ttl: ttlSeconds, disableTouch: true });
  return {
    deps,
    options,
    now,
    throttle: new LoginThrottle(deps.redis, { ...deps.throttle, prefix: `${options.redisPrefix}login:`, now: () => now().getTime() }),
    sessionStore,
    sessionIndex: new UserSessionIndex(deps.redis, sessionStore, options.redisPrefix),
    mail: deps.mail,
    sso: new SsoRelyingParty({
      keyring: deps.keyring,
      network: deps.destinations?.network ?? new NetworkPolicy(),
      now,
      ...(deps.sso?.execute !== undefined ? { execute: deps.sso.execute } : {}),
      ...(deps.sso?.clientMetadata !== undefined ? { clientMetadata: deps.sso.clientMetadata } : {}),
      ...(deps.sso?.discoveryTtlMs !== undefined ? { discoveryTtlMs: deps.sso.discoveryTtlMs } : {}),
      ...(deps.sso?.timeoutSeconds !== undefined ? { timeoutSeconds: deps.sso.timeoutSeconds } : {}),
    }),
    async audit(req, tenantId, event) {
      try {
        await deps.controlPlane.audit.append(tenantId, { ...event, ...auditClient(req) }, now());
      } catch (err) {
        deps.logger.error({ err, tenantId, action: event.action }, 'could not write an audit event');
        throw err;
      }
    },
  };
}
