import type { Request, Response } from 'express';
import type { LoginAttempt, SignInFactor } from '../auth/login-throttle.js';
import { verifyPassword } from '../auth/password-hashing.js';
import { RetentionError } from '../errors.js';
import { formField, portalContext, signedInUser } from './portal-context.js';
import type { PortalServices } from './portal-services.js';
import { checkSecondFactor } from './second-factor-check.js';
import { saveSession } from './session-lifecycle.js';

/**
 * How long a confirmation of identity (or a sign-in) lets a user change security settings: five minutes
 * (ASVS 3.7.1; "sudo mode").
 */
export const REAUTHENTICATION_WINDOW_MS = 5 * 60_000;

/**
 * Counts a failed factor of the signed-in user against the lockout (its own count per factor) and audits a lockout
 * it causes.
 */
async function countFailure(services: PortalServices, req: Request, res: Response, attempt: LoginAttempt, factor: SignInFactor): Promise<void> {
  const { tenant, security } = portalContext(res);
  const outcome = await services.throttle.recordFailure(attempt, security.passwordPolicy, factor);
  if (outcome.lockedNow) {
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'auth.lockout',
      outcome: 'denied',
      details: { until: outcome.lockedUntil?.toISOString() ?? null },
    });
  }
}

/**
 * Re-authentication before a sensitive change (ASVS 3.7.1, 5.0 7.5.1): the signed-in user's current password from
 * the form field `currentPassword`. Goes through the login throttle like a sign-in, so the form cannot be used to
 * guess passwords; a failure is counted, audited with `action`, and refused with `ERR_REAUTH_FAILED` (403).
 *
 * @example
 * await reauthenticate(services, req, res, '2fa.disable');
 */
export async function reauthenticate(services: PortalServices, req: Request, res: Response, action: string): Promise<void> {
  const { tenant } = portalContext(res);
  const user = signedInUser(res);
  if (user.passwordHash === undefined) return requireProviderConfirmation(services, req, res, action);
  const attempt = { tenantId: tenant.id, account: user.email, ip: req.ip ?? '' };
  const decision = await services.throttle.check(attempt);
  const valid = decision.allowed && user.passwordHash !== undefined && (await verifyPassword(user.passwordHash, formField(req, 'currentPassword', 8192)));
  if (valid) return;
  if (decision.allowed) await countFailure(services, req, res, attempt, 'password');
  await services.audit(req, tenant.id, {
    actor: { type: 'user', id: user.id },
    action,
    outcome: 'denied',
    details: { reason: decision.allowed ? 'wrong-password' : decision.reason },
  });
  throw new RetentionError(
    'ERR_REAUTH_FAILED',
    'Your current password was not right (or there were too many attempts: wait a few minutes). Nothing was changed.',
  );
}

/**
 * Confirms the signed-in user's identity for the next {@link REAUTHENTICATION_WINDOW_MS}: the current password
 * (`currentPassword`) and, when the user has a second factor, a current code (`code`: TOTP or an unused backup
 * code). Each factor's failure is counted on its own, as at sign-in; success is audited as `auth.reauthenticated`
 * and noted in the session. Throws `ERR_REAUTH_FAILED` (403), audited, saying nothing about which factor failed.
 *
 * @example
 * await confirmIdentity(services, req, res); // then the security settings may change for five minutes
 */
export async function confirmIdentity(services: PortalServices, req: Request, res: Response): Promise<void> {
  const { tenant } = portalContext(res);
  const user = signedInUser(res);
  const actor = { type: 'user' as const, id: user.id };
  const attempt = { tenantId: tenant.id, account: user.email, ip: req.ip ?? '' };
  if (user.passwordHash === undefined) return requireProviderConfirmation(services, req, res, 'auth.reauthenticated');
  const refuse = async (reason: string): Promise<never> => {
    await services.audit(req, tenant.id, { actor, action: 'auth.reauthenticated', outcome: 'denied', details: { reason } });
    throw new RetentionError(
      'ERR_REAUTH_FAILED',
      `That did not confirm your identity: enter your current password${user.totp !== undefined ? ' and a current code from your authenticator app (or an unused backup code)' : ''}. After repeated failures, wait a few minutes.`,
    );
  };
  const decision = await services.throttle.check(attempt);
  if (!decision.allowed) return refuse(decision.reason);
  const passwordOk = user.passwordHash !== undefined && (await verifyPassword(user.passwordHash, formField(req, 'currentPassword', 8192)));
  if (!passwordOk) {
    await countFailure(services, req, res, attempt, 'password');
    return refuse('wrong-password');
  }
  await services.throttle.recordSuccess(attempt, 'password');
  let method = 'password';
  if (user.totp !== undefined) {
    const second = await checkSecondFactor(services, req, tenant.id, user, formField(req, 'code', 64));
    if (second === undefined) {
      await countFailure(services, req, res, attempt, 'second-factor');
      return refuse('wrong-second-factor');
    }
    await services.throttle.recordSuccess(attempt, 'sign-in');
    method = `password+${second}`;
  }
  req.session.reauthenticatedAt = services.now().getTime();
  await saveSession(req);
  await services.audit(req, tenant.id, { actor, action: 'auth.reauthenticated', outcome: 'success', details: { method } });
}

