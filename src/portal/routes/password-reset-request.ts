import type { Request, Response } from 'express';
import type { LoginThrottleDecision } from '../../auth/login-throttle.js';
import type { PasswordResetThrottle, PasswordResetThrottleDecision } from '../../auth/password-reset-throttle.js';
import { ANONYMOUS_ACTOR } from '../../audit/audit-entry.js';
import type { MailOutbox } from '../../mail/mail-outbox.js';
import { maskEmailAddress } from '../../masking/mask-email-address.js';
import type { SecuritySettings } from '../../store/security-settings-store.js';
import type { User } from '../../store/users-store.js';
import { portalContext } from '../portal-context.js';
import { ssoSignInOption } from './sso-sign-in-page.js';
import type { PortalServices } from '../portal-services.js';
import { tenantBaseUrl } from '../tenant-host.js';
import { mailTime } from './password-mail.js';

/**
 * The subject of the token a request without a recipient issues: no user id looks like it (ids are 24 hex digits),
 * so such a token opens nothing. Each such request replaces the previous one's, so they do not pile up.
 */
export const NO_RECIPIENT_SUBJECT = 'no-recipient';

/** Why a "forgot password" request sends no mail: audited, never shown. */
export type NoResetMailReason =
  | 'address-rate-limited'
  | 'ip-rate-limited'
  | 'unknown-account'
  | 'account-invited'
  | 'account-disabled'
  | 'account-locked'
  | 'owner-reset-off'
  | 'sso-required';

/**
 * Whether a request may mail a reset link, and if not why: throttled (per address, per client), no such account, an
 * invitation not accepted yet, a deactivated or locked account, the owner while the tenant keeps the owner's reset
 * off, or anyone but the owner while the tenant requires single sign-on (their passwords sign in nobody).
 */
export function noResetMailReason(
  user: User | undefined,
  throttled: PasswordResetThrottleDecision,
  lock: LoginThrottleDecision,
  security: Pick<SecuritySettings, 'ownerPasswordResetByMail'>,
  ssoRequired = false,
): NoResetMailReason | undefined {
  if (!throttled.allowed) return throttled.reason;
  if (user === undefined) return 'unknown-account';
  if (user.status === 'invited' || user.passwordHash === undefined) return 'account-invited';
  if (user.status !== 'active') return 'account-disabled';
  if (!lock.allowed) return 'account-locked';
  if (user.role === 'owner' && !security.ownerPasswordResetByMail) return 'owner-reset-off';
  if (user.role !== 'owner' && ssoRequired) return 'sso-required';
  return undefined;
}

/** What {@link requestPasswordReset} needs besides the request. */
export interface PasswordResetRequestDeps {
  services: PortalServices;
  mail: MailOutbox;
  throttle: PasswordResetThrottle;
  /** Lifetime of a link in seconds. */
  lifetimeSeconds: number;
  /** Sends the one answer every request gets; resolves once it is written. */
  answer: () => Promise<void>;
}

/**
 * A "forgot password" request, answered alike whether or not the address has an account (ASVS 2.5.x; no
 * enumeration). Every request takes the same path, with the same store and Redis calls in the same order:
 * 1. the reset throttle logs it (per address, per client);
 * 2. the address is looked up, and its sign-in lock read;
 * 3. the earlier reset tokens of the recipient are revoked and a new one issued (argon2-free: a random token and its
 *    SHA-256). Without a recipient (unknown address, throttled, locked, deactivated, invited, an owner whose reset is
 *    off) the token is issued to {@link NO_RECIPIENT_SUBJECT}, which opens nothing, and thrown away;
 * 4. one audit entry `auth.password-reset.requested` (the masked address for an unknown one, the reason for no mail);
 * 5. the answer is sent;
 * 6. only then, and only with a recipient, the mail is queued (a failure there is logged: the answer is the same).
 */
export async function requestPasswordReset(deps: PasswordResetRequestDeps, req: Request, res: Response, email: string): Promise<void> {
  const { services, mail, throttle, lifetimeSeconds } = deps;
  const { controlPlane } = services.deps;
  const { tenant, security } = portalContext(res);
  const throttled = await throttle.hit({ tenantId: tenant.id, address: email, ip: req.ip ?? '' });
  const user = await controlPlane.users.findByEmail(tenant.id, email);
  const lock = await services.throttle.check({ tenantId: tenant.id, account: email });
  const ssoRequired = (await ssoSignInOption(services, tenant.id))?.required === true;
  const reason = noResetMailReason(user, throttled, lock, security, ssoRequired);
  const recipient = reason === undefined ? user : undefined;
  const subject = recipient?.id ?? NO_RECIPIENT_SUBJECT;
  await controlPlane.activationTokens.revokeForSubject(tenant.id, 'password-reset', subject);
  const { token, record } = await controlPlane.activationTokens.issue(
    tenant.id,
    { purpose: 'password-reset', subject, createdBy: 'forgot-password', expiresInSeconds: lifetimeSeconds },
    services.now(),
  );
  await services.audit(req, tenant.id, {
    actor: user === undefined ? ANONYMOUS_ACTOR : { type: 'user', id: user.id },
    action: 'auth.password-reset.requested',
    outcome: reason === undefined ? 'success' : 'denied',
    details:
      reason === undefined
        ? { expiresAt: record.expiresAt.toISOString() }
        : { reason, ...(user === undefined && email !== '' ? { email: maskEmailAddress(email) } : {}) },
  });
  await deps.answer();
  if (recipient === undefined) return;
  try {
    await mail.enqueue({
      tenantId: tenant.id,
      to: recipient.email,
      template: 'password-reset',
      data: {
        displayName: recipient.displayName,
        link: `${tenantBaseUrl(tenant.id, services.options)}/reset-password?token=${token}`,
        expiresAt: mailTime(record.expiresAt),
        lifetimeMinutes: Math.round(lifetimeSeconds / 60),
        requestIp: req.ip ?? 'unknown',
      },
      dedupeKey: `password-reset:${record.id}`,
    });
  } catch (err) {
    services.deps.logger.error({ err, tenantId: tenant.id, userId: recipient.id }, 'could not queue the password reset mail');
  }
}
