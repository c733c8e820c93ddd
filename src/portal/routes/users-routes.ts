import { Router, type Request, type Response } from 'express';
import { RECORD_TYPES, isRecordType } from '../../records/record-type.js';
import { RetentionError } from '../../errors.js';
import { USER_CAPABILITIES, hasCapability, type User, type UserCapability } from '../../store/users-store.js';
import { requireCapability } from '../access-gates.js';
import { flash, formField, formList, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { reauthenticate } from '../reauthentication.js';
import { tenantBaseUrl } from '../tenant-host.js';

/** How long an invitation link works. */
export const INVITATION_LIFETIME_SECONDS = 72 * 3600;

/**
 * Users and invitations, for users who may manage users: the list, invitations by expiring single-use links (an
 * inviter grants only capabilities they hold: ASVS 4.1.3), revoking a pending invitation, and resetting another
 * user's 2FA after re-authentication (the owner's only by the owner). Ids from the URL are looked up within the
 * tenant only (ASVS 4.2.1).
 */
export function usersRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  router.use('/users', requireCapability('manage-users'));

  const targetUser = async (req: Request, res: Response): Promise<User> => {
    const user = await controlPlane.users.findById(portalContext(res).tenant.id, String(req.params.id ?? ''));
    if (user === undefined) throw new RetentionError('ERR_USER_NOT_FOUND', 'There is no such user in your organisation.', 404);
    return user;
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
      details: { capabilities: invited.capabilities.join(','), dataTypes: invited.dataTypes.join(','), expiresAt: record.expiresAt.toISOString() },
    });
    const link = `${tenantBaseUrl(tenant.id, services.options)}/invitation/${token}`;
    res.render('invitation-created', { title: 'Invitation created', invited, link, expiresAt: record.expiresAt.toISOString().slice(0, 16).replace('T', ' ') });
  };

  router.get('/users', async (_req, res) => {
    const users = await controlPlane.users.list(portalContext(res).tenant.id);
    const actor = signedInUser(res);
    res.render('users', {
      title: 'Users',
      users,
      capabilities: USER_CAPABILITIES.filter((c) => hasCapability(actor, c)),
      dataTypes: RECORD_TYPES,
      problems: [],
      values: { email: '', displayName: '' },
    });
  });

  router.post('/users/invitations', async (req, res) => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    const requested = formList(req, 'capabilities');
    const capabilities = requested.filter((c): c is UserCapability => (USER_CAPABILITIES as readonly string[]).includes(c));
    if (capabilities.length !== requested.length || capabilities.some((c) => !hasCapability(actor, c))) {
      await services.audit(req, tenant.id, { actor: { type: 'user', id: actor.id }, action: 'user.invitation.created', outcome: 'denied', details: { reason: 'capability-not-held' } });
      throw new RetentionError('ERR_FORBIDDEN', 'You can only grant permissions you hold yourself.', 403);
    }
    const dataTypes = formList(req, 'dataTypes').filter(isRecordType);
    try {
      const invited = await controlPlane.users.create(
        tenant.id,
        { email: formField(req, 'email', 320), displayName: formField(req, 'displayName', 200), role: 'administrator', capabilities, dataTypes, invitedBy: actor.id },
        services.now(),
      );
      await issueInvitation(req, res, invited);
    } catch (err) {
      if (!(err instanceof RetentionError) || err.status >= 500) throw err;
      const users = await controlPlane.users.list(tenant.id);
      res.status(err.status).render('users', {
        title: 'Users',
        users,
        capabilities: USER_CAPABILITIES.filter((c) => hasCapability(actor, c)),
        dataTypes: RECORD_TYPES,
        problems: [err.message],
        values: { email: formField(req, 'email', 320), displayName: formField(req, 'displayName', 200) },
      });
    }
  });

  router.post('/users/:id/invitation/renew', async (req, res) => {
    const invited = await targetUser(req, res);
    if (invited.status !== 'invited') throw new RetentionError('ERR_USER_ACTIVE', 'This user has already accepted the invitation.', 409);
    await issueInvitation(req, res, invited);
  });

  router.post('/users/:id/invitation/revoke', async (req, res) => {
    const { tenant } = portalContext(res);
    const invited = await targetUser(req, res);
    if (!(await controlPlane.users.deleteInvited(tenant.id, invited.id))) throw new RetentionError('ERR_USER_ACTIVE', 'This user has already accepted the invitation.', 409);
    await controlPlane.activationTokens.revokeForSubject(tenant.id, 'invitation', invited.id);
    await services.audit(req, tenant.id, { actor: { type: 'user', id: signedInUser(res).id }, action: 'user.invitation.revoked', outcome: 'success', target: invited.email });
    flash(req, 'success', `The invitation of ${invited.email} was withdrawn.`);
    res.redirect(303, '/users');
  });

  router.post('/users/:id/reset-two-factor', async (req, res) => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    const target = await targetUser(req, res);
    if (target.id === actor.id) throw new RetentionError('ERR_FORBIDDEN', 'To change your own two-factor authentication, use your account page.', 403);
    if (target.role === 'owner' && actor.role !== 'owner') {
      await services.audit(req, tenant.id, { actor: { type: 'user', id: actor.id }, action: '2fa.reset', outcome: 'denied', target: target.email, details: { reason: 'owner' } });
      throw new RetentionError('ERR_FORBIDDEN', "Only the owner can reset the owner's two-factor authentication.", 403);
    }
    await reauthenticate(services, req, res, '2fa.reset');
    await controlPlane.users.disableTotp(tenant.id, target.id, services.now());
    const ended = await services.sessionIndex.endAll(tenant.id, target.id);
    await services.audit(req, tenant.id, { actor: { type: 'user', id: actor.id }, action: '2fa.reset', outcome: 'success', target: target.email, details: { sessionsEnded: ended } });
    flash(req, 'success', `Two-factor authentication of ${target.email} was reset; they set it up again at their next sign-in${portalContext(res).security.requireTwoFactor ? '' : ' if they choose to'}.`);
    res.redirect(303, '/users');
  });

  return router;
}