/** Passes within the fresh-authentication window; otherwise audits `action` denied with `reason` and throws. */
async function requireWithinWindow(
  services: PortalServices,
  req: Request,
  res: Response,
  action: string,
  refusal: { reason: string; code: 'ERR_REAUTH_FAILED' | 'ERR_REAUTH_REQUIRED'; message: string },
): Promise<void> {
  if (freshAuthenticationUntil(services, req) !== undefined) return;
  await services.audit(req, portalContext(res).tenant.id, {
    actor: { type: 'user', id: signedInUser(res).id },
    action,
    outcome: 'denied',
    details: { reason: refusal.reason },
  });
  throw new RetentionError(refusal.code, refusal.message);
}

/**
 * For a user without a password (who signs in through the tenant's identity provider only): passes within
 * {@link REAUTHENTICATION_WINDOW_MS} of the sign-in or of a confirmation at the provider
 * (`/account/sso/reauthenticate`); otherwise audited as `action` denied and refused with `ERR_REAUTH_FAILED`, whose
 * message says where to confirm.
 */
function requireProviderConfirmation(services: PortalServices, req: Request, res: Response, action: string): Promise<void> {
  return requireWithinWindow(services, req, res, action, {
    reason: 'provider-confirmation-required',
    code: 'ERR_REAUTH_FAILED',
    message:
      'You sign in through your identity provider: confirm your identity there first (Account → Confirm with your identity provider), then try again within five minutes. Nothing was changed.',
  });
}

/** When the signed-in user's fresh authentication ends (ms), or undefined when it has ended already. */
export function freshAuthenticationUntil(services: PortalServices, req: Request): number | undefined {
  const at = Math.max(req.session.reauthenticatedAt ?? 0, req.session.signedInAt ?? 0);
  const until = at + REAUTHENTICATION_WINDOW_MS;
  return until > services.now().getTime() ? until : undefined;
}

/**
 * Passes when the user signed in or confirmed their identity within {@link REAUTHENTICATION_WINDOW_MS}; otherwise
 * asks for the current password ({@link reauthenticate}, `ERR_REAUTH_FAILED`). For actions a stolen session must not
 * take on its own, such as ending the user's other sessions (ASVS 3.3.4).
 *
 * @example
 * await requireRecentAuthenticationOrPassword(services, req, res, 'session.revoke');
 */
export async function requireRecentAuthenticationOrPassword(services: PortalServices, req: Request, res: Response, action: string): Promise<void> {
  if (freshAuthenticationUntil(services, req) !== undefined) return;
  await reauthenticate(services, req, res, action);
}

/**
 * Refuses a sensitive change unless the user signed in or confirmed their identity within the last
 * {@link REAUTHENTICATION_WINDOW_MS} (ASVS 3.7.1): `ERR_REAUTH_REQUIRED` (403), audited as `action` denied.
 *
 * @example
 * await requireFreshAuthentication(services, req, res, 'allowlist.change');
 */
export function requireFreshAuthentication(services: PortalServices, req: Request, res: Response, action: string): Promise<void> {
  return requireWithinWindow(services, req, res, action, {
    reason: 'reauthentication-required',
    code: 'ERR_REAUTH_REQUIRED',
    message:
      'Confirm your identity first (password, and a code if you use two-factor authentication): security settings change only within five minutes of a confirmation. Nothing was changed.',
  });
}
