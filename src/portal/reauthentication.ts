import type { Request, Response } from 'express';
import { verifyPassword } from '../auth/password-hashing.js';
import { RetentionError } from '../errors.js';
import { formField, portalContext, signedInUser } from './portal-context.js';
import type { PortalServices } from './portal-services.js';

/**
 * Re-authentication before a sensitive change (ASVS 3.7.1, 5.0 7.5.1): the signed-in user's current password from
 * the form field `currentPassword`. Goes through the login throttle like a sign-in, so the form cannot be used to
 * guess passwords; a failure is counted, audited with `action`, and refused with `ERR_REAUTH_FAILED` (403).
 *
 * @example
 * await reauthenticate(services, req, res, '2fa.disable');
 */
export async function reauthenticate(services: PortalServices, req: Request, res: Response, action: string): Promise<void> {
  const { tenant, security } = portalContext(res);
  const user = signedInUser(res);
  const attempt = { tenantId: tenant.id, account: user.email, ip: req.ip ?? '' };
  const decision = await services.throttle.check(attempt);
  const valid = decision.allowed && user.passwordHash !== undefined && (await verifyPassword(user.passwordHash, formField(req, 'currentPassword', 8192)));
  if (valid) return;
  const actor = { type: 'user' as const, id: user.id };
  if (decision.allowed) {
    const outcome = await services.throttle.recordFailure(attempt, security.passwordPolicy);
    if (outcome.lockedNow) await services.audit(req, tenant.id, { actor, action: 'auth.lockout', outcome: 'denied', details: { until: outcome.lockedUntil?.toISOString() ?? null } });
  }
  await services.audit(req, tenant.id, { actor, action, outcome: 'denied', details: { reason: decision.allowed ? 'wrong-password' : decision.reason } });
  throw new RetentionError('ERR_REAUTH_FAILED', 'Your current password was not right (or there were too many attempts: wait a few minutes). Nothing was changed.', 403);
}
