import type { NextFunction, Request, Response } from 'express';
import { principalOf, type Principal } from '../access/principal.js';
import { authorizeRoute, type RouteId } from '../access/route-permissions.js';
import { isPasswordExpired } from '../auth/password-policy.js';
import { RetentionError } from '../errors.js';
import { portalContext } from './portal-context.js';
import { safeReturnPath } from './return-path.js';
import { saveSession } from './session-lifecycle.js';

/** Paths a user held at 2FA enrolment or at a password change may still use. */
const ENROLMENT_PATHS = new Set(['/account/two-factor/setup', '/sign-out']);
const PASSWORD_CHANGE_PATHS = new Set(['/account/password', '/sign-out']);

/**
 * Only signed-in users pass; others are refused (anything but GET) or sent to sign in (GET, ASVS 4.1.1), and the page
 * they asked for is kept in the session (a path of this portal only, {@link safeReturnPath}) to go on to after it.
 */
export async function requireUser(req: Request, res: Response, next: NextFunction): Promise<void> {
  if (portalContext(res).user !== undefined) return next();
  if (req.method !== 'GET') throw new RetentionError('ERR_NOT_SIGNED_IN', 'Sign in first.');
  // Only a page the user navigated to is returned to, never a resource the browser fetched on its own (a favicon).
  const dest = req.get('sec-fetch-dest');
  const returnTo = dest === undefined || dest === 'document' ? safeReturnPath(req.originalUrl) : undefined;
  if (returnTo !== undefined) {
    req.session.returnTo = returnTo;
    await saveSession(req);
  }
  res.redirect(303, '/sign-in');
}

/**
 * Tenant-wide 2FA enforcement and opt-in password expiry: a user without TOTP in a tenant that requires it is taken
 * to enrolment and reaches nothing else (ASVS 4.3.1); a user whose password expired, or who signed in with a common
 * (breached) password (ASVS 2.1.7), reaches only the password page. A session signed in through the tenant's
 * identity provider with its MFA accepted as the second factor (`sso+mfa`) meets the 2FA requirement; a session signed
 * in through the provider at all used no password, so password expiry does not stop it.
 */
export function requireCompliantAccount(now: () => Date) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const { user, security } = portalContext(res);
    if (user === undefined) return next();
    const method = req.session.signInMethod ?? '';
    if (security.requireTwoFactor && user.totp === undefined && method !== 'sso+mfa' && !ENROLMENT_PATHS.has(req.path)) {
      if (req.method === 'GET') return res.redirect(303, '/account/two-factor/setup');
      throw new RetentionError('ERR_TWO_FACTOR_REQUIRED', 'Your organisation requires two-factor authentication: set it up first.');
    }
    const changedAt = user.passwordChangedAt ?? user.createdAt;
    const passwordUsed = !method.startsWith('sso') && user.passwordHash !== undefined;
    if (passwordUsed && isPasswordExpired(security.passwordPolicy, changedAt, now()) && !PASSWORD_CHANGE_PATHS.has(req.path)) {
      if (req.method === 'GET') return res.redirect(303, '/account/password');
      throw new RetentionError('ERR_PASSWORD_EXPIRED', 'Your password has expired: choose a new one first.');
    }
    if (req.session.passwordChangeRequired === true && !PASSWORD_CHANGE_PATHS.has(req.path)) {
      if (req.method === 'GET') return res.redirect(303, '/account/password');
      throw new RetentionError('ERR_PASSWORD_CHANGE_REQUIRED', 'Your password is on a list of common passwords: choose a new one first.');
    }
    next();
  };
}

/**
 * The signed-in user's principal once route `id` of `ROUTE_PERMISSIONS` allows it (`routeDecision`, the one rule for
 * capabilities and data scopes, ASVS 4.1.3, 8.2.1): `ERR_NOT_SIGNED_IN` (401), `ERR_FORBIDDEN` (403) or
 * `ERR_NOT_FOUND` (404) otherwise, as the table says. A principal of another tenant than the host's finds nothing
 * (404). The portal's signed-in routes call it, directly or through {@link requireRoute}.
 *
 * @example
 * router.get('/jobs/:runId', async (req, res) => {
 *   const principal = authorizedPrincipal(res, 'jobs.detail');
 * });
 */
export function authorizedPrincipal(res: Response, id: RouteId): Principal {
  const { user, tenant } = portalContext(res);
  const principal = user === undefined ? undefined : principalOf(user);
  authorizeRoute(principal, id);
  if (principal === undefined || principal.tenantId !== tenant.id) throw new RetentionError('ERR_NOT_FOUND', 'There is no page at this address.');
  return principal;
}

/**
 * {@link authorizedPrincipal} as middleware, for a route whose handler needs no principal of its own.
 *
 * @example
 * router.get('/audit', requireRoute('audit.list'), async (req, res) => { ... });
 */
export function requireRoute(id: RouteId) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    authorizedPrincipal(res, id);
    next();
  };
}
