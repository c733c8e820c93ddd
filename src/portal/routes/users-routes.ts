import { Router, type Request, type Response } from 'express';
import { parseAccessGrants, type AccessGrants } from '../../access/access-grants.js';
import { CAPABILITIES, type Capability } from '../../access/capabilities.js';
import { assertMayGrant, can, canRead, grantsBeyond, mayManageUser } from '../../access/permissions.js';
import { principalOf } from '../../access/principal.js';
import { ROUTE_PERMISSIONS, routeAllowed } from '../../access/route-permissions.js';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import { RetentionError } from '../../errors.js';
import type { User } from '../../store/users-store.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, formList, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { reauthenticate } from '../reauthentication.js';
import { tenantBaseUrl } from '../tenant-host.js';
import { queueGrantsChangedNotice, queueTwoFactorResetNotice, type GrantsInWords } from './security-notices.js';

/** How long an invitation link works. */
export const INVITATION_LIFETIME_SECONDS = 72 * 3600;

/** A user as the users page lists it: the stored user plus whether sign-in is locked out. */
export interface ListedUser {
  user: User;
  /** True while failed sign-ins lock the account (or its hourly limit is reached); `POST /users/:id/unlock` clears it. */
  locked: boolean;
  lockedUntil: Date | undefined;
  /** False when the user holds grants the viewer does not (or is the owner and the viewer is not): no actions shown. */
  manageable: boolean;
  /** True when an identity at the tenant's provider is linked to the user (`POST /users/:id/sso/unlink` removes it). */
  ssoLinked: boolean;
}

const listGrants = (values: readonly string[]): string => values.join(',');

const DATA_TYPE_LABELS: Record<RecordType, string> = { 'call-logs': 'call logs', chats: 'chats', contacts: 'contacts' };
const CAPABILITY_LABELS: Record<Capability, string> = {
  export: 'export results',
  'manage-users': 'manage users',
  'configure-retention': 'configure retention',
  'run-jobs': 'run jobs',
  'read-audit': 'read the audit log',
  'see-unmasked-personal-data': 'see personal data unmasked',
};

/** The grants of a user in words, for the invitation mail: `call logs, chats; may export results, read the audit log`. */
function describeAccess(user: Pick<User, 'dataTypes' | 'capabilities'>): string {
  const data = user.dataTypes.length === 0 ? 'no archived data' : user.dataTypes.map((type) => DATA_TYPE_LABELS[type]).join(', ');
  const capabilities = user.capabilities.length === 0 ? 'no further permissions' : `may ${user.capabilities.map((c) => CAPABILITY_LABELS[c]).join(', ')}`;
  return `${data}; ${capabilities}`;
}

/** The grants of a user in words, for the owner's notice of a change: data types and capabilities, `none` for none. */
function grantsInWords(user: Pick<User, 'dataTypes' | 'capabilities'>): GrantsInWords {
  return {
    dataTypes: user.dataTypes.length === 0 ? 'none' : user.dataTypes.map((type) => DATA_TYPE_LABELS[type]).join(', '),
    capabilities: user.capabilities.length === 0 ? 'none' : user.capabilities.map((c) => CAPABILITY_LABELS[c]).join(', '),
  };
}

