import { Router, type Request, type Response } from 'express';
import { linkTokenProblem, type ActivationTokenRecord } from '../../auth/activation-tokens-store.js';
import { hashPassword } from '../../auth/password-hashing.js';
import { checkPassword, checkPasswordReuse, nextPasswordHistory } from '../../auth/password-policy.js';
import { PasswordResetThrottle, type PasswordResetThrottleOptions } from '../../auth/password-reset-throttle.js';
import { ANONYMOUS_ACTOR, type AuditActor } from '../../audit/audit-entry.js';
import { RetentionError } from '../../errors.js';
import type { User } from '../../store/users-store.js';
import { flash, formField, portalContext } from '../portal-context.js';
import { userPasswordMeterView } from '../password-meter-view.js';
import { OPERATOR_RESET_ISSUER } from '../operator-password-reset.js';
import type { PortalServices } from '../portal-services.js';
import { checkSecondFactor, isTotpShaped, normalizeSecondFactorCode } from '../second-factor-check.js';
import { regenerateSession, saveSession } from '../session-lifecycle.js';
import { mailTime, queuePasswordChangedNotice } from './password-mail.js';
import { requestPasswordReset } from './password-reset-request.js';

/** How long a reset link works by default: 30 minutes. */
export const DEFAULT_PASSWORD_RESET_LIFETIME_SECONDS = 30 * 60;

/** Tunables of {@link passwordResetRoutes}. */
export interface PasswordResetOptions {
  /** Lifetime of a reset link in seconds. Default {@link DEFAULT_PASSWORD_RESET_LIFETIME_SECONDS}; 60 to 86,400. */
  lifetimeSeconds?: number;
  /** Limits of "forgot password" requests (default 3 per address and 20 per client an hour). */
  throttle?: Omit<PasswordResetThrottleOptions, 'prefix' | 'now'>;
}

const SECOND_FACTOR_FAILED = 'That code did not work. Enter the current code from your authenticator app, or an unused backup code.';

/** Why a reset link cannot be used, as its page says it. */
type LinkProblem = 'invalid' | 'expired';

/**
 * Forgotten passwords (ASVS 2.5.x):
 * - `GET/POST /forgot-password`: an email address; the answer is one page, the same for every address (see
 *   {@link requestPasswordReset}); a recipient gets a link that works once, for 30 minutes.
 * - `GET /reset-password?token=…`: checks the link without using it up (link previewers fetch links too), moves the
 *   token into the session and redirects to `/reset-password`, so it is in no URL of the form, its reloads, or a
 *   Referer (`Referrer-Policy: no-referrer` anyway). Without a token in the link or the session it redirects to
 *   `/forgot-password`.
 * - `POST /reset-password`: the new password under the tenant's policy (as on the account page), then the second
 *   factor when the user has one (a TOTP or backup code, counted against that factor's lockout as at sign-in, so a
 *   reset never bypasses MFA: ASVS 5.0 6.4.3); then the token is used up atomically (of two concurrent submits one
 *   wins), the password stored, the user's other reset tokens revoked, every session of the user ended, the reset
 *   audited and the user notified. The user then signs in; the reset never signs anybody in.
 *
 * Without mail (`services.mail` undefined) there is no "Forgot password?" link and `/forgot-password` says to ask an
 * administrator.
 */
