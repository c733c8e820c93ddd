import type { Request } from 'express';
import { KNOWN_SIGN_IN_PLACES, signInPlace } from '../../auth/sign-in-places.js';
import { RetentionError } from '../../errors.js';
import type { OutgoingMail } from '../../mail/mail-outbox.js';
import type { Tenant } from '../../store/tenants-store.js';
import type { User } from '../../store/users-store.js';
import type { PortalServices } from '../portal-services.js';
import { mailTime } from './password-mail.js';

/** A change of a user's own second factor, as the notice to that user names it. */
export type OwnFactorChange = 'two-factor-enabled' | 'two-factor-disabled' | 'backup-codes-renewed';

/** An administrator's grants in words, before and after a change, as the owner's notice prints them. */
export interface GrantsInWords {
  dataTypes: string;
  capabilities: string;
}

/**
 * Queues one security notice; the change has happened by then, so a notice that cannot be queued is logged (code and
 * message only: the data of a notice never holds a secret, but an error's other fields are not ours), never thrown.
 */
async function queueNotice(services: PortalServices, mail: OutgoingMail, userId: string): Promise<void> {
  if (services.mail === undefined) return;
  try {
    await services.mail.enqueue(mail);
  } catch (err) {
    services.deps.logger.error(
      {
        tenantId: mail.tenantId,
        userId,
        template: mail.template,
        code: err instanceof RetentionError ? err.code : undefined,
        err: { message: err instanceof Error ? err.message : String(err) },
      },
      `could not queue the ${mail.template} notice`,
    );
  }
}

/**
 * Tells a user that their own second factor changed (ASVS 2.5.5): two-factor authentication turned on or off, or
 * new backup codes made; when, from which address, what to do if it was not them. Never carries a code. Does
 * nothing without mail.
 *
 * @example
 * await queueOwnFactorNotice(services, req, tenant, user, 'two-factor-enabled', changedAt);
 */
export async function queueOwnFactorNotice(
  services: PortalServices,
  req: Request,
  tenant: Tenant,
  user: User,
  change: OwnFactorChange,
  changedAt: Date,
): Promise<void> {
  await queueNotice(
    services,
    {
      tenantId: tenant.id,
      to: user.email,
      template: change,
      data: { displayName: user.displayName, changedAt: mailTime(changedAt), requestIp: req.ip ?? 'unknown' },
      dedupeKey: `${change}:${user.id}:${changedAt.getTime()}`,
    },
    user.id,
  );
}

/**
 * Tells a user that an administrator reset their two-factor authentication: who, when, that their sessions ended,
 * and whether the tenant requires setting it up again.
 *
 * @example
 * await queueTwoFactorResetNotice(services, tenant, target, actor, security.requireTwoFactor, resetAt);
 */
export async function queueTwoFactorResetNotice(
  services: PortalServices,
  tenant: Tenant,
  target: User,
  resetBy: User,
  required: boolean,
  resetAt: Date,
): Promise<void> {
  await queueNotice(
    services,
    {
      tenantId: tenant.id,
      to: target.email,
      template: 'two-factor-reset',
      data: { displayName: target.displayName, resetBy: resetBy.displayName, resetByEmail: resetBy.email, changedAt: mailTime(resetAt), required },
      dedupeKey: `two-factor-reset:${target.id}:${resetAt.getTime()}`,
    },
    target.id,
  );
}

/**
 * Tells every active user of the tenant (not invited or deactivated ones) that two-factor authentication is now
 * required: one message each, keyed by user and change. Call it only on the change from not required to required.
 *
 * @example
 * if (!before.requireTwoFactor && required) await queueTwoFactorEnforcedNotices(services, tenant, actor, enforcedAt);
 */
