import type { Response } from 'express';
import { principalOf } from '../../access/principal.js';
import { routeAllowed } from '../../access/route-permissions.js';
import { TIME_ZONES } from '../../time/time-zones.js';
import { portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { pendingEmailConfirmation } from './email-confirmation-mail.js';
import { mailTime } from './password-mail.js';
import { ssoSignInOption } from './sso-sign-in-page.js';

/** What the email form of the account page shows again after a refused change. */
export interface AccountEmailValues {
  newEmail: string;
}

/**
 * Renders the account page of the signed-in user: email address (confirmed or not, a change waiting for its link),
 * the identity at the tenant's provider linked to the account (single sign-on), second factor (which the owner cannot
 * turn off while single sign-on is required: it is the break-glass sign-in), time zone, password and sessions; with `problems` (and a 4xx `status`) after a refused form.
 *
 * @example
 * await renderAccountPage(services, res);
 */
export async function renderAccountPage(
  services: PortalServices,
  res: Response,
  { status = 200, problems = [], values = { newEmail: '' } }: { status?: number; problems?: string[]; values?: AccountEmailValues } = {},
): Promise<void> {
  const { tenant, security } = portalContext(res);
  const user = signedInUser(res);
  const pending = await pendingEmailConfirmation(services, tenant.id, user);
  const identity = await services.deps.controlPlane.ssoIdentities.forUser(tenant.id, user.id);
  const sso = await ssoSignInOption(services, tenant.id);
  res.status(status).render('account', {
    title: 'Your account',
    timeZone: {
      shown: user.timeZone ?? tenant.timeZone,
      mine: user.timeZone,
      organisation: tenant.timeZone,
      choices: TIME_ZONES,
      canSetOrganisation: routeAllowed(principalOf(user), 'settings.time-zone.update'),
    },
    email: {
      address: user.email,
      confirmedAt: user.emailVerifiedAt === undefined ? undefined : mailTime(user.emailVerifiedAt),
      pending: pending === undefined ? undefined : { address: pending.email, change: pending.email !== user.email, expiresAt: mailTime(pending.expiresAt) },
      mailConfigured: services.mail !== undefined,
    },
    problems,
    values,
    twoFactor:
      user.totp === undefined ? undefined : { enabledAt: user.totp.enabledAt.toISOString().slice(0, 10), backupCodesLeft: user.backupCodeHashes.length },
    enforced: security.requireTwoFactor,
    breakGlass: user.role === 'owner' && sso?.required === true,
    ssoConfirm: sso !== undefined && identity !== undefined && identity.issuer === sso.settings.issuer,
    ssoIdentity:
      identity === undefined
        ? undefined
        : {
            provider: sso !== undefined && sso.settings.issuer === identity.issuer ? sso.label : identity.issuer,
            issuer: identity.issuer,
            linkedEmail: identity.linkedEmail,
            linkedAt: mailTime(identity.linkedAt),
            lastSignInAt: identity.lastSignInAt === undefined ? undefined : mailTime(identity.lastSignInAt),
          },
  });
}