export function passwordResetRoutes(services: PortalServices, options: PasswordResetOptions = {}): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  const lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_PASSWORD_RESET_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 60 || lifetimeSeconds > 86_400) {
    throw new RetentionError('ERR_CONFIG_INVALID', `a password reset link lives 60 to 86400 seconds, not ${lifetimeSeconds}`);
  }
  const throttle = new PasswordResetThrottle(services.deps.redis, {
    ...options.throttle,
    prefix: `${services.options.redisPrefix}reset:`,
    now: () => services.now().getTime(),
  });
  const lifetimeMinutes = Math.round(lifetimeSeconds / 60);

  const renderForgot = (res: Response, state: 'form' | 'sent' | 'unavailable'): void => {
    res.render('forgot-password', { title: 'Forgot your password?', state, lifetimeMinutes });
  };

  router.get('/forgot-password', (_req, res) => renderForgot(res, services.mail === undefined ? 'unavailable' : 'form'));

  router.post('/forgot-password', async (req, res) => {
    if (services.mail === undefined) return renderForgot(res, 'unavailable');
    const answer = (): Promise<void> =>
      new Promise((resolve, reject) => {
        res.render('forgot-password', { title: 'Forgot your password?', state: 'sent', lifetimeMinutes }, (err: unknown, html?: string) => {
          if (err !== null && err !== undefined) return reject(err instanceof Error ? err : new Error(String(err)));
          res.send(html);
          resolve();
        });
      });
    await requestPasswordReset({ services, mail: services.mail, throttle, lifetimeSeconds, answer }, req, res, formField(req, 'email', 320).trim());
  });

  const auditCompletion = async (
    req: Request,
    res: Response,
    actor: AuditActor,
    outcome: 'success' | 'failure' | 'denied',
    details: Record<string, string | number>,
  ) => {
    await services.audit(req, portalContext(res).tenant.id, { actor, action: 'auth.password-reset.completed', outcome, details });
  };

  /** The page of a link that cannot be used (400 unknown or used, 410 expired); the token leaves the session. */
  const showLinkProblem = (req: Request, res: Response, problem: LinkProblem): void => {
    delete req.session.passwordResetToken;
    res.status(problem === 'expired' ? 410 : 400).render('reset-password', {
      title: 'Reset your password',
      problem,
      mailConfigured: services.mail !== undefined,
    });
  };

  /** The link's record and its user, when the link can still be used; otherwise its problem. */
  const openLink = async (res: Response, token: string | undefined): Promise<{ record: ActivationTokenRecord; user: User } | LinkProblem> => {
    const { tenant, security } = portalContext(res);
    if (token === undefined) return 'invalid';
    let record: ActivationTokenRecord;
    try {
      record = await controlPlane.activationTokens.inspect(tenant.id, token, 'password-reset', services.now());
    } catch (err) {
      const problem = linkTokenProblem(err);
      if (problem === undefined) throw err;
      return problem;
    }
    const user = await controlPlane.users.findById(tenant.id, record.subject);
    if (user === undefined || user.status !== 'active' || user.passwordHash === undefined) return 'invalid';
    // With reset by mail off, only the operator's link (`retention tenant password-reset-link`) resets the owner.
    if (user.role === 'owner' && !security.ownerPasswordResetByMail && record.createdBy !== OPERATOR_RESET_ISSUER) return 'invalid';
    return { record, user };
  };

  const showForm = (res: Response, link: { record: ActivationTokenRecord; user: User }, problems: string[], status = 200): void => {
    const { tenant, security } = portalContext(res);
    const { user, record } = link;
    res.status(status).render('reset-password', {
      title: 'Reset your password',
      problem: undefined,
      email: user.email,
      hasTwoFactor: user.totp !== undefined,
      expiresAt: mailTime(record.expiresAt),
      problems,
      strength: userPasswordMeterView(security.passwordPolicy, user, tenant),
    });
  };

  router.get('/reset-password', async (req, res) => {
    const fromLink = typeof req.query.token === 'string' ? req.query.token.slice(0, 100) : undefined;
    if (fromLink === undefined && req.session.passwordResetToken === undefined) return res.redirect(303, '/forgot-password');
    const opened = await openLink(res, fromLink ?? req.session.passwordResetToken);
    if (typeof opened === 'string') return showLinkProblem(req, res, opened);
    if (fromLink !== undefined) {
      req.session.passwordResetToken = fromLink;
      await saveSession(req);
      return res.redirect(303, '/reset-password');
    }
    showForm(res, opened, []);
  });

  router.post('/reset-password', async (req, res) => {
    const { tenant, security } = portalContext(res);
    const token = req.session.passwordResetToken;
    const opened = await openLink(res, token);
    if (typeof opened === 'string' || token === undefined) {
      const problem = typeof opened === 'string' ? opened : 'invalid';
      await auditCompletion(req, res, ANONYMOUS_ACTOR, 'denied', { reason: `link-${problem}` });
      return showLinkProblem(req, res, problem);
    }
    const { user } = opened;
    const actor: AuditActor = { type: 'user', id: user.id };
    const attempt = { tenantId: tenant.id, account: user.email, ip: req.ip ?? '' };
    const decision = await services.throttle.check(attempt);
    if (!decision.allowed) {
      await auditCompletion(req, res, actor, 'denied', { reason: decision.reason });
      return showForm(
        res,
        opened,
        [`There were too many failed attempts: try again after ${mailTime(decision.retryAt)}. Your link keeps working until it expires.`],
        429,
      );
    }

    const password = formField(req, 'newPassword', 8192);
    const context = { email: user.email, displayName: user.displayName, tenantId: tenant.id, tenantName: tenant.displayName };
    const problems = checkPassword(security.passwordPolicy, password, context);
    if (problems.length === 0) {
      const recent = [...new Set([user.passwordHash ?? '', ...user.passwordHistory])].filter((h) => h !== '');
      problems.push(...(await checkPasswordReuse(security.passwordPolicy, password, recent)));
    }
    if (problems.length > 0) {
      await auditCompletion(req, res, actor, 'failure', { reason: problems.map((p) => p.code).join(',') });
      return showForm(
        res,
        opened,
        problems.map((p) => p.message),
        400,
      );
    }

    let method = 'mail';
    if (user.totp !== undefined) {
      const code = formField(req, 'code', 64);
      const second = await checkSecondFactor(services, req, tenant.id, user, code);
      if (second === undefined) {
        const outcome = await services.throttle.recordFailure(attempt, security.passwordPolicy, 'second-factor');
        await auditCompletion(req, res, actor, 'failure', {
          reason: 'wrong-second-factor',
          kind: isTotpShaped(normalizeSecondFactorCode(code)) ? 'totp' : 'backup-code',
        });
        if (outcome.lockedNow) {
          await services.audit(req, tenant.id, {
            actor,
            action: 'auth.lockout',
            outcome: 'denied',
            details: { until: outcome.lockedUntil?.toISOString() ?? null },
          });
        }
        return showForm(res, opened, [SECOND_FACTOR_FAILED], 401);
      }
      method = `mail+${second}`;
    }

    const passwordHash = await hashPassword(password);
    try {
      await controlPlane.activationTokens.consume(tenant.id, token, 'password-reset', services.now());
    } catch (err) {
      const problem = linkTokenProblem(err);
      if (problem === undefined) throw err;
      await auditCompletion(req, res, actor, 'denied', { reason: problem === 'expired' ? 'link-expired' : 'link-used' });
      return showLinkProblem(req, res, problem);
    }
    const changedAt = services.now();
    await controlPlane.users.setPassword(
      tenant.id,
      user.id,
      passwordHash,
      nextPasswordHistory(security.passwordPolicy, user.passwordHistory, passwordHash),
      changedAt,
    );
    const revoked = await controlPlane.activationTokens.revokeForSubject(tenant.id, 'password-reset', user.id);
    const ended = await services.sessionIndex.endAll(tenant.id, user.id);
    await services.throttle.recordSuccess(attempt, 'sign-in');
    await auditCompletion(req, res, actor, 'success', { method, sessionsEnded: ended, otherLinksRevoked: revoked });
    await queuePasswordChangedNotice(services, req, tenant, user, 'reset', changedAt);
    await regenerateSession(req);
    req.session.tenantId = tenant.id;
    flash(
      req,
      'success',
      ended > 0
        ? `Your password was changed and your ${ended} session(s) were signed out. Sign in with your new password.`
        : 'Your password was changed. Sign in with your new password.',
    );
    await saveSession(req);
    res.redirect(303, '/sign-in');
  });

  return router;
}
