import type { Request } from 'express';
import type { Tenant } from '../../store/tenants-store.js';
import type { User } from '../../store/users-store.js';
import type { PortalServices } from '../portal-services.js';

/** How a password came to change, as the notice tells it. */
export type PasswordChangeWay = 'reset' | 'account';

/** A UTC time as the mails show it: `2026-11-23 18:14 UTC`. */
export function mailTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Queues the "your password was changed" notice (ASVS 2.5.5) to the user's address, after a reset by mail or a change
 * on the account page: when, from which address, and what to do if it was not them. Does nothing without mail. The
 * change has happened by then, so a notice that cannot be queued is logged, never thrown.
 *
 * @example
 * await queuePasswordChangedNotice(services, req, tenant, user, 'account', services.now());
 */
export async function queuePasswordChangedNotice(
  services: PortalServices,
  req: Request,
  tenant: Tenant,
  user: User,
  way: PasswordChangeWay,
  changedAt: Date,
): Promise<void> {
  if (services.mail === undefined) return;
  try {
    await services.mail.enqueue({
      tenantId: tenant.id,
      to: user.email,
      template: 'password-changed',
      data: {
        displayName: user.displayName,
        changedAt: mailTime(changedAt),
        way,
        requestIp: req.ip ?? 'unknown',
      },
      dedupeKey: `password-changed:${user.id}:${changedAt.getTime()}`,
    });
  } catch (err) {
    services.deps.logger.error({ err, tenantId: tenant.id, userId: user.id }, 'could not queue the password-changed notice');
  }
}
