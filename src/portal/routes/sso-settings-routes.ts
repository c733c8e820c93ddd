import { randomInt } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { AuditEvent } from '../../audit/audit-entry.js';
import { RetentionError } from '../../errors.js';
import { parseSsoSettingsInput, SSO_CLIENT_AUTH_METHODS, SsoSettingsError, type SsoClientAuthMethod, type SsoSettingsInput } from '../../sso/sso-settings.js';
import type { SsoSettingsRecord, StoredSsoSettings } from '../../sso/sso-settings-store.js';
import { requireRoute } from '../access-gates.js';
import { flash, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { securitySettingsPage } from './security-settings-routes.js';
import { readSsoForm, ssoCredentialOf, ssoSettingsInputOf, type SsoFormValues } from './sso-settings-form.js';

/** The audit action of a refused change (a saved one is `sso.settings.changed`). */
const CHANGE_ACTION = 'sso.settings.change';

const OWNER_TWO_FACTOR_MISSING =
  'Set up two-factor authentication on your own account first (Your account → Two-factor authentication): while single sign-on is required, your password and a code are the break-glass sign-in for when the provider is unavailable.';

const CONFLICT =
  'The single sign-on settings were changed meanwhile (in another tab or by another session). Nothing was saved: reload the page to see the current settings, then make your change again.';

/** A refused save: how it is audited and what the section shows again. */
interface Refusal {
  outcome: Extract<AuditEvent['outcome'], 'failure' | 'denied'>;
  reason: string;
  status: number;
  values: SsoFormValues;
  problems?: Record<string, string>;
  generalProblems?: string[];
  details?: Record<string, string>;
}

/**
 * `POST /settings/security/sso`: the tenant's single sign-on settings, for the owner only (they decide how everybody
 * signs in, the owner's break-glass sign-in included), after a fresh authentication like every security setting.
 *
 * The form is validated as a whole (problems by field, typed values except secrets shown again, 400). A client secret
 * or private key left blank keeps the stored one; the chosen method's credential is required unless the mode is
 * `off`, and switching between a secret and a key drops the other. Secrets are sealed for the tenant before anything
 * else sees them. Mode `required` needs the owner to have two-factor authentication (the break-glass sign-in keeps
 * password and code). Before an `optional` or `required` mode is saved, the provider is discovered with the candidate
 * settings (under a version never cached, so nothing earlier is reused), and a provider that cannot be reached, or is
 * refused by the operator's network policy, refuses the save with its reason. The save is optimistic: the version the
 * form was loaded with must still be the stored one (409 otherwise). The relying party then forgets the tenant's
 * cached discovery.
 *
 * Audited: `sso.settings.changed` with the mode, preset, issuer, method, number of allowed domains, whether the
 * provider's MFA counts and whether the credential changed (never a secret); refusals as `sso.settings.change`
 * (`failure` for invalid input, an unreachable provider or a conflict; `denied` without fresh authentication or the
 * owner's second factor) with the reason.
 */
export function ssoSettingsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane, keyring } = services.deps;
  const page = securitySettingsPage(services);

  const refuse = async (req: Request, res: Response, refusal: Refusal): Promise<void> => {
    await services.audit(req, portalContext(res).tenant.id, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: CHANGE_ACTION,
      outcome: refusal.outcome,
      details: { reason: refusal.reason, ...refusal.details },
    });
    await page.render(
      res,
      { sso: { values: refusal.values, problems: refusal.problems ?? {}, ...(refusal.generalProblems ? { generalProblems: refusal.generalProblems } : {}) } },
      refusal.status,
    );
  };

  router.post('/settings/security/sso', requireRoute('settings.sso.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    const actor = signedInUser(res);
    if (!(await page.freshlyAuthenticated(req, res, CHANGE_ACTION))) return;
    const now = services.now();
    const { values, secrets } = readSsoForm(req);
    const stored = await controlPlane.sso.get(tenant.id);
    const expectedVersion = /^\d{1,9}$/.test(values.version) ? Number(values.version) : -1;
    if (expectedVersion !== (stored?.version ?? 0)) {
      return refuse(req, res, { outcome: 'failure', reason: 'ERR_SETTINGS_CONFLICT', status: 409, values, generalProblems: [CONFLICT] });
    }

    const problems: Record<string, string> = {};
    let input: SsoSettingsInput | undefined;
    try {
      input = parseSsoSettingsInput(ssoSettingsInputOf(values), { allowHttpLoopbackIssuer: services.deps.sso?.allowHttpLoopbackIssuer === true });
    } catch (err) {
      if (!(err instanceof SsoSettingsError)) throw err;
      Object.assign(problems, err.problems);
    }
    const method =
      input?.clientAuthMethod ??
      ((SSO_CLIENT_AUTH_METHODS as readonly string[]).includes(values.clientAuthMethod) ? (values.clientAuthMethod as SsoClientAuthMethod) : undefined);
    const credential = await ssoCredentialOf({ keyring, tenantId: tenant.id, method, required: values.mode !== 'off', secrets, values, stored, now });
    Object.assign(problems, credential.problems);
    const ownerTwoFactorMissing = values.mode === 'required' && actor.totp === undefined;
    if (ownerTwoFactorMissing) problems.mode = OWNER_TWO_FACTOR_MISSING;
    if (input === undefined || Object.keys(problems).length > 0) {
      return refuse(req, res, {
        outcome: ownerTwoFactorMissing ? 'denied' : 'failure',
        reason: ownerTwoFactorMissing ? 'owner-two-factor-missing' : 'ERR_SSO_SETTINGS_INVALID',
        status: 400,
        values,
        problems,
        details: { fields: Object.keys(problems).join(',') },
      });
    }

    const record: SsoSettingsRecord = { ...input, ...credential.credential };
    if (record.mode !== 'off') {
      const candidate: StoredSsoSettings = { ...record, version: -randomInt(1, 2 ** 47), updatedAt: now, updatedBy: actor.id };
      try {
        await services.sso.configuration(tenant.id, candidate);
      } catch (err) {
        if (!(err instanceof RetentionError) || err.code !== 'ERR_SSO_PROVIDER_UNAVAILABLE') throw err;
        return await refuse(req, res, {
          outcome: 'failure',
          reason: err.code,
          status: 400,
          values,
          problems: {
            issuer: `${err.message.replace(/\.?$/, '.')} Check the issuer URL, and that the provider answers from this portal's network. Nothing was saved.`,
          },
          details: { issuer: record.issuer },
        });
      } finally {
        services.sso.forget(tenant.id);
      }
    }

    try {
      await controlPlane.sso.put(tenant.id, record, { actor: actor.id, expectedVersion, now });
    } catch (err) {
      if (!(err instanceof RetentionError) || err.code !== 'ERR_SETTINGS_CONFLICT') throw err;
      return await refuse(req, res, { outcome: 'failure', reason: err.code, status: 409, values, generalProblems: [CONFLICT] });
    }
    services.sso.forget(tenant.id);
    await services.audit(req, tenant.id, {
      actor: { type: 'user', id: actor.id },
      action: 'sso.settings.changed',
      outcome: 'success',
      details: {
        mode: record.mode,
        preset: record.preset,
        issuer: record.issuer,
        clientAuthMethod: record.clientAuthMethod,
        allowedDomains: record.allowedDomains.length,
        acceptProviderMfa: record.acceptProviderMfa,
        secretChanged: record.clientSecret !== stored?.clientSecret || record.privateKey !== stored?.privateKey,
      },
    });
    flash(
      req,
      'success',
      record.mode === 'off'
        ? 'Single sign-on is off: everyone signs in with a password.'
        : record.mode === 'optional'
          ? `Single sign-on was saved: users can sign in with ${record.buttonLabel} or with their password.`
          : `Single sign-on was saved and is required: everyone signs in with ${record.buttonLabel}, except you as the owner, who keeps password and two-factor authentication as the break-glass sign-in.`,
    );
    res.redirect(303, '/settings/security');
  });

  return router;
}
