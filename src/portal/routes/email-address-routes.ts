import { Router, type Request, type Response } from 'express';
import { linkTokenProblem, type ActivationTokenRecord } from '../../auth/activation-tokens-store.js';
import { RetentionError } from '../../errors.js';
import { normalizeEmail, type User } from '../../store/users-store.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { reauthenticate } from '../reauthentication.js';
import { saveSession } from '../session-lifecycle.js';
import { renderAccountPage } from './account-page.js';
import { sendEmailConfirmation } from './email-confirmation-mail.js';
import { mailTime } from './password-mail.js';
import { queueEmailChangedNotice } from './security-notices.js';

/** Refusals the account page shows beside the email form (anything else is an error page). */
const EMAIL_FORM_REFUSALS = new Set([
  'ERR_REAUTH_FAILED',
  'ERR_USER_EMAIL_INVALID',
  'ERR_USER_EMAIL_UNCHANGED',
  'ERR_USER_EXISTS',
  'ERR_USER_EMAIL_TOO_SOON',
  'ERR_MAIL_NOT_CONFIGURED',
]);

/** Shows a refused email form on the account page with the error's status, or rethrows what is not a refusal. */
async function refuseEmailForm(services: PortalServices, res: Response, err: unknown, newEmail: string): Promise<void> {
  if (!(err instanceof RetentionError) || !EMAIL_FORM_REFUSALS.has(err.code)) throw err;
  await renderAccountPage(services, res, { status: err.status, problems: [err.message], values: { newEmail } });
}

/**
 * The signed-in user's email address on the account page (issue 13.2): ask for a change (current password required;
 * a link goes to the new address, and the account keeps the old one until it is followed), send a confirmation link
 * for an unconfirmed address, and cancel a change that waits for its link.
 */
export function emailAddressRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  router.post('/account/email', requireRoute('account.email.change'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    const typed = formField(req, 'newEmail', 320);
    try {
      const address = normalizeEmail(typed);
      if (address === user.email) {
        throw new RetentionError('ERR_USER_EMAIL_UNCHANGED', `${address} is already your address. Enter the new address you want to use.`);
      }
      await reauthenticate(services, req, res, 'user.email-change');
      const holder = await controlPlane.users.findByEmail(tenant.id, address);
      if (holder !== undefined) throw new RetentionError('ERR_USER_EXISTS', `${address} already has an account or an invitation in ${tenant.displayName}.`);
      const pending = await sendEmailConfirmation(services, req, tenant, user, address);
      flash(
        req,
        'success',
        `A confirmation link was sent to ${pending.email}; it works until ${mailTime(pending.expiresAt)}. Your address stays ${user.email} until you follow it.`,
      );
      res.redirect(303, '/account');
    } catch (err) {
      await refuseEmailForm(services, res, err, typed);
    }
  });

  router.post('/account/email/confirmation', requireRoute('account.email.confirm-current'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    try {
      if (user.emailVerifiedAt !== undefined) throw new RetentionError('ERR_USER_EMAIL_UNCHANGED', `${user.email} is already confirmed.`);
      await sendEmailConfirmation(services, req, tenant, user, user.email);
      flash(req, 'success', `A confirmation link was sent to ${user.email}.`);
      res.redirect(303, '/account');
    } catch (err) {
      await refuseEmailForm(services, res, err, '');
    }
  });

  router.post('/account/email/cancel', requireRoute('account.email.cancel'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    const revoked = await controlPlane.activationTokens.revokeForSubject(tenant.id, 'email-verification', user.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'user.email-confirmation.cancelled',
      outcome: 'success',
      target: user.email,
      details: { revoked },
    });
    flash(req, 'success', revoked > 0 ? 'The confirmation link was cancelled; nothing changed.' : 'There was no confirmation link to cancel.');
    res.redirect(303, '/account');
  });

  return router;
}

/** Why a confirmation link cannot be used. */
type LinkProblem = 'invalid' | 'expired' | 'stale';

/**
 * Following a confirmation link (`/confirm-email?token=…`, public: the link may be opened in another browser). The
 * first request moves the token into the session and redirects, so it is not left in the address bar; GET shows what
 * will happen without using the link up (mail scanners fetch links too); POST uses it up: the address is confirmed,
 * or for a change becomes the account's address, the old address gets an `email-changed` notice (ASVS 2.5.5's
 * spirit: the owner of the old mailbox hears of it), and the change is audited. A link issued before another change of
 * the account's address confirms nothing.
 */