/**
 * Users and invitations, for users who may manage users (each route authorised by its entry in `ROUTE_PERMISSIONS`,
 * like every other route; ASVS 4.1.3: nobody grants what they do not hold):
 *
 * - `GET /users`: every user with data scopes, capabilities, 2FA, status and lock state;
 * - `POST /users/invitations`: an invitation by an expiring single-use link, with the data types and capabilities
 *   chosen (only ones the inviter holds), mailed to the invited address through the outbox when mail is configured
 *   and shown on the page either way; `…/invitation/renew` (a new link, mailed again), `…/invitation/revoke`;
 * - `POST /users/:id/grants`: new data types and capabilities, only ones the actor holds; the owner's grants never
 *   change; audited with before and after, and mailed to the owner (who, before, after) unless the owner made it;
 * - `POST /users/:id/deactivate`, `…/reactivate`: a deactivated user's sessions end at once and sign-in is refused
 *   (the owner, and one's own account, cannot be deactivated);
 * - `POST /users/:id/unlock`: clears the sign-in lockout of the user's account;
 * - `POST /users/:id/reset-two-factor`: after re-authentication (the owner's only by the owner); a user who had 2FA is
 *   mailed a notice;
 * - `POST /users/:id/sso/unlink`: removes the link between the user and their identity at the tenant's provider (the
 *   next sign-in there links an identity again, by the verified address); sessions and everything else stay.
 *
 * Nobody acts beyond their own grants (ASVS 4.1.3): every route on an existing user refuses (403, audited) when the
 * target holds a data type or capability the actor does not, and only the owner acts on the owner
 * ({@link mayManageUser}); so an invitation link is only ever shown to someone who holds what it grants.
 *
 * Ids from the URL are looked up within the tenant only: another tenant's user is the same 404 as an unknown id
 * (ASVS 4.2.1). Every change is audited.
 */
