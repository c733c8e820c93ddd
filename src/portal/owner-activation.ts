import { RetentionError } from '../errors.js';
import type { ControlPlane } from '../store/control-plane.js';
import { tenantBaseUrl } from './tenant-host.js';

/** What {@link issueOwnerActivation} needs. */
export interface IssueOwnerActivationInput {
  controlPlane: Pick<ControlPlane, 'tenants' | 'users' | 'activationTokens' | 'audit'>;
  tenantId: string;
  /** `PUBLIC_URL`. */
  publicUrl: string;
  /** `DEFAULT_TENANT`: that tenant's link is on `PUBLIC_URL` itself, others on their subdomain. */
  defaultTenant?: string | undefined;
  /** Who asks (audit actor id). Default `cli`. */
  createdBy?: string;
  /** Lifetime of the link; default 72 hours. */
  expiresInSeconds?: number;
  now?: Date;
}

/** A one-time owner activation link. */
export interface OwnerActivationLink {
  link: string;
  expiresAt: Date;
}

/**
 * Issues the one-time, expiring link with which a tenant's owner chooses their email address and password (there is
 * never a default password). Earlier unused owner links of the tenant are revoked, so only the newest works.
 * Throws `ERR_TENANT_NOT_FOUND`, or `ERR_OWNER_EXISTS` when the tenant already has an owner.
 *
 * @example
 * // in `retention tenant create acme`, after the tenant is created:
 * const { link, expiresAt } = await issueOwnerActivation({ controlPlane, tenantId: 'acme', publicUrl: config.publicUrl, defaultTenant: config.defaultTenant });
 * io.stdout(`Owner activation link (valid until ${expiresAt.toISOString()}, usable once): ${link}`);
 */
export async function issueOwnerActivation(input: IssueOwnerActivationInput): Promise<OwnerActivationLink> {
  const { controlPlane, tenantId } = input;
  const now = input.now ?? new Date();
  await controlPlane.tenants.require(tenantId);
  if ((await controlPlane.users.findOwner(tenantId)) !== undefined) {
    throw new RetentionError('ERR_OWNER_EXISTS', `tenant "${tenantId}" already has an owner; the owner can invite administrators from the portal`);
  }
  const createdBy = input.createdBy ?? 'cli';
  await controlPlane.activationTokens.revokeForSubject(tenantId, 'owner-activation', 'owner');
  const { token, record } = await controlPlane.activationTokens.issue(
    tenantId,
    { purpose: 'owner-activation', subject: 'owner', createdBy, ...(input.expiresInSeconds !== undefined ? { expiresInSeconds: input.expiresInSeconds } : {}) },
    now,
  );
  await controlPlane.audit.append(
    tenantId,
    {
      actor: { type: createdBy === 'cli' ? 'cli' : 'system', id: createdBy },
      action: 'user.owner-activation.issued',
      outcome: 'success',
      details: { expiresAt: record.expiresAt.toISOString() },
    },
    now,
  );
  const base = tenantBaseUrl(tenantId, { publicUrl: input.publicUrl, defaultTenant: input.defaultTenant });
  return { link: `${base}/activate/${token}`, expiresAt: record.expiresAt };
}