export function emailConfirmationRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  const openLink = async (res: Response, token: string | undefined): Promise<{ record: ActivationTokenRecord; user: User; to: string } | LinkProblem> => {
    const { tenant } = portalContext(res);
    if (token === undefined) return 'invalid';
    let record: ActivationTokenRecord;
    try {
      record = await controlPlane.activationTokens.inspect(tenant.id, token, 'email-verification', services.now());
    } catch (err) {
      const problem = linkTokenProblem(err);
      if (problem === undefined) throw err;
      return problem;
    }
    const user = await controlPlane.users.findById(tenant.id, record.subject);
    if (user === undefined || user.status === 'disabled' || record.email === undefined) return 'invalid';
    return { record, user, to: record.email };
  };

  const showProblem = (req: Request, res: Response, problem: LinkProblem): void => {
    delete req.session.emailConfirmationToken;
    res.status(problem === 'expired' ? 410 : problem === 'stale' ? 409 : 400).render('confirm-email', { title: 'Confirm your email address', problem });
  };

  router.get('/confirm-email', async (req, res) => {
    const fromLink = typeof req.query.token === 'string' ? req.query.token.slice(0, 100) : undefined;
    // Without a link there is nothing to confirm here: the account page asks for one.
    if (fromLink === undefined && req.session.emailConfirmationToken === undefined) return res.redirect(303, '/account');
    const opened = await openLink(res, fromLink ?? req.session.emailConfirmationToken);
    if (typeof opened === 'string') return showProblem(req, res, opened);
    if (fromLink !== undefined) {
      req.session.emailConfirmationToken = fromLink;
      await saveSession(req);
      return res.redirect(303, '/confirm-email');
    }
    res.render('confirm-email', {
      title: 'Confirm your email address',
      problem: undefined,
      displayName: opened.user.displayName,
      current: opened.user.email,
      address: opened.to,
      change: opened.to !== opened.user.email,
      expiresAt: mailTime(opened.record.expiresAt),
    });
  });

  router.post('/confirm-email', async (req, res) => {
    const { tenant } = portalContext(res);
    const token = req.session.emailConfirmationToken;
    const opened = await openLink(res, token);
    if (typeof opened === 'string' || token === undefined) return showProblem(req, res, typeof opened === 'string' ? opened : 'invalid');
    const { user, to } = opened;
    const actor = { type: 'user' as const, id: user.id };
    try {
      await controlPlane.activationTokens.consume(tenant.id, token, 'email-verification', services.now());
    } catch (err) {
      const problem = linkTokenProblem(err);
      if (problem === undefined) throw err;
      return showProblem(req, res, problem);
    }
    delete req.session.emailConfirmationToken;
    const from = user.email;
    const changedAt = services.now();
    let confirmed: boolean;
    try {
      // Written only while the account still has the address read above: a concurrent change makes this link stale.
      confirmed = await controlPlane.users.confirmEmail(tenant.id, user.id, { from, to }, changedAt);
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_USER_EXISTS') throw err;
      await services.audit(req, tenant.id, { actor, action: 'user.email-changed', outcome: 'denied', target: from, details: { reason: 'address-taken' } });
      res.status(409).render('confirm-email', { title: 'Confirm your email address', problem: 'taken', address: to });
      return;
    }
    if (!confirmed) {
      await services.audit(req, tenant.id, { actor, action: 'user.email-changed', outcome: 'denied', target: from, details: { reason: 'stale-link' } });
      return showProblem(req, res, 'stale');
    }
    if (to === from) {
      await services.audit(req, tenant.id, { actor, action: 'user.email-confirmed', outcome: 'success', target: to });
      flash(req, 'success', `${to} is confirmed as your address.`);
    } else {
      await services.sessionIndex.endAll(tenant.id, user.id, { except: req.sessionID });
      await services.audit(req, tenant.id, { actor, action: 'user.email-changed', outcome: 'success', target: to, details: { from, to } });
      await queueEmailChangedNotice(services, tenant.id, user, from, to, changedAt);
      flash(req, 'success', `Your address is now ${to}: sign in with it from now on. A notice went to ${from}.`);
    }
    await saveSession(req);
    res.redirect(303, req.session.userId === user.id ? '/account' : '/sign-in');
  });

  return router;
}