export function usersRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  const actorOf = (res: Response) => {
    const actor = signedInUser(res);
    return { actor, principal: principalOf(actor), auditActor: { type: 'user' as const, id: actor.id } };
  };

  /**
   * The user named by the URL, when the actor may act on them: 404 for an unknown id (or another tenant's), 403
   * (audited as `action` denied) when the target holds grants beyond the actor's own or is the owner.
   */
  const targetUser = async (req: Request, res: Response, action: string): Promise<User> => {
    const { tenant } = portalContext(res);
    const user = await controlPlane.users.findById(tenant.id, String(req.params.id ?? ''));
    if (user === undefined) throw new RetentionError('ERR_USER_NOT_FOUND', 'There is no such user in your organisation.');
    const { principal, auditActor } = actorOf(res);
    const target = principalOf(user);
    if (!mayManageUser(principal, target)) {
      const beyond = grantsBeyond(principal, target);
      await services.audit(req, tenant.id, {
        actor: auditActor,
        action,
        outcome: 'denied',
        target: user.email,
        details: { reason: 'target-grants-beyond-actor', beyond: beyond.join(',') },
      });
      throw new RetentionError(
        'ERR_FORBIDDEN',
        user.role === 'owner'
          ? "Only the owner can change the owner's account."
          : `${user.email} holds permissions you do not hold yourself (${beyond.join(', ')}); ask the owner or an administrator who holds them.`,
      );
    }
    return user;
  };

  /**
   * The grants a form asks for. A name that is not a data type or capability is refused like one the actor does not
   * hold (403: nobody holds it); then {@link assertMayGrant} refuses anything wider than the actor's own grants.
   */
  const requestedGrants = async (req: Request, res: Response, action: string, target?: string): Promise<AccessGrants> => {
    const { tenant } = portalContext(res);
    const { principal, auditActor } = actorOf(res);
    const dataTypes = formList(req, 'dataTypes');
    const capabilities = formList(req, 'capabilities');
    let grants: AccessGrants;
    try {
      grants = parseAccessGrants({ dataTypes, capabilities });
      assertMayGrant(principal, grants);
    } catch (err) {
      if (!(err instanceof RetentionError) || err.status >= 500) throw err;
      await services.audit(req, tenant.id, {
        actor: auditActor,
        action,
        outcome: 'denied',
        ...(target !== undefined ? { target } : {}),
        details: { reason: 'capability-not-held' },
      });
      throw new RetentionError('ERR_FORBIDDEN', 'You can only grant data types and permissions you hold yourself.');
    }
    return grants;
  };

  const lockState = async (tenantId: string, user: User): Promise<Pick<ListedUser, 'locked' | 'lockedUntil'>> => {
    const decision = await services.throttle.check({ tenantId, account: user.email });
    if (decision.allowed || decision.reason === 'ip-rate-limited') return { locked: false, lockedUntil: undefined };
    return { locked: true, lockedUntil: decision.retryAt };
  };

  const renderUsers = async (res: Response, status: number, problems: string[], values: { email: string; displayName: string }): Promise<void> => {
    const { tenant } = portalContext(res);
    const { principal } = actorOf(res);
    const users = await controlPlane.users.list(tenant.id);
    const linked = await controlPlane.ssoIdentities.linkedUserIds(tenant.id);
    const listed: ListedUser[] = [];
    for (const user of users) {
      listed.push({ user, ...(await lockState(tenant.id, user)), manageable: mayManageUser(principal, principalOf(user)), ssoLinked: linked.has(user.id) });
    }
    res.status(status).render('users', {
      title: 'Users',
      listed,
      capabilities: CAPABILITIES.filter((c) => can(principal, c)),
      dataTypes: RECORD_TYPES.filter((t) => canRead(principal, t)),
      problems,
      values,
    });
  };

  const issueInvitation = async (req: Request, res: Response, invited: User): Promise<void> => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    await controlPlane.activationTokens.revokeForSubject(tenant.id, 'invitation', invited.id);
    const { token, record } = await controlPlane.activationTokens.issue(
      tenant.id,
      { purpose: 'invitation', subject: invited.id, createdBy: actor.id, expiresInSeconds: INVITATION_LIFETIME_SECONDS },
      services.now(),
    );
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: actor.id },
      action: 'user.invitation.created',
      outcome: 'success',
      target: invited.email,
      details: { capabilities: listGrants(invited.capabilities), dataTypes: listGrants(invited.dataTypes), expiresAt: record.expiresAt.toISOString() },
    });
    const link = `${tenantBaseUrl(tenant.id, services.options)}/invitation/${token}`;
    const mailed = await mailInvitation(tenant.id, invited, actor, {
      link,
      expiresAt: `${record.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      tokenId: record.id,
    });
    res.render('invitation-created', {
      title: 'Invitation created',
      invited,
      link,
      expiresAt: record.expiresAt,
      mailed,
      outboxLink: routeAllowed(principalOf(actor), 'users.outbox') ? ROUTE_PERMISSIONS['users.outbox'].path : undefined,
    });
  };

  /**
   * Mails the invitation link to the invited address through the outbox (once per link: the dedupe key is the
   * token's id). `not-configured` without mail; `failed` when the message could not be stored (logged without the
   * link): the page then says to send the link by hand.
   */
  const mailInvitation = async (
    tenantId: string,
    invited: User,
    inviter: User,
    invitation: { link: string; expiresAt: string; tokenId: string },
  ): Promise<'queued' | 'not-configured' | 'failed'> => {
    if (services.mail === undefined) return 'not-configured';
    try {
      await services.mail.enqueue({
        tenantId,
        to: invited.email,
        template: 'invitation',
        data: {
          inviteeName: invited.displayName,
          inviterName: inviter.displayName,
          access: describeAccess(invited),
          link: invitation.link,
          expiresAt: invitation.expiresAt,
        },
        dedupeKey: `invitation:${invitation.tokenId}`,
      });
      return 'queued';
    } catch (err) {
      services.deps.logger.error(
        {
          tenantId,
          userId: invited.id,
          code: err instanceof RetentionError ? err.code : undefined,
          err: { message: err instanceof Error ? err.message : String(err) },
        },
        'could not queue the invitation mail',
      );
      return 'failed';
    }
  };

  router.get('/users', requireRoute('users.list'), async (_req, res) => {
    await renderUsers(res, 200, [], { email: '', displayName: '' });
  });

  router.post('/users/invitations', requireRoute('users.invite'), async (req, res) => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    const grants = await requestedGrants(req, res, 'user.invitation.created');
    const values = { email: formField(req, 'email', 320), displayName: formField(req, 'displayName', 200) };
    try {
      const invited = await controlPlane.users.create(tenant.id, { ...values, role: 'administrator', ...grants, invitedBy: actor.id }, services.now());
      await issueInvitation(req, res, invited);
    } catch (err) {
      if (!(err instanceof RetentionError) || err.status >= 500) throw err;
      await renderUsers(res, err.status, [err.message], values);
    }
  });

  router.post('/users/:id/invitation/renew', requireRoute('users.invitation.renew'), async (req, res) => {
    const invited = await targetUser(req, res, 'user.invitation.created');
    if (invited.status !== 'invited') throw new RetentionError('ERR_USER_ACTIVE', 'This user has already accepted the invitation.');
    await issueInvitation(req, res, invited);
  });

  router.post('/users/:id/invitation/revoke', requireRoute('users.invitation.revoke'), async (req, res) => {
    const { tenant } = portalContext(res);
    const invited = await targetUser(req, res, 'user.invitation.revoked');
    if (!(await controlPlane.users.deleteInvited(tenant.id, invited.id)))
      throw new RetentionError('ERR_USER_ACTIVE', 'This user has already accepted the invitation.');
    await controlPlane.activationTokens.revokeForSubject(tenant.id, 'invitation', invited.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'user.invitation.revoked',
      outcome: 'success',
      target: invited.email,
    });
    flash(req, 'success', `The invitation of ${invited.email} was withdrawn.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/grants', requireRoute('users.grants.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    const { actor, auditActor } = actorOf(res);
    const target = await targetUser(req, res, 'user.grants-changed');
    if (target.role === 'owner') throw new RetentionError('ERR_USER_OWNER', 'The owner holds every permission; their grants cannot be changed.');
    if (target.id === actor.id)
      throw new RetentionError('ERR_FORBIDDEN', 'You cannot change your own permissions. Ask the owner or another administrator who manages users.');
    const requested = await requestedGrants(req, res, 'user.grants-changed', target.email);
    const changedAt = services.now();
    const updated = await controlPlane.users.updateGrants(tenant.id, target.id, requested, changedAt);
    if (updated === undefined) throw new RetentionError('ERR_USER_NOT_FOUND', 'There is no such user in your organisation.');
    await services.audit(req, tenant.id, {
      actor: auditActor,
      action: 'user.grants-changed',
      outcome: 'success',
      target: target.email,
      details: {
        dataTypesBefore: listGrants(target.dataTypes),
        dataTypesAfter: listGrants(updated.dataTypes),
        capabilitiesBefore: listGrants(target.capabilities),
        capabilitiesAfter: listGrants(updated.capabilities),
      },
    });
    await queueGrantsChangedNotice(services, req, tenant, {
      target,
      changedBy: actor,
      before: grantsInWords(target),
      after: grantsInWords(updated),
      changedAt,
    });
    flash(req, 'success', `The permissions of ${target.email} were changed.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/deactivate', requireRoute('users.deactivate'), async (req, res) => {
    const { tenant } = portalContext(res);
    const { actor, auditActor } = actorOf(res);
    const target = await targetUser(req, res, 'user.deactivated');
    if (target.role === 'owner' || target.id === actor.id) {
      await services.audit(req, tenant.id, {
        actor: auditActor,
        action: 'user.deactivated',
        outcome: 'denied',
        target: target.email,
        details: { reason: target.role === 'owner' ? 'owner' : 'self' },
      });
      throw new RetentionError('ERR_FORBIDDEN', target.role === 'owner' ? 'The owner cannot be deactivated.' : 'You cannot deactivate your own account.');
    }
    if (!(await controlPlane.users.changeStatus(tenant.id, target.id, 'active', 'disabled', services.now()))) {
      throw new RetentionError('ERR_USER_NOT_ACTIVE', 'Only an active user can be deactivated (withdraw a pending invitation instead).');
    }
    const ended = await services.sessionIndex.endAll(tenant.id, target.id);
    await services.audit(req, tenant.id, {
      actor: auditActor,
      action: 'user.deactivated',
      outcome: 'success',
      target: target.email,
      details: { sessionsEnded: ended },
    });
    flash(req, 'success', `${target.email} was deactivated and signed out everywhere.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/reactivate', requireRoute('users.reactivate'), async (req, res) => {
    const { tenant } = portalContext(res);
    const { auditActor } = actorOf(res);
    const target = await targetUser(req, res, 'user.reactivated');
    if (!(await controlPlane.users.changeStatus(tenant.id, target.id, 'disabled', 'active', services.now()))) {
      throw new RetentionError('ERR_USER_NOT_DISABLED', 'Only a deactivated user can be reactivated.');
    }
    await services.audit(req, tenant.id, { actor: auditActor, action: 'user.reactivated', outcome: 'success', target: target.email });
    flash(req, 'success', `${target.email} was reactivated and can sign in again.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/unlock', requireRoute('users.unlock'), async (req, res) => {
    const { tenant } = portalContext(res);
    const { auditActor } = actorOf(res);
    const target = await targetUser(req, res, 'user.unlocked');
    const { locked } = await lockState(tenant.id, target);
    await services.throttle.unlock(tenant.id, target.email);
    await services.audit(req, tenant.id, {
      actor: auditActor,
      action: 'user.unlocked',
      outcome: 'success',
      target: target.email,
      details: { wasLocked: locked },
    });
    flash(req, 'success', `Sign-in of ${target.email} is unlocked.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/reset-two-factor', requireRoute('users.reset-two-factor'), async (req, res) => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    const target = await targetUser(req, res, '2fa.reset');
    if (target.id === actor.id) throw new RetentionError('ERR_FORBIDDEN', 'To change your own two-factor authentication, use your account page.');
    await reauthenticate(services, req, res, '2fa.reset');
    const resetAt = services.now();
    await controlPlane.users.disableTotp(tenant.id, target.id, resetAt);
    const ended = await services.sessionIndex.endAll(tenant.id, target.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: actor.id },
      action: '2fa.reset',
      outcome: 'success',
      target: target.email,
      details: { sessionsEnded: ended },
    });
    if (target.totp !== undefined) await queueTwoFactorResetNotice(services, tenant, target, actor, portalContext(res).security.requireTwoFactor, resetAt);
    flash(
      req,
      'success',
      `Two-factor authentication of ${target.email} was reset; they set it up again at their next sign-in${portalContext(res).security.requireTwoFactor ? '' : ' if they choose to'}.`,
    );
    res.redirect(303, '/users');
  });

  router.post('/users/:id/sso/unlink', requireRoute('users.sso.unlink'), async (req, res) => {
    const { tenant } = portalContext(res);
    const { actor, auditActor } = actorOf(res);
    const target = await targetUser(req, res, 'sso.unlinked');
    if (target.id === actor.id) {
      await services.audit(req, tenant.id, { actor: auditActor, action: 'sso.unlinked', outcome: 'denied', target: target.email, details: { reason: 'self' } });
      throw new RetentionError(
        'ERR_FORBIDDEN',
        target.role === 'owner'
          ? 'You cannot unlink your own single sign-on identity here.'
          : 'You cannot unlink your own single sign-on identity. Ask the owner or another administrator who manages users.',
      );
    }
    const removed = await controlPlane.ssoIdentities.unlink(tenant.id, target.id);
    if (removed === undefined) {
      flash(req, 'error', `${target.email} has no linked single sign-on identity.`);
      return res.redirect(303, '/users');
    }
    await services.audit(req, tenant.id, {
      actor: auditActor,
      action: 'sso.unlinked',
      outcome: 'success',
      target: target.email,
      details: { userId: target.id, issuer: removed.issuer },
    });
    flash(
      req,
      'success',
      `The single sign-on identity of ${target.email} was unlinked. Their next sign-in through the provider links the identity they sign in with, by their address; their current sessions go on.`,
    );
    res.redirect(303, '/users');
  });

  return router;
}
