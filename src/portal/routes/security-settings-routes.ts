import { Router, type Request, type Response } from 'express';
import { isAllowed, validateIpAllowlist } from '../../auth/ip-allowlist.js';
import { PASSWORD_EXPIRY_EXPLANATION, PASSWORD_HISTORY_EXPLANATION, type PasswordPolicy } from '../../auth/password-policy.js';
import { RetentionError } from '../../errors.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { confirmIdentity, freshAuthenticationUntil, requireFreshAuthentication } from '../reauthentication.js';
import { queueTwoFactorEnforcedNotices } from './security-notices.js';
import { ssoSectionView, type SsoSectionState } from './sso-settings-form.js';

const POLICY_NUMBERS = ['minLength', 'lockoutThreshold', 'lockoutMinutes', 'passwordHistory', 'expiryDays'] as const;

/** What the Security page shows again after a refused change: the form as typed and its problems. */
export interface SettingsPageState {
  policyProblems?: string[];
  policyValues?: Record<string, string>;
  allowlistProblems?: string[];
  allowlistText?: string;
  confirmExclusion?: boolean;
  reauthProblems?: string[];
  /** The single sign-on form as typed, after a refused save. */
  sso?: SsoSectionState;
}

/** Renders the Security page and checks fresh authentication for its changes (shared with the SSO settings routes). */
export interface SecuritySettingsPage {
  render(res: Response, state?: SettingsPageState, status?: number): Promise<void>;
  /** Renders the page with the refusal (403, audited as `action` denied) when the user has not authenticated freshly; true when they have. */
  freshlyAuthenticated(req: Request, res: Response, action: string): Promise<boolean>;
}

/**
 * The Security page of the signed-in user's tenant: every section, each with its form as typed and its problems
 * after a refused change (`state`).
 *
 * @example
 * const page = securitySettingsPage(services);
 * if (!(await page.freshlyAuthenticated(req, res, 'sso.settings.change'))) return;
 */
export function securitySettingsPage(services: PortalServices): SecuritySettingsPage {
  const { controlPlane } = services.deps;

  const render = async (res: Response, state: SettingsPageState = {}, status = 200): Promise<void> => {
    const { security } = portalContext(res);
    const policy: PasswordPolicy = security.passwordPolicy;
    const freshUntil = freshAuthenticationUntil(services, res.req);
    const sso = await ssoSectionView(services, res, state.sso);
    res.status(status).render('security-settings', {
      title: 'Security settings',
      freshUntil: freshUntil === undefined ? undefined : new Date(freshUntil),
      hasTwoFactor: signedInUser(res).totp !== undefined,
      hasPassword: signedInUser(res).passwordHash !== undefined,
      reauthProblems: state.reauthProblems ?? [],
      minLengthFloor: controlPlane.security.minLengthFloor,
      policy: state.policyValues ?? { ...Object.fromEntries(POLICY_NUMBERS.map((k) => [k, String(policy[k])])), blockedWords: policy.blockedWords.join('\n') },
      policyProblems: state.policyProblems ?? [],
      historyExplanation: PASSWORD_HISTORY_EXPLANATION,
      expiryExplanation: PASSWORD_EXPIRY_EXPLANATION,
      requireTwoFactor: security.requireTwoFactor,
      ownerPasswordResetByMail: security.ownerPasswordResetByMail,
      mailConfigured: services.mail !== undefined,
      allowlistText: state.allowlistText ?? security.ipAllowlist.join('\n'),
      allowlistProblems: state.allowlistProblems ?? [],
      confirmExclusion: state.confirmExclusion ?? false,
      clientIp: res.req.ip ?? 'unknown',
      sso,
    });
  };

  const freshlyAuthenticated = async (req: Request, res: Response, action: string): Promise<boolean> => {
    try {
      await requireFreshAuthentication(services, req, res, action);
      return true;
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_REAUTH_REQUIRED') throw err;
      await render(res, { reauthProblems: [err.message] }, 403);
      return false;
    }
  };

  return { render, freshlyAuthenticated };
}

/**
 * The tenant's security settings, for users who may configure: the password policy (history and expiry off by
 * default, with the reason shown; a minimum length not under the operator's floor), tenant-wide 2FA enforcement (turning
 * it on mails every active user a notice, when mail is configured),
 * whether the owner may reset a forgotten password by mail (on by default), and the IP allowlist (a list that would
 * exclude the saving user's own address needs an explicit confirmation). The page also shows the single sign-on
 * section, which only the owner changes (`ssoSettingsRoutes`).
 * Every change needs a fresh authentication (ASVS 3.7.1): a sign-in or a confirmation of identity on this page
 * (`POST /settings/security/confirm`: password, and a code when enrolled) within the last five minutes. Every change
 * and every refusal is audited.
 */
