import { Router, type Response } from 'express';
import { generateBackupCodes, hashBackupCodes } from '../../auth/backup-codes.js';
import { renderQrCodeSvg } from '../../auth/qr-code-svg.js';
import { buildOtpauthUri, formatTotpKeyForManualEntry, generateTotpSecret, verifyTotp } from '../../auth/totp.js';
import { encodeBase32 } from '../../auth/base32.js';
import { openSecret, sealSecret } from '../../crypto/secret-box.js';
import { RetentionError } from '../../errors.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import { totpSecretContext, type PortalServices } from '../portal-services.js';
import { reauthenticate } from '../reauthentication.js';
import { queueOwnFactorNotice } from './security-notices.js';
import { ssoSignInOption } from './sso-sign-in-page.js';

/**
 * TOTP enrolment, backup codes and turning 2FA off (refused while the tenant requires 2FA, and for the owner while
 * single sign-on is required: password and code are then the owner's break-glass sign-in); each change mails the user a notice (when mail is configured:
 * when, from which address, what to do if it was not them; never a code), queued after the change is stored.
 *
 * The QR code is rendered on the server as SVG and embedded as an `<img src="data:image/svg+xml;base64,…">`: an SVG
 * loaded as an image cannot run script or load anything, the markup never becomes part of the page's DOM, the page
 * still prints every value with `<%= %>`, and the CSP only needs `img-src data:` (no inline script or style).
 */
export function twoFactorRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane, keyring } = services.deps;

  const showBackupCodes = (res: Response, codes: string[], reason: 'enrolled' | 'regenerated'): void => {
    res.render('backup-codes', { title: 'Your backup codes', codes, reason, generatedAt: services.now() });
  };

  router.get('/account/two-factor/setup', requireRoute('account.two-factor.form'), async (_req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    if (user.totp !== undefined) return res.redirect(303, '/account');
    const context = totpSecretContext(tenant.id, user.id);
    let secret: string;
    if (user.pendingTotpSecret !== undefined) {
      secret = openSecret(keyring, user.pendingTotpSecret, context);
    } else {
      secret = encodeBase32(generateTotpSecret());
      await controlPlane.users.setPendingTotpSecret(tenant.id, user.id, sealSecret(keyring, secret, context), services.now());
    }
    const uri = buildOtpauthUri({ secret, issuer: `Retention (${tenant.id})`, account: user.email });
    const svg = await renderQrCodeSvg(uri);
    res.render('two-factor-setup', {
      title: 'Set up two-factor authentication',
      qrCodeDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
      manualKey: formatTotpKeyForManualEntry(secret),
      issuer: `Retention (${tenant.id})`,
      enforced: portalContext(res).security.requireTwoFactor,
      error: undefined,
    });
  });

  router.post('/account/two-factor/setup', requireRoute('account.two-factor.enable'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    if (user.totp !== undefined) return res.redirect(303, '/account');
    const sealed = user.pendingTotpSecret;
    if (sealed === undefined) return res.redirect(303, '/account/two-factor/setup');
    const secret = openSecret(keyring, sealed, totpSecretContext(tenant.id, user.id));
    const result = verifyTotp(secret, formField(req, 'code', 64), { now: services.now() });
    if (!result.valid) {
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: '2fa.enrol',
        outcome: 'failure',
        details: { reason: result.reason },
      });
      const svg = await renderQrCodeSvg(buildOtpauthUri({ secret, issuer: `Retention (${tenant.id})`, account: user.email }));
      return res.status(400).render('two-factor-setup', {
        title: 'Set up two-factor authentication',
        qrCodeDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
        manualKey: formatTotpKeyForManualEntry(secret),
        issuer: `Retention (${tenant.id})`,
        enforced: portalContext(res).security.requireTwoFactor,
        error: 'That code did not match. Check that the app shows the account just added and enter its current code.',
      });
    }
    const codes = generateBackupCodes();
    const enabledAt = services.now();
    const enabled = await controlPlane.users.enableTotp(tenant.id, user.id, sealed, result.step, await hashBackupCodes(codes), enabledAt);
    if (!enabled) throw new RetentionError('ERR_TOTP_ENROLMENT_STALE', 'Two-factor setup was started again elsewhere. Open the setup page again.');
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: '2fa.enabled',
      outcome: 'success',
      details: { backupCodes: codes.length },
    });
    await queueOwnFactorNotice(services, req, tenant, user, 'two-factor-enabled', enabledAt);
    showBackupCodes(res, codes, 'enrolled');
  });

  router.post('/account/backup-codes', requireRoute('account.backup-codes.renew'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    if (user.totp === undefined) throw new RetentionError('ERR_TWO_FACTOR_OFF', 'Backup codes come with two-factor authentication: set it up first.');
    await reauthenticate(services, req, res, '2fa.backup-codes.regenerate');
    const codes = generateBackupCodes();
    const renewedAt = services.now();
    await controlPlane.users.setBackupCodes(tenant.id, user.id, await hashBackupCodes(codes), renewedAt);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: user.id },
      action: '2fa.backup-codes.regenerated',
      outcome: 'success',
      details: { backupCodes: codes.length },
    });
    await queueOwnFactorNotice(services, req, tenant, user, 'backup-codes-renewed', renewedAt);
    showBackupCodes(res, codes, 'regenerated');
  });

  router.post('/account/two-factor/disable', requireRoute('account.two-factor.disable'), async (req, res) => {
    const { tenant, security } = portalContext(res);
    const user = signedInUser(res);
    if (security.requireTwoFactor) {
      await services.audit(req, tenant.id, { actor: { type: 'user', id: user.id }, action: '2fa.disable', outcome: 'denied', details: { reason: 'enforced' } });
      throw new RetentionError('ERR_TWO_FACTOR_ENFORCED', 'Your organisation requires two-factor authentication, so it cannot be turned off.');
    }
    if (user.totp === undefined) return res.redirect(303, '/account');
    if (user.role === 'owner' && (await ssoSignInOption(services, tenant.id))?.required === true) {
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: '2fa.disable',
        outcome: 'denied',
        details: { reason: 'sso-required-break-glass' },
      });
      throw new RetentionError(
        'ERR_TWO_FACTOR_ENFORCED',
        'Single sign-on is required in your organisation, and your password with two-factor authentication is the break-glass sign-in for when the provider is unavailable, so two-factor authentication cannot be turned off. Set single sign-on to optional or off first (Security settings) if you must.',
      );
    }
    await reauthenticate(services, req, res, '2fa.disable');
    const disabledAt = services.now();
    await controlPlane.users.disableTotp(tenant.id, user.id, disabledAt);
    await services.audit(req, tenant.id, { actor: { type: 'user', id: user.id }, action: '2fa.disabled', outcome: 'success' });
    await queueOwnFactorNotice(services, req, tenant, user, 'two-factor-disabled', disabledAt);
    flash(req, 'success', 'Two-factor authentication is off. Your backup codes no longer work.');
    res.redirect(303, '/account');
  });

  return router;
}
