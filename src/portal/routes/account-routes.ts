import { Router } from 'express';
import { hashPassword } from '../../auth/password-hashing.js';
import { checkPassword, checkPasswordReuse, isPasswordExpired, nextPasswordHistory } from '../../auth/password-policy.js';
import { RetentionError } from '../../errors.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import { userPasswordMeterView } from '../password-meter-view.js';
import type { PortalServices } from '../portal-services.js';
import { freshAuthenticationUntil, reauthenticate, requireRecentAuthenticationOrPassword } from '../reauthentication.js';
import { regenerateSession, saveSession } from '../session-lifecycle.js';
import { renderAccountPage } from './account-page.js';
import { queuePasswordChangedNotice } from './password-mail.js';

/**
 * The user's own account: overview (2FA, backup codes left), password change (needs the current password, ends the
 * user's other sessions: ASVS 3.3.3, revokes unused reset links, and mails the user a notice: ASVS 2.5.5) and the
 * sessions page (see and end one's own sessions; ending another one needs a sign-in or the password within the last
 * five minutes: ASVS 3.3.4).
 */
export function accountRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  router.get('/account', requireRoute('account.view'), async (_req, res) => {
    await renderAccountPage(services, res);
  });

  const showPasswordForm = (res: Parameters<Parameters<typeof router.get>[1]>[1], problems: string[], status = 200): void => {
    const { tenant, security } = portalContext(res);
    const user = signedInUser(res);
    res.status(status).render('password', {
      title: 'Change your password',
      problems,
      strength: userPasswordMeterView(security.passwordPolicy, user, tenant),
      expired: isPasswordExpired(security.passwordPolicy, user.passwordChangedAt ?? user.createdAt, services.now()),
      common: res.req.session.passwordChangeRequired === true,
    });
  };

  router.get('/account/password', requireRoute('account.password.form'), (_req, res) => showPasswordForm(res, []));

  router.post('/account/password', requireRoute('account.password.change'), async (req, res) => {
    const { tenant, security } = portalContext(res);
    const user = signedInUser(res);
    await reauthenticate(services, req, res, 'password.change');
    const password = formField(req, 'newPassword', 8192);
    const problems = checkPassword(security.passwordPolicy, password, {
      email: user.email,
      displayName: user.displayName,
      tenantId: tenant.id,
      tenantName: tenant.displayName,
    });
    if (problems.length === 0) {
      problems.push(
        ...(await checkPasswordReuse(
          security.passwordPolicy,
          password,
          [...new Set([user.passwordHash ?? '', ...user.passwordHistory])].filter((h) => h !== ''),
        )),
      );
    }
    if (problems.length > 0) {
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: 'password.change',
        outcome: 'failure',
        details: { reason: problems.map((p) => p.code).join(',') },
      });
      return showPasswordForm(
        res,
        problems.map((p) => p.message),
        400,
      );
    }
    const passwordHash = await hashPassword(password);
    const history = nextPasswordHistory(security.passwordPolicy, user.passwordHistory, passwordHash);
    const changedAt = services.now();
    await controlPlane.users.setPassword(tenant.id, user.id, passwordHash, history, changedAt);
    req.session.passwordChangeRequired = false;
    const ended = await services.sessionIndex.endAll(tenant.id, user.id, { except: req.sessionID });
    await controlPlane.activationTokens.revokeForSubject(tenant.id, 'password-reset', user.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'password.changed',
      outcome: 'success',
      details: { otherSessionsEnded: ended },
    });
    await queuePasswordChangedNotice(services, req, tenant, user, 'account', changedAt);
    flash(req, 'success', ended > 0 ? `Your password was changed and your ${ended} other session(s) were signed out.` : 'Your password was changed.');
    res.redirect(303, '/account');
  });

  router.get('/account/sessions', requireRoute('account.sessions.list'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    const sessions = await services.sessionIndex.list(tenant.id, user.id, req.sessionID);
    res.render('sessions', { title: 'Your sessions', sessions, needsPassword: freshAuthenticationUntil(services, req) === undefined });
  });

  router.post('/account/sessions/sign-out-others', requireRoute('account.sessions.end-others'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    await requireRecentAuthenticationOrPassword(services, req, res, 'session.revoke');
    const ended = await services.sessionIndex.endAll(tenant.id, user.id, { except: req.sessionID });
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'session.revoke',
      outcome: 'success',
      details: { scope: 'others', ended },
    });
    flash(req, 'success', `${ended} other session(s) signed out.`);
    res.redirect(303, '/account/sessions');
  });

  router.post('/account/sessions/sign-out-all', requireRoute('account.sessions.end-all'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    await requireRecentAuthenticationOrPassword(services, req, res, 'session.revoke');
    const ended = await services.sessionIndex.endAll(tenant.id, user.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'session.revoke',
      outcome: 'success',
      details: { scope: 'all', ended },
    });
    await regenerateSession(req);
    req.session.tenantId = tenant.id;
    flash(req, 'success', 'You have signed out of every session.');
    await saveSession(req);
    res.redirect(303, '/sign-in');
  });

  router.post('/account/sessions/:handle/sign-out', requireRoute('account.sessions.end-one'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    const handle = String(req.params.handle ?? '');
    const current = (await services.sessionIndex.list(tenant.id, user.id, req.sessionID)).find((s) => s.current)?.handle === handle;
    if (!current) await requireRecentAuthenticationOrPassword(services, req, res, 'session.revoke');
    if (!(await services.sessionIndex.end(tenant.id, user.id, handle))) {
      throw new RetentionError('ERR_SESSION_NOT_FOUND', 'That session has already ended.');
    }
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'session.revoke',
      outcome: 'success',
      details: { scope: current ? 'current' : 'one' },
    });
    if (current) {
      await regenerateSession(req);
      req.session.tenantId = tenant.id;
      await saveSession(req);
      return res.redirect(303, '/sign-in');
    }
    flash(req, 'success', 'The session was signed out.');
    res.redirect(303, '/account/sessions');
  });

  return router;
}