export function securitySettingsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  const { render, freshlyAuthenticated } = securitySettingsPage(services);

  router.get('/settings/security', requireRoute('settings.security.view'), async (_req, res) => render(res));

  router.post('/settings/security/confirm', requireRoute('settings.security.confirm'), async (req, res) => {
    try {
      await confirmIdentity(services, req, res);
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_REAUTH_FAILED') throw err;
      return await render(res, { reauthProblems: [err.message] }, 403);
    }
    flash(req, 'success', 'Identity confirmed: you can change the security settings for the next five minutes.');
    res.redirect(303, '/settings/security');
  });

  router.post('/settings/password-policy', requireRoute('settings.password-policy.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    if (!(await freshlyAuthenticated(req, res, 'policy.password.change'))) return;
    const values: Record<string, string> = Object.fromEntries(POLICY_NUMBERS.map((k) => [k, formField(req, k, 12).trim()]));
    values.blockedWords = formField(req, 'blockedWords', 20_000);
    const input = {
      ...Object.fromEntries(POLICY_NUMBERS.map((k) => [k, /^\d{1,9}$/.test(values[k] ?? '') ? Number(values[k]) : values[k]])),
      blockedWords: (values.blockedWords ?? '')
        .split(/\r?\n/)
        .map((w) => w.trim())
        .filter((w) => w !== ''),
    };
    let policy: PasswordPolicy;
    try {
      policy = await controlPlane.security.setPasswordPolicy(tenant.id, input, signedInUser(res).id, services.now());
    } catch (err) {
      if (!(err instanceof RetentionError) || err.status >= 500) throw err;
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: signedInUser(res).id },
        action: 'policy.password.change',
        outcome: 'failure',
        details: { reason: err.code },
      });
      return await render(res, { policyProblems: [err.message], policyValues: values }, 400);
    }
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'policy.password.changed',
      outcome: 'success',
      details: { ...Object.fromEntries(POLICY_NUMBERS.map((k) => [k, policy[k]])), blockedWords: policy.blockedWords.length },
    });
    flash(req, 'success', 'The password policy was saved.');
    res.redirect(303, '/settings/security');
  });

  router.post('/settings/two-factor-enforcement', requireRoute('settings.two-factor-enforcement.update'), async (req, res) => {
    const { tenant, security } = portalContext(res);
    if (!(await freshlyAuthenticated(req, res, 'policy.two-factor.change'))) return;
    const required = formField(req, 'requireTwoFactor', 8) === 'on';
    const changedAt = services.now();
    await controlPlane.security.setRequireTwoFactor(tenant.id, required, signedInUser(res).id, changedAt);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'policy.two-factor.changed',
      outcome: 'success',
      details: { required },
    });
    if (required && !security.requireTwoFactor) await queueTwoFactorEnforcedNotices(services, tenant, signedInUser(res), changedAt);
    flash(
      req,
      'success',
      required
        ? 'Two-factor authentication is now required for everyone; users without it set it up at their next request.'
        : 'Two-factor authentication is no longer required.',
    );
    res.redirect(303, '/settings/security');
  });

  router.post('/settings/security/owner-password-reset', requireRoute('settings.security.owner-password-reset'), async (req, res) => {
    const { tenant } = portalContext(res);
    if (!(await freshlyAuthenticated(req, res, 'policy.owner-password-reset.change'))) return;
    const allowed = formField(req, 'ownerPasswordResetByMail', 8) === 'on';
    await controlPlane.security.setOwnerPasswordResetByMail(tenant.id, allowed, signedInUser(res).id, services.now());
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'policy.owner-password-reset.changed',
      outcome: 'success',
      details: { allowed },
    });
    flash(
      req,
      'success',
      allowed
        ? 'The owner can now reset a forgotten password by mail (the second factor is still asked for).'
        : 'The owner can no longer reset a forgotten password by mail, nor recover a forgotten one from the sign-in page.',
    );
    res.redirect(303, '/settings/security');
  });

  router.post('/settings/ip-allowlist', requireRoute('settings.ip-allowlist.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    if (!(await freshlyAuthenticated(req, res, 'allowlist.change'))) return;
    const actor = signedInUser(res);
    const text = formField(req, 'allowlist', 40_000);
    const { ranges, problems } = validateIpAllowlist(text);
    if (problems.length > 0) {
      return await render(res, { allowlistText: text, allowlistProblems: problems.map((p) => (p.line > 0 ? `Line ${p.line}: ${p.message}` : p.message)) }, 400);
    }
    const excludesSelf = ranges.length > 0 && !isAllowed(ranges, req.ip);
    if (excludesSelf && formField(req, 'confirmExclusion', 8) !== 'yes') {
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: actor.id },
        action: 'allowlist.change',
        outcome: 'denied',
        details: { reason: 'excludes-own-address-unconfirmed' },
      });
      return await render(res, { allowlistText: text, confirmExclusion: true }, 409);
    }
    const saved = await controlPlane.security.setIpAllowlist(
      tenant.id,
      ranges.map((r) => r.cidr),
      actor.id,
      services.now(),
    );
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: actor.id },
      action: 'allowlist.changed',
      outcome: 'success',
      details: { entries: saved.length, list: saved.join(' ').slice(0, 1500), excludesOwnAddress: excludesSelf },
    });
    flash(
      req,
      'success',
      saved.length === 0
        ? 'The IP allowlist is empty: every address may reach the portal.'
        : `The IP allowlist was saved with ${saved.length} entr${saved.length === 1 ? 'y' : 'ies'}.`,
    );
    res.redirect(303, excludesSelf ? '/sign-in' : '/settings/security');
  });

  return router;
}
