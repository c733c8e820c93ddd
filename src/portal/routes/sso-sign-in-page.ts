import type { Response } from 'express';
import type { StoredSsoSettings } from '../../sso/sso-settings-store.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { tenantBaseUrl } from '../tenant-host.js';

/** What the sign-in page offers of the tenant's single sign-on. */
export interface SsoSignInOption {
  /** "Sign in with <label>". */
  label: string;
  /** Passwords are the owner's break-glass only. */
  required: boolean;
  settings: StoredSsoSettings;
}

/**
 * The tenant's SSO as the sign-in page offers it, or undefined while it is off. A stored document that no longer
 * validates counts as off (and is logged): the password sign-in must keep working for the owner to fix it.
 */
export async function ssoSignInOption(services: PortalServices, tenantId: string): Promise<SsoSignInOption | undefined> {
  let settings: StoredSsoSettings | undefined;
  try {
    settings = await services.deps.controlPlane.sso.get(tenantId);
  } catch (err) {
    services.deps.logger.error({ err, tenantId }, 'the stored single sign-on settings are invalid; SSO is off until they are saved again');
    return undefined;
  }
  if (settings === undefined || settings.mode === 'off') return undefined;
  return { label: settings.buttonLabel, required: settings.mode === 'required', settings };
}

/** The sign-in page, with the tenant's "Sign in with …" link when SSO is on. */
export async function renderSignIn(
  services: PortalServices,
  res: Response,
  status: number,
  state: { email: string; error: string | undefined; notice?: string },
): Promise<void> {
  const option = await ssoSignInOption(services, portalContext(res).tenant.id);
  res.status(status).render('sign-in', {
    title: 'Sign in',
    email: state.email,
    error: state.error,
    notice: state.notice,
    sso: option === undefined ? undefined : { label: option.label, required: option.required },
  });
}

/** The portal's callback URL at the provider: the tenant's public base URL, never the request's Host header. */
export function ssoRedirectUri(services: PortalServices, tenantId: string): string {
  return `${tenantBaseUrl(tenantId, services.options)}/sso/callback`;
}

/** Where the provider sends the browser after RP-initiated logout. */
export function ssoPostLogoutRedirectUri(services: PortalServices, tenantId: string): string {
  return `${tenantBaseUrl(tenantId, services.options)}/sso/signed-out`;
}

/**
 * The provider's logout URL for an SSO session that just ended here (RP-initiated logout), or undefined when SSO is
 * off now or the provider has no `end_session_endpoint`: the browser then simply returns to the sign-in page.
 */
export async function providerLogoutUrl(services: PortalServices, tenantId: string, idToken: string): Promise<URL | undefined> {
  const option = await ssoSignInOption(services, tenantId);
  if (option === undefined) return undefined;
  return services.sso.endSessionUrl(tenantId, option.settings, idToken, ssoPostLogoutRedirectUri(services, tenantId));
}
