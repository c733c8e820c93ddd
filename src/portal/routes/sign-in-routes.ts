import { Router, type Request, type Response } from 'express';
import { hashPassword, needsRehash, verifyPassword, verifyPasswordForUnknownAccount } from '../../auth/password-hashing.js';
import { isCommonPassword } from '../../auth/password-policy.js';
import { ANONYMOUS_ACTOR, type AuditActor } from '../../audit/audit-entry.js';
import { maskEmailAddress } from '../../masking/mask-email-address.js';
import type { User } from '../../store/users-store.js';
import { rememberSignInPlace } from './security-notices.js';
import { flash, formField, portalContext } from '../portal-context.js';
import { SECOND_FACTOR_WINDOW_MS, type PortalServices } from '../portal-services.js';
import { checkSecondFactor, isTotpShaped, normalizeSecondFactorCode, type SecondFactorMethod } from '../second-factor-check.js';
import { safeReturnPath } from '../return-path.js';
import { regenerateSession, saveSession } from '../session-lifecycle.js';
import { providerLogoutUrl, renderSignIn, ssoSignInOption } from './sso-sign-in-page.js';

/** The one message of every failed sign-in: it never tells which part was wrong, or whether the account exists. */
export const SIGN_IN_FAILED_MESSAGE = 'Sign-in failed. Check your email address and password and try again; after repeated failures, wait a few minutes.';
const SECOND_FACTOR_FAILED_MESSAGE = 'That code did not work. Enter the current code from your authenticator app, or an unused backup code.';

/**
 * Sign-in (email and password, then the second factor when enrolled) and sign-out. Every attempt passes the login
 * throttle first; every failure is counted against its own factor and audited (a correct password never clears the
 * second factor's failures: only a complete sign-in does); the session id is replaced after the password and again
 * after the second factor (ASVS 3.2.1). An attempt with an unknown email is audited as the anonymous actor with the
 * email masked in the details, never with the typed text as the actor.
 */
