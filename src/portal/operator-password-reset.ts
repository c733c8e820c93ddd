import { RetentionError } from '../errors.js';
import type { ControlPlane } from '../store/control-plane.js';
import { normalizeEmail } from '../store/users-store.js';
import { tenantBaseUrl } from './tenant-host.js';

/** Who issues an operator's reset link: the reset page accepts such a link for the owner even with reset by mail off. */
export const OPERATOR_RESET_ISSUER = 'cli';

/** Lifetime of an operator's reset link: one hour (it is handed over by the operator, not mailed). */
export const OPERATOR_RESET_LIFETIME_SECONDS = 3600;

/** What {@link issueOperatorPasswordReset} needs. */
export interface IssueOperatorPasswordResetInput {
  controlPlane: Pick<ControlPlane, 'tenants' | 'users' | 'activationTokens' | 'audit'>;
  tenantId: string;
  /** The user's address; default the tenant's owner. */
  email?: string | undefined;
  /** Also turn off the user's two-factor authentication (lost authenticator and backup codes). */
  resetTwoFactor?: boolean;
  /** `PUBLIC_URL` and `DEFAULT_TENANT`, for the link. */
  publicUrl: string;
  defaultTenant?: string | undefined;
  now?: Date;
}

/** The one-time link, whom it is for and what else was done. */
export interface OperatorPasswordResetLink {
  link: string;
  expiresAt: Date;
  email: string;
  role: 'owner' | 'administrator';
  twoFactorReset: boolean;
}

/**
 * The Retention operator's recovery of an account that cannot recover itself (an owner whose tenant keeps reset by
 * mail off, an installation without mail, a lost second factor): a one-time reset link for an active user, printed
 * for the operator to hand over on a channel they trust, and with `resetTwoFactor` the user's second factor turned off
 * (a tenant that requires it makes them set it up again at the next sign-in). Earlier reset links of the user stop
 * working; both steps are audited as the CLI. The reset page still asks for the second factor the user has.
 * Throws `ERR_TENANT_NOT_FOUND`, `ERR_USER_NOT_FOUND`, `ERR_USER_NOT_ACTIVE`.
 *
 * @example
 * const { link } = await issueOperatorPasswordReset({ controlPlane, tenantId: 'acme', publicUrl: config.publicUrl });
 */
export async function issueOperatorPasswordReset(input: IssueOperatorPasswordResetInput): Promise<OperatorPasswordResetLink> {
  const { controlPlane, tenantId } = input;
  const now = input.now ?? new Date();
  await controlPlane.tenants.require(tenantId);
  const user =
    input.email === undefined ? await controlPlane.users.findOwner(tenantId) : await controlPlane.users.findByEmail(tenantId, normalizeEmail(input.email));
  if (user === undefined) {
    throw new RetentionError(
      'ERR_USER_NOT_FOUND',
      input.email === undefined ? `tenant "${tenantId}" has no owner yet: use "tenant activation-link"` : `tenant "${tenantId}" has no user ${input.email}`,
    );
  }
  if (user.status !== 'active' || user.passwordHash === undefined) {
    throw new RetentionError(
      'ERR_USER_NOT_ACTIVE',
      `${user.email} is ${user.status === 'invited' ? 'invited (renew the invitation on the Users page)' : 'deactivated (reactivate it on the Users page first)'}`,
    );
  }
  const actor = { type: 'cli' as const, id: OPERATOR_RESET_ISSUER };
  let twoFactorReset = false;
  if (input.resetTwoFactor === true && user.totp !== undefined) {
    await controlPlane.users.disableTotp(tenantId, user.id, now);
    twoFactorReset = true;
    await controlPlane.audit.append(tenantId, { actor, action: '2fa.reset', outcome: 'success', target: user.email, details: { via: 'cli' } }, now);
  }
  await controlPlane.activationTokens.revokeForSubject(tenantId, 'password-reset', user.id);
  const { token, record } = await controlPlane.activationTokens.issue(
    tenantId,
    { purpose: 'password-reset', subject: user.id, createdBy: OPERATOR_RESET_ISSUER, expiresInSeconds: OPERATOR_RESET_LIFETIME_SECONDS },
    now,
  );
  await controlPlane.audit.append(
    tenantId,
    {
      actor,
      action: 'auth.password-reset.issued',
      outcome: 'success',
      target: user.email,
      details: { expiresAt: record.expiresAt.toISOString(), role: user.role },
    },
    now,
  );
  const base = tenantBaseUrl(tenantId, { publicUrl: input.publicUrl, defaultTenant: input.defaultTenant });
  return { link: `${base}/reset-password?token=${token}`, expiresAt: record.expiresAt, email: user.email, role: user.role, twoFactorReset };
}
