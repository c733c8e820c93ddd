import type { Request } from 'express';
import { RetentionError } from '../../errors.js';
import type { Tenant } from '../../store/tenants-store.js';
import type { User } from '../../store/users-store.js';
import type { PortalServices } from '../portal-services.js';
import { tenantBaseUrl } from '../tenant-host.js';
import { mailTime } from './password-mail.js';

/** How long a confirmation link works: 24 hours. */
export const EMAIL_CONFIRMATION_LIFETIME_SECONDS = 24 * 3600;

/** A new confirmation link for the same user and address is refused this soon after the last one (ms). */
export const EMAIL_CONFIRMATION_INTERVAL_MS = 60_000;

/** A confirmation link that is waiting to be followed, as the account page shows it. */
export interface PendingEmailConfirmation {
  email: string;
  createdAt: Date;
  expiresAt: Date;
}

/** The user's unused confirmation link, if any (at most one: each new one revokes the earlier ones). */
export async function pendingEmailConfirmation(services: PortalServices, tenantId: string, user: User): Promise<PendingEmailConfirmation | undefined> {
  const pending = await services.deps.controlPlane.activationTokens.listPending(tenantId, 'email-verification', services.now());
  const mine = pending.find((record) => record.subject === user.id && record.email !== undefined);
  return mine?.email === undefined ? undefined : { email: mine.email, createdAt: mine.createdAt, expiresAt: mine.expiresAt };
}

/**
 * Mails a link that confirms `address` for `user`: their current, unconfirmed address, or the new one they asked
 * for (which becomes theirs only when the link is followed). Earlier unused links of the user stop working. Refuses
 * (`ERR_MAIL_NOT_CONFIGURED`) without mail, since nobody could follow the link, and (`ERR_USER_EMAIL_TOO_SOON`) a second link to the same address within a minute
 * (another address may be asked for at once, so a typo is corrected).
 *
 * @example
 * await sendEmailConfirmation(services, req, tenant, user, 'jo.new@acme.example');
 */
export async function sendEmailConfirmation(
  services: PortalServices,
  req: Request,
  tenant: Tenant,
  user: User,
  address: string,
): Promise<PendingEmailConfirmation> {
  const { controlPlane } = services.deps;
  if (services.mail === undefined) {
    throw new RetentionError(
      'ERR_MAIL_NOT_CONFIGURED',
      'This installation sends no mail, so an email address cannot be confirmed. Ask the Retention operator to set SMTP_URL.',
    );
  }
  const earlier = await pendingEmailConfirmation(services, tenant.id, user);
  if (
    earlier !== undefined &&
    earlier.email === address.toLowerCase() &&
    services.now().getTime() - earlier.createdAt.getTime() < EMAIL_CONFIRMATION_INTERVAL_MS
  ) {
    throw new RetentionError(
      'ERR_USER_EMAIL_TOO_SOON',
      `A confirmation link was sent to ${earlier.email} less than a minute ago. Wait a minute before asking again.`,
    );
  }
  await controlPlane.activationTokens.revokeForSubject(tenant.id, 'email-verification', user.id);
  const { token, record } = await controlPlane.activationTokens.issue(
    tenant.id,
    { purpose: 'email-verification', subject: user.id, email: address, createdBy: user.id, expiresInSeconds: EMAIL_CONFIRMATION_LIFETIME_SECONDS },
    services.now(),
  );
  await services.mail.enqueue({
    tenantId: tenant.id,
    to: record.email ?? address,
    template: 'email-verification',
    data: {
      displayName: user.displayName,
      link: `${tenantBaseUrl(tenant.id, services.options)}/confirm-email?token=${token}`,
      expiresAt: mailTime(record.expiresAt),
    },
    dedupeKey: `email-verification:${record.id}`,
  });
  await services.audit(req, tenant.id, {
    actor: { type: 'user', id: user.id },
    action: 'user.email-confirmation.sent',
    outcome: 'success',
    target: user.email,
    details: { address: record.email ?? address, change: record.email !== user.email, expiresAt: record.expiresAt.toISOString() },
  });
  return { email: record.email ?? address, createdAt: record.createdAt, expiresAt: record.expiresAt };
}