export function signInRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  /** A failure that just locked the account (or its second factor) is audited as a lockout, with when it ends. */
  const auditLockout = async (req: Request, tenantId: string, actor: AuditActor, until: Date | undefined): Promise<void> => {
    await services.audit(req, tenantId, { actor, action: 'auth.lockout', outcome: 'denied', details: { until: until?.toISOString() ?? null } });
  };

  const refuse = (res: Response, email: string): Promise<void> => renderSignIn(services, res, 401, { email, error: SIGN_IN_FAILED_MESSAGE });

  router.get('/sign-in', async (_req, res) => {
    if (portalContext(res).user !== undefined) return res.redirect(303, '/');
    await renderSignIn(services, res, 200, { email: '', error: undefined });
  });

  router.post('/sign-in', async (req, res) => {
    const { tenant, security } = portalContext(res);
    const email = formField(req, 'email', 320).trim();
    const password = formField(req, 'password', 8192);
    const attempt = { tenantId: tenant.id, account: email, ip: req.ip ?? '' };
    const user = email === '' ? undefined : await controlPlane.users.findByEmail(tenant.id, email);
    const actor: AuditActor = user !== undefined ? { type: 'user', id: user.id } : ANONYMOUS_ACTOR;
    const attempted: Record<string, string> = user === undefined && email !== '' ? { email: maskEmailAddress(email) } : {};
    const decision = await services.throttle.check(attempt);
    if (!decision.allowed) {
      await services.audit(req, tenant.id, { actor, action: 'auth.login', outcome: 'denied', details: { reason: decision.reason, ...attempted } });
      return refuse(res, email);
    }
    const usable = user !== undefined && user.status === 'active' && user.passwordHash !== undefined;
    const valid = usable ? await verifyPassword(user.passwordHash as string, password) : await verifyPasswordForUnknownAccount(password);
    if (!valid || !usable) {
      const outcome = await services.throttle.recordFailure(attempt, security.passwordPolicy, 'password');
      await services.audit(req, tenant.id, {
        actor,
        action: 'auth.login',
        outcome: 'failure',
        details: { reason: user === undefined ? 'unknown-account' : 'wrong-password', ...attempted },
      });
      if (outcome.lockedNow) await auditLockout(req, tenant.id, actor, outcome.lockedUntil);
      return refuse(res, email);
    }
    if (user.role !== 'owner' && (await ssoSignInOption(services, tenant.id))?.required === true) {
      // Password sign-in is the owner's break-glass only: refused like any failure, so the answer tells nobody whose
      // address belongs to the owner.
      await services.audit(req, tenant.id, { actor, action: 'auth.login', outcome: 'denied', details: { reason: 'sso-required' } });
      return refuse(res, email);
    }
    await services.throttle.recordSuccess(attempt, user.totp === undefined ? 'sign-in' : 'password');
    if (needsRehash(user.passwordHash as string)) await controlPlane.users.rehashPassword(tenant.id, user.id, await hashPassword(password));
    const passwordCommon = isCommonPassword(password);
    if (user.totp === undefined) return completeSignIn(services, req, res, user, 'password', passwordCommon);
    const { returnTo } = req.session;
    await regenerateSession(req);
    req.session.tenantId = tenant.id;
    if (returnTo !== undefined) req.session.returnTo = returnTo;
    req.session.pendingUserId = user.id;
    req.session.pendingSince = services.now().getTime();
    req.session.pendingPasswordCommon = passwordCommon;
    await saveSession(req);
    res.redirect(303, '/sign-in/second-factor');
  });

  const pendingUser = async (req: Request, res: Response): Promise<User | undefined> => {
    const { pendingUserId, pendingSince = 0 } = req.session;
    if (pendingUserId === undefined || services.now().getTime() - pendingSince > SECOND_FACTOR_WINDOW_MS) return undefined;
    const user = await controlPlane.users.findById(portalContext(res).tenant.id, pendingUserId);
    return user?.status === 'active' && user.totp !== undefined ? user : undefined;
  };

  router.get('/sign-in/second-factor', async (req, res) => {
    if ((await pendingUser(req, res)) === undefined) {
      flash(req, 'error', 'Sign in again: the sign-in was not completed in time.');
      return res.redirect(303, '/sign-in');
    }
    res.render('second-factor', { title: 'Two-factor authentication', error: undefined });
  });

  router.post('/sign-in/second-factor', async (req, res) => {
    const { tenant, security } = portalContext(res);
    const user = await pendingUser(req, res);
    if (user === undefined || user.totp === undefined) {
      flash(req, 'error', 'Sign in again: the sign-in was not completed in time.');
      return res.redirect(303, '/sign-in');
    }
    const attempt = { tenantId: tenant.id, account: user.email, ip: req.ip ?? '' };
    const actor = { type: 'user' as const, id: user.id };
    const decision = await services.throttle.check(attempt);
    if (!decision.allowed) {
      await services.audit(req, tenant.id, { actor, action: 'auth.second-factor', outcome: 'denied', details: { reason: decision.reason } });
      await regenerateSession(req);
      req.session.tenantId = tenant.id;
      return refuse(res, '');
    }
    const code = formField(req, 'code', 64);
    const method = await checkSecondFactor(services, req, tenant.id, user, code);
    if (method === undefined) {
      const outcome = await services.throttle.recordFailure(attempt, security.passwordPolicy, 'second-factor');
      await services.audit(req, tenant.id, {
        actor,
        action: 'auth.second-factor',
        outcome: 'failure',
        details: { kind: isTotpShaped(normalizeSecondFactorCode(code)) ? 'totp' : 'backup-code' },
      });
      if (outcome.lockedNow) await auditLockout(req, tenant.id, actor, outcome.lockedUntil);
      return res.status(401).render('second-factor', { title: 'Two-factor authentication', error: SECOND_FACTOR_FAILED_MESSAGE });
    }
    await services.throttle.recordSuccess(attempt, 'sign-in');
    const sso = req.session.pendingSso;
    if (sso !== undefined) return completeSignIn(services, req, res, user, `sso+${method}`, false, sso);
    await completeSignIn(services, req, res, user, method, req.session.pendingPasswordCommon === true);
  });

  router.post('/sign-out', async (req, res) => {
    const { tenant, user } = portalContext(res);
    const { ssoIdToken } = req.session;
    if (user !== undefined) {
      await services.sessionIndex.remove(tenant.id, user.id, req.sessionID);
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: 'auth.logout',
        outcome: 'success',
      });
    }
    await regenerateSession(req);
    req.session.tenantId = tenant.id;
    const providerLogout = ssoIdToken === undefined ? undefined : await providerLogoutUrl(services, tenant.id, ssoIdToken);
    if (providerLogout === undefined) {
      flash(req, 'success', 'You have signed out.');
      await saveSession(req);
      res.redirect(303, '/sign-in');
      return;
    }
    await saveSession(req);
    // Not a redirect: a form's navigation may not leave the portal's origin (CSP form-action 'self'), so a page of the
    // portal, no longer signed in, moves on to the provider's sign-out by itself (a link too, for browsers that do not).
    delete portalContext(res).user;
    delete portalContext(res).navigation;
    const label = (await ssoSignInOption(services, tenant.id))?.label ?? 'your identity provider';
    res.render('sso-signing-out', { title: 'Signing out', providerLabel: label, refreshSeconds: 0, refreshUrl: providerLogout.href });
  });

  return router;
}