export async function queueTwoFactorEnforcedNotices(services: PortalServices, tenant: Tenant, enforcedBy: User, enforcedAt: Date): Promise<void> {
  if (services.mail === undefined) return;
  let users: User[];
  try {
    users = await services.deps.controlPlane.users.list(tenant.id);
  } catch (err) {
    services.deps.logger.error(
      { tenantId: tenant.id, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not list the users to queue the two-factor-enforced notices',
    );
    return;
  }
  for (const user of users.filter((u) => u.status === 'active')) {
    await queueNotice(
      services,
      {
        tenantId: tenant.id,
        to: user.email,
        template: 'two-factor-enforced',
        data: {
          displayName: user.displayName,
          enforcedBy: enforcedBy.displayName,
          enforcedByEmail: enforcedBy.email,
          enforcedAt: mailTime(enforcedAt),
          hasTwoFactor: user.totp !== undefined,
        },
        dedupeKey: `two-factor-enforced:${user.id}:${enforcedAt.getTime()}`,
      },
      user.id,
    );
  }
}

/**
 * Tells the owner that an administrator's grants changed: whose, by whom, from which address, before and after.
 * Not sent when the owner made the change, when nothing changed, nor when the tenant has no active owner.
 *
 * @example
 * await queueGrantsChangedNotice(services, req, tenant, { target, changedBy: actor, before, after, changedAt });
 */
export async function queueGrantsChangedNotice(
  services: PortalServices,
  req: Request,
  tenant: Tenant,
  change: { target: User; changedBy: User; before: GrantsInWords; after: GrantsInWords; changedAt: Date },
): Promise<void> {
  const { before, after } = change;
  if (services.mail === undefined || change.changedBy.role === 'owner') return;
  if (before.dataTypes === after.dataTypes && before.capabilities === after.capabilities) return;
  let owner: User | undefined;
  try {
    owner = await services.deps.controlPlane.users.findOwner(tenant.id);
  } catch (err) {
    services.deps.logger.error(
      { tenantId: tenant.id, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not find the owner to queue the grants-changed notice',
    );
    return;
  }
  if (owner === undefined || owner.status !== 'active' || owner.id === change.changedBy.id) return;
  await queueNotice(
    services,
    {
      tenantId: tenant.id,
      to: owner.email,
      template: 'grants-changed',
      data: {
        displayName: owner.displayName,
        administratorName: change.target.displayName,
        administratorEmail: change.target.email,
        changedBy: change.changedBy.displayName,
        changedByEmail: change.changedBy.email,
        changedAt: mailTime(change.changedAt),
        requestIp: req.ip ?? 'unknown',
        dataTypesBefore: before.dataTypes,
        dataTypesAfter: after.dataTypes,
        capabilitiesBefore: before.capabilities,
        capabilitiesAfter: after.capabilities,
      },
      dedupeKey: `grants-changed:${change.target.id}:${change.changedAt.getTime()}`,
    },
    owner.id,
  );
}

/**
 * Remembers the place of a completed sign-in (network and browser, {@link signInPlace}) and tells the user of a sign-in
 * from a place the account was not signed in from lately (ASVS 2.2.3): when, from which address, network and browser,
 * and what to do if it was not them. A user's first remembered sign-in tells nothing. Never throws: the sign-in has
 * happened.
 *
 * @example
 * await rememberSignInPlace(services, req, tenant, user, services.now());
 */
export async function rememberSignInPlace(services: PortalServices, req: Request, tenant: Tenant, user: User, signedInAt: Date): Promise<void> {
  const place = signInPlace(req.ip ?? '', req.get('user-agent') ?? '');
  let seen: 'new' | 'first' | 'known';
  try {
    seen = await services.deps.controlPlane.users.rememberSignInPlace(tenant.id, user.id, place.key, KNOWN_SIGN_IN_PLACES);
  } catch (err) {
    services.deps.logger.error(
      { tenantId: tenant.id, userId: user.id, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not remember the sign-in place',
    );
    return;
  }
  if (seen !== 'new') return;
  await queueNotice(
    services,
    {
      tenantId: tenant.id,
      to: user.email,
      template: 'new-sign-in',
      data: { displayName: user.displayName, signedInAt: mailTime(signedInAt), requestIp: req.ip ?? 'unknown', network: place.network, device: place.device },
      dedupeKey: `new-sign-in:${user.id}:${place.key.slice(0, 32)}:${signedInAt.getTime()}`,
    },
    user.id,
  );
}

/**
 * Tells the holder of an authenticator that one of its codes was entered again after it had been used (ASVS 2.8.5):
 * once per code (time step), however often it is retried.
 *
 * @example
 * await queueCodeReusedNotice(services, req, tenantId, user, step);
 */
export async function queueCodeReusedNotice(services: PortalServices, req: Request, tenantId: string, user: User, step: number): Promise<void> {
  await queueNotice(
    services,
    {
      tenantId,
      to: user.email,
      template: 'two-factor-code-reused',
      data: { displayName: user.displayName, attemptedAt: mailTime(services.now()), requestIp: req.ip ?? 'unknown' },
      dedupeKey: `two-factor-code-reused:${user.id}:${step}`,
    },
    user.id,
  );
}

/**
 * Tells the old address that the account's address changed (after the link sent to the new one was followed): the
 * new address, when, what to do if it was not them.
 *
 * @example
 * await queueEmailChangedNotice(services, tenant.id, user, 'jo@old.example', 'jo@new.example', changedAt);
 */
export async function queueEmailChangedNotice(
  services: PortalServices,
  tenantId: string,
  user: User,
  from: string,
  to: string,
  changedAt: Date,
): Promise<void> {
  await queueNotice(
    services,
    {
      tenantId,
      to: from,
      template: 'email-changed',
      data: { displayName: user.displayName, newEmail: to, changedAt: mailTime(changedAt) },
      dedupeKey: `email-changed:${user.id}:${changedAt.getTime()}`,
    },
    user.id,
  );
}
