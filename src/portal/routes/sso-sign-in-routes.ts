import { Router, type Request, type Response } from 'express';
import { ANONYMOUS_ACTOR, type AuditActor } from '../../audit/audit-entry.js';
import { RetentionError } from '../../errors.js';
import { maskEmailAddress } from '../../masking/mask-email-address.js';
import { claimedIdentity, unlinkableReason, type SsoClaimedIdentity } from '../../sso/sso-identity-claims.js';
import { SsoSignInRefused } from '../../sso/sso-refusal.js';
import { isAllowedSsoEmail } from '../../sso/sso-settings.js';
import type { StoredSsoSettings } from '../../sso/sso-settings-store.js';
import type { User } from '../../store/users-store.js';
import { requireRoute } from '../access-gates.js';
import { flash, portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { safeReturnPath } from '../return-path.js';
import { regenerateSession, saveSession } from '../session-lifecycle.js';
import { completeSignIn } from './sign-in-routes.js';
import { renderSignIn, ssoRedirectUri, ssoSignInOption } from './sso-sign-in-page.js';

/** How long the provider may take between the redirect and the callback. */
export const SSO_SIGN_IN_WINDOW_MS = 10 * 60_000;
/** How recent the provider's authentication must be for a confirmation of identity (with `prompt=login`). */
const REAUTHENTICATION_MAX_AGE_SECONDS = 300;

/**
 * Single sign-on with the tenant's OpenID provider (issue 14): `/sso/start` sends the browser to the provider with a
 * fresh `state`, `nonce` and PKCE verifier kept in the session; `/sso/callback` takes them out (single use, ten
 * minutes, under the settings version they were made with), has the relying party exchange the code and verify the
 * ID token, then finds the administrator: by the provider's subject when linked, else, once, by the address the
 * provider verified (an allowed domain) — never creating one. A deactivated user is refused; an invited one becomes
 * active (the provider proved the invited address). The provider's MFA counts as the second factor only when the
 * tenant accepts it and the token shows it; otherwise the portal's own second factor follows, as after a password.
 * Every refusal is audited with its reason (no token, no code).
 *
 * `/account/sso/reauthenticate` is the same round trip with `prompt=login` for a signed-in user: a confirmation of
 * identity for users without a password (and for anyone who prefers it), which must come back as the same user.
 */
export function ssoSignInRoutes(services: PortalServices): { publicRoutes: Router; signedInRoutes: Router } {
  const router = Router();
  const signedInRoutes = Router();
  const { controlPlane } = services.deps;

  const refuse = async (req: Request, res: Response, refusal: SsoSignInRefused, actor: AuditActor, extra: Record<string, string> = {}): Promise<void> => {
    const { tenant } = portalContext(res);
    await services.audit(req, tenant.id, {
      actor,
      action: 'auth.login',
      outcome: refusal.reason === 'user-inactive' || refusal.reason === 'sso-off' ? 'denied' : 'failure',
      details: {
        method: 'sso',
        reason: refusal.reason,
        ...(refusal.providerError !== undefined ? { error: refusal.providerError.slice(0, 60) } : {}),
        ...extra,
      },
    });
    // Back to a page of the portal, never left on the callback URL (whose code a reload or the history would replay).
    flash(req, 'error', refusal.message);
    await saveSession(req);
    res.redirect(303, req.session.userId !== undefined ? '/account' : '/sign-in');
  };

  const start = async (req: Request, res: Response, purpose: 'sign-in' | 'reauthenticate'): Promise<void> => {
    const { tenant, user } = portalContext(res);
    const option = await ssoSignInOption(services, tenant.id);
    if (option === undefined) {
      flash(
        req,
        'error',
        purpose === 'reauthenticate'
          ? 'Single sign-on is off for this organisation: confirm your identity with your password.'
          : 'Single sign-on is not turned on for this organisation. Sign in with your email address and password.',
      );
      await saveSession(req);
      return res.redirect(303, purpose === 'reauthenticate' ? '/account' : '/sign-in');
    }
    let request;
    try {
      request = await services.sso.authorizationRequest(tenant.id, option.settings, ssoRedirectUri(services, tenant.id), {
        reauthenticate: purpose === 'reauthenticate',
        ...(purpose === 'reauthenticate' && user !== undefined ? { loginHint: user.email } : {}),
      });
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_SSO_PROVIDER_UNAVAILABLE') throw err;
      services.deps.logger.warn({ tenantId: tenant.id, err: err.message }, 'SSO provider unavailable');
      return refuse(req, res, new SsoSignInRefused('provider-unreachable'), user === undefined ? ANONYMOUS_ACTOR : { type: 'user', id: user.id });
    }
    const returnTo = purpose === 'reauthenticate' ? (safeReturnPath(req.query.returnTo) ?? '/account') : req.session.returnTo;
    req.session.ssoPending = {
      state: request.state,
      nonce: request.nonce,
      codeVerifier: request.codeVerifier,
      startedAt: services.now().getTime(),
      settingsVersion: option.settings.version,
      purpose,
      ...(user !== undefined && purpose === 'reauthenticate' ? { userId: user.id } : {}),
      ...(returnTo !== undefined ? { returnTo } : {}),
    };
    await saveSession(req);
    res.redirect(303, request.url.href);
  };

  router.get('/sso/start', async (req, res) => {
    if (portalContext(res).user !== undefined) return res.redirect(303, '/');
    await start(req, res, 'sign-in');
  });

  signedInRoutes.get('/account/sso/reauthenticate', requireRoute('account.sso.reauthenticate'), async (req, res) => {
    await start(req, res, 'reauthenticate');
  });

  /** The administrator the identity stands for: linked by subject, or linked now through the verified address. */
  const findUser = async (req: Request, res: Response, settings: StoredSsoSettings, identity: SsoClaimedIdentity): Promise<User> => {
    const { tenant } = portalContext(res);
    const linked = await controlPlane.ssoIdentities.find(tenant.id, identity.issuer, identity.subject);
    if (linked !== undefined) {
      // The allowed domains hold at every sign-in: taking a domain off the list shuts its linked users out too.
      if (identity.claimedEmail !== undefined && !isAllowedSsoEmail(identity.claimedEmail, settings.allowedDomains)) {
        throw new SsoSignInRefused('domain-not-allowed');
      }
      const user = await controlPlane.users.findById(tenant.id, linked.userId);
      if (user === undefined) throw new SsoSignInRefused('unknown-subject');
      return user;
    }
    if (identity.verifiedEmail === undefined) throw new SsoSignInRefused(unlinkableReason(identity, settings));
    const user = await controlPlane.users.findByEmail(tenant.id, identity.verifiedEmail);
    if (user === undefined) throw new SsoSignInRefused('unknown-subject');
    if (user.status === 'disabled') return user;
    const earlier = await controlPlane.ssoIdentities.forUser(tenant.id, user.id);
    if (earlier !== undefined && earlier.issuer === identity.issuer) throw new SsoSignInRefused('identity-mismatch');
    if (earlier !== undefined) {
      // The tenant moved to another provider: the identity at the old one can no longer sign in, so it gives way.
      await controlPlane.ssoIdentities.unlink(tenant.id, user.id);
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: 'sso.unlinked',
        outcome: 'success',
        details: { userId: user.id, issuer: earlier.issuer, reason: 'provider-changed' },
      });
    }
    const now = services.now();
    const linkedNow = await controlPlane.ssoIdentities.link({
      tenantId: tenant.id,
      userId: user.id,
      issuer: identity.issuer,
      subject: identity.subject,
      linkedEmail: identity.verifiedEmail,
      linkedAt: now,
    });
    if (!linkedNow) throw new SsoSignInRefused('identity-mismatch');
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: 'sso.linked',
      outcome: 'success',
      details: { issuer: identity.issuer, email: maskEmailAddress(identity.verifiedEmail) },
    });
    if (user.status === 'invited' && (await controlPlane.users.activateInvitedThroughSso(tenant.id, user.id, now))) {
      await services.audit(req, tenant.id, { actor: { type: 'user', id: user.id }, action: 'user.activated', outcome: 'success', details: { method: 'sso' } });
      return (await controlPlane.users.findById(tenant.id, user.id)) ?? user;
    }
    return user;
  };

  router.get('/sso/callback', async (req, res) => {
    const { tenant } = portalContext(res);
    const pending = req.session.ssoPending;
    delete req.session.ssoPending;
    await saveSession(req);
    const signedInUserId = req.session.userId;
    const anonymous: AuditActor = signedInUserId === undefined ? ANONYMOUS_ACTOR : { type: 'user', id: signedInUserId };
    if (pending === undefined) return refuse(req, res, new SsoSignInRefused('state-unknown'), anonymous);
    const option = await ssoSignInOption(services, tenant.id);
    if (option === undefined) return refuse(req, res, new SsoSignInRefused('sso-off'), anonymous);
    if (services.now().getTime() - pending.startedAt > SSO_SIGN_IN_WINDOW_MS || option.settings.version !== pending.settingsVersion) {
      return refuse(req, res, new SsoSignInRefused('sign-in-expired'), anonymous);
    }
    const reauthenticating = pending.purpose === 'reauthenticate';
    if (reauthenticating && (signedInUserId === undefined || signedInUserId !== pending.userId)) {
      return refuse(req, res, new SsoSignInRefused('state-unknown'), anonymous);
    }
    let identity: SsoClaimedIdentity;
    let idToken: string;
    try {
      const callbackUrl = new URL(req.originalUrl, ssoRedirectUri(services, tenant.id));
      const result = await services.sso.callback(tenant.id, option.settings, callbackUrl, {
        state: pending.state,
        nonce: pending.nonce,
        codeVerifier: pending.codeVerifier,
        ...(reauthenticating ? { maxAgeSeconds: REAUTHENTICATION_MAX_AGE_SECONDS } : {}),
      });
      idToken = result.idToken;
      identity = claimedIdentity(result.claims, option.settings);
    } catch (err) {
      if (err instanceof SsoSignInRefused) return refuse(req, res, err, anonymous);
      if (err instanceof RetentionError && err.code === 'ERR_SSO_PROVIDER_UNAVAILABLE') {
        services.deps.logger.warn({ tenantId: tenant.id, err: err.message }, 'SSO provider unavailable');
        return refuse(req, res, new SsoSignInRefused('provider-unreachable'), anonymous);
      }
      throw err;
    }
    const claimed: Record<string, string> = identity.claimedEmail !== undefined ? { email: maskEmailAddress(identity.claimedEmail) } : {};
    let user: User;
    try {
      user = await findUser(req, res, option.settings, identity);
    } catch (err) {
      if (err instanceof SsoSignInRefused) return refuse(req, res, err, anonymous, { issuer: identity.issuer, ...claimed });
      throw err;
    }
    const actor: AuditActor = { type: 'user', id: user.id };
    if (user.status !== 'active') return refuse(req, res, new SsoSignInRefused('user-inactive'), actor, { issuer: identity.issuer });
    await controlPlane.ssoIdentities.recordSignIn(tenant.id, identity.issuer, identity.subject, services.now());

    if (reauthenticating) {
      if (user.id !== signedInUserId) return refuse(req, res, new SsoSignInRefused('reauthentication-other-user'), anonymous, { issuer: identity.issuer });
      req.session.reauthenticatedAt = services.now().getTime();
      await saveSession(req);
      await services.audit(req, tenant.id, { actor, action: 'auth.reauthenticated', outcome: 'success', details: { method: 'sso', issuer: identity.issuer } });
      flash(req, 'success', 'Identity confirmed: for the next five minutes you can make changes that need a fresh sign-in.');
      return res.redirect(303, safeReturnPath(pending.returnTo) ?? '/account');
    }

    const sso = { idToken, issuer: identity.issuer };
    if (option.settings.acceptProviderMfa && identity.providerMfa) {
      req.session.returnTo = pending.returnTo;
      return completeSignIn(services, req, res, user, 'sso+mfa', false, sso);
    }
    if (user.totp !== undefined) {
      await regenerateSession(req);
      Object.assign(req.session, {
        tenantId: tenant.id,
        pendingUserId: user.id,
        pendingSince: services.now().getTime(),
        pendingSso: sso,
        ...(pending.returnTo !== undefined ? { returnTo: pending.returnTo } : {}),
      });
      await saveSession(req);
      return res.redirect(303, '/sign-in/second-factor');
    }
    if (pending.returnTo !== undefined) req.session.returnTo = pending.returnTo;
    await completeSignIn(services, req, res, user, 'sso', false, sso);
  });

  router.get('/sso/signed-out', async (req, res) => {
    if (portalContext(res).user !== undefined) return res.redirect(303, '/');
    await renderSignIn(services, res, 200, { email: '', error: undefined, notice: 'You have signed out, here and at your identity provider.' });
  });

  return { publicRoutes: router, signedInRoutes };
}