/** How a sign-in was completed (kept in the session as `signInMethod`, audited with `auth.login`). */
export type SignInMethod = 'password' | SecondFactorMethod | 'sso' | 'sso+mfa' | `sso+${SecondFactorMethod}`;

/** What an SSO sign-in keeps in the session: the ID token for the provider's logout, and who issued it. */
export interface SsoSessionFacts {
  idToken: string;
  issuer: string;
}

/**
 * Finishes a sign-in: a new session id (ASVS 3.2.1), the user and the timeout clocks in the session, the session in
 * the user's index (sessions page), an audit event, then the page the visitor asked for before signing in (a checked
 * path of this portal) or home. A password on the list of common (breached) passwords
 * (`passwordCommon`, ASVS 2.1.7) still signs in, but the session reaches only the password page until it is changed.
 */
export async function completeSignIn(
  services: PortalServices,
  req: Request,
  res: Response,
  user: User,
  method: SignInMethod,
  passwordCommon = false,
  sso?: SsoSessionFacts,
): Promise<void> {
  const { tenant } = portalContext(res);
  const now = services.now().getTime();
  const returnTo = safeReturnPath(req.session.returnTo);
  await regenerateSession(req);
  Object.assign(req.session, {
    tenantId: tenant.id,
    userId: user.id,
    signedInAt: now,
    lastSeenAt: now,
    ip: req.ip ?? '',
    userAgent: (req.get('user-agent') ?? '').slice(0, 300),
    signInMethod: method,
    ...(passwordCommon ? { passwordChangeRequired: true } : {}),
    ...(sso !== undefined ? { ssoIdToken: sso.idToken, ssoIssuer: sso.issuer } : {}),
  });
  await saveSession(req);
  await services.sessionIndex.add(tenant.id, user.id, req.sessionID, services.options.sessionAbsoluteMs);
  await services.audit(req, tenant.id, {
    actor: { type: 'user', id: user.id },
    action: 'auth.login',
    outcome: 'success',
    details: { method, ...(sso !== undefined ? { issuer: sso.issuer } : {}), ...(passwordCommon ? { passwordChangeRequired: 'common-password' } : {}) },
  });
  await rememberSignInPlace(services, req, tenant, user, new Date(now));
  if (passwordCommon) {
    flash(req, 'error', 'Your password is on a list of common passwords that attackers try first: choose a new one to continue.');
    return res.redirect(303, '/account/password');
  }
  res.redirect(303, returnTo ?? '/');
}
