import { RetentionError } from '../errors.js';

/**
 * How a tenant signs in (issue 14): `off` (passwords only), `optional` (a password or the identity provider) or
 * `required` (the identity provider only, except the owner's break-glass sign-in with password and 2FA).
 */
export const SSO_MODES = ['off', 'optional', 'required'] as const;
export type SsoMode = (typeof SSO_MODES)[number];

/** How the portal authenticates to the provider's token endpoint. */
export const SSO_CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type SsoClientAuthMethod = (typeof SSO_CLIENT_AUTH_METHODS)[number];

/** The ID token claim that carries the address an identity is linked by at its first use. */
export const SSO_EMAIL_CLAIMS = ['email', 'preferred_username'] as const;
export type SsoEmailClaim = (typeof SSO_EMAIL_CLAIMS)[number];

/** The providers the settings page has hints and checks for; `generic` is any OpenID provider. */
export const SSO_PRESET_IDS = ['entra-id', 'google-workspace', 'okta', 'generic'] as const;
export type SsoPresetId = (typeof SSO_PRESET_IDS)[number];

/** A claim of the ID token that must have one value (Entra ID's directory `tid`, Google Workspace's domain `hd`). */
export interface SsoRequiredClaim {
  claim: 'tid' | 'hd';
  value: string;
}

/** A tenant's single sign-on settings, as validated; the client secret or private key is passed apart, to be sealed. */
export interface SsoSettingsInput {
  mode: SsoMode;
  preset: SsoPresetId;
  /** The issuer (`iss`), without a trailing slash; discovery is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientAuthMethod: SsoClientAuthMethod;
  emailClaim: SsoEmailClaim;
  /** Lower-case domains whose addresses may sign in; at least one unless the mode is `off`. */
  allowedDomains: string[];
  /** Set from the preset: Entra ID's `tid` (from the issuer), Google Workspace's `hd` (the first allowed domain). */
  requiredClaim: SsoRequiredClaim | undefined;
  /** The provider's MFA (`amr` or `acr` in the ID token) counts as the second factor instead of the portal's own. */
  acceptProviderMfa: boolean;
  /**
   * `acr` values that mean the provider used more than one factor (e.g. Okta's `urn:okta:loa:2fa:any`), besides the
   * `amr` values that say so (see `providerMfaEvidence`). Empty: only `amr` counts.
   */
  mfaAcrValues: string[];
  /** The name on the sign-in button: "Sign in with <label>". */
  buttonLabel: string;
}

/** One preset: what the settings page says, and the label it proposes. */
export interface SsoPreset {
  label: string;
  issuerHint: string;
  emailClaim: SsoEmailClaim;
  hint: string;
}

/** Presets of the settings page (README, "Single sign-on", has the step-by-step setup of each). */
export const SSO_PRESETS: Readonly<Record<SsoPresetId, SsoPreset>> = {
  'entra-id': {
    label: 'Microsoft',
    issuerHint: 'https://login.microsoftonline.com/<directory (tenant) ID>/v2.0',
    emailClaim: 'preferred_username',
    hint: 'Use your directory’s own issuer (not "common" or "organizations"); the ID token’s tid must be that directory. preferred_username is the sign-in name, always in a domain your directory verified; the email claim counts as verified only with the optional claim xms_edov.',
  },
  'google-workspace': {
    label: 'Google',
    issuerHint: 'https://accounts.google.com',
    emailClaim: 'email',
    hint: 'The ID token’s hd claim must be your Workspace domain (the first allowed domain).',
  },
  okta: {
    label: 'Okta',
    issuerHint: 'https://<your org>.okta.com/oauth2/default',
    emailClaim: 'email',
    hint: 'Use the issuer of the authorization server your app uses (Security → API in the Okta admin console).',
  },
  generic: {
    label: 'your identity provider',
    issuerHint: 'https://idp.example.com',
    emailClaim: 'email',
    hint: 'Any OpenID Connect provider with discovery, the authorization code flow with PKCE, and the email and email_verified claims.',
  },
};

/** Entra ID issuers that stand for many directories: their tokens cannot be tied to one tenant. */
const ENTRA_MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
const ENTRA_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/v2\.0$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** What {@link parseSsoSettingsInput} allows besides the defaults. */
export interface SsoSettingsOptions {
  /** Accept `http://` issuers on loopback (the test suite's provider); production issuers are always `https://`. */
  allowHttpLoopbackIssuer?: boolean;
}

/** The refusal of an SSO form: `ERR_SSO_SETTINGS_INVALID`, with each problem by its form field. */
export class SsoSettingsError extends RetentionError {
  constructor(readonly problems: Readonly<Record<string, string>>) {
    super('ERR_SSO_SETTINGS_INVALID', Object.values(problems).join(' '));
  }
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T | undefined): T | undefined {
  if (value === undefined || value === '') return fallback;
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

/**
 * The issuer URL in the form its tokens carry it: `https://` (or `http://` on loopback when allowed), no user name,
 * query or fragment, no trailing slash. Undefined when it is none of that.
 */
export function normalizeIssuer(value: unknown, options: SsoSettingsOptions = {}): string | undefined {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 500) return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && options.allowHttpLoopbackIssuer === true && LOOPBACK_HOSTS.has(url.hostname));
  if (!secure || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  return url.href.replace(/\/+$/, '');
}

/**
 * Validates the SSO form of the Security page (owner only) into {@link SsoSettingsInput}, naming every problem at once
 * ({@link SsoSettingsError} with `problems` by field). With mode `off` only the mode is required, so a tenant can
 * turn SSO off without fixing the rest. Entra ID requires a single-directory issuer, whose directory id becomes the
 * required `tid`; Google Workspace requires `hd` to be the first allowed domain.
 *
 * @example
 * parseSsoSettingsInput({ mode: 'optional', preset: 'okta', issuer: 'https://acme.okta.com/oauth2/default', clientId: '0oa1', allowedDomains: 'acme.example' });
 */
export function parseSsoSettingsInput(input: Readonly<Record<string, unknown>>, options: SsoSettingsOptions = {}): SsoSettingsInput {
  const problems: Record<string, string> = {};
  const mode = oneOf(input.mode, SSO_MODES, undefined);
  if (mode === undefined) problems.mode = 'Choose off, optional or required.';
  const chosenPreset = oneOf(input.preset, SSO_PRESET_IDS, 'generic');
  if (chosenPreset === undefined) problems.preset = 'Choose Microsoft Entra ID, Google Workspace, Okta or another OpenID provider.';
  const preset = chosenPreset ?? 'generic';
  const off = mode === 'off';
  const issuer = normalizeIssuer(input.issuer, options);
  if (issuer === undefined && !(off && (input.issuer === undefined || input.issuer === ''))) {
    problems.issuer = `Enter the issuer URL of your provider, starting with https:// (for example ${SSO_PRESETS[preset].issuerHint}).`;
  }
  const clientId = typeof input.clientId === 'string' ? input.clientId.trim() : '';
  if (!CLIENT_ID.test(clientId) && !(off && clientId === '')) problems.clientId = 'Enter the client (application) ID the provider gave this portal.';
  const clientAuthMethod = oneOf(input.clientAuthMethod, SSO_CLIENT_AUTH_METHODS, 'client_secret_basic');
  if (clientAuthMethod === undefined) problems.clientAuthMethod = 'Choose a client secret (basic or post) or a private key (private_key_jwt).';
  const emailClaim = oneOf(input.emailClaim, SSO_EMAIL_CLAIMS, SSO_PRESETS[preset].emailClaim);
  if (emailClaim === undefined) problems.emailClaim = 'Choose email or preferred_username.';

  const domainsText = Array.isArray(input.allowedDomains)
    ? input.allowedDomains.join('\n')
    : typeof input.allowedDomains === 'string'
      ? input.allowedDomains
      : '';
  const allowedDomains = [
    ...new Set(
      domainsText
        .split(/[\s,]+/)
        .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
        .filter((d) => d !== ''),
    ),
  ];
  const badDomains = allowedDomains.filter((d) => !DOMAIN.test(d));
  if (badDomains.length > 0) problems.allowedDomains = `These are not domain names: ${badDomains.slice(0, 5).join(', ')}.`;
  else if (allowedDomains.length > 50) problems.allowedDomains = 'List at most 50 domains.';
  else if (allowedDomains.length === 0 && !off) problems.allowedDomains = 'List the email domains whose users may sign in (for example acme.example).';

  let requiredClaim: SsoRequiredClaim | undefined;
  if (preset === 'entra-id' && issuer !== undefined) {
    const directory = ENTRA_ISSUER.exec(issuer)?.[1];
    const segment = new URL(issuer).pathname.split('/')[1] ?? '';
    if (directory !== undefined) requiredClaim = { claim: 'tid', value: directory };
    else if (!off) {
      problems.issuer = ENTRA_MULTI_TENANT.has(segment.toLowerCase())
        ? `"${segment}" stands for many directories, so its tokens cannot be tied to yours: use https://login.microsoftonline.com/<your directory (tenant) ID>/v2.0.`
        : 'An Entra ID issuer is https://login.microsoftonline.com/<directory (tenant) ID>/v2.0 (the ID is shown on the app registration’s Overview).';
    }
  }
  if (preset === 'google-workspace' && allowedDomains[0] !== undefined && badDomains.length === 0) {
    requiredClaim = { claim: 'hd', value: allowedDomains[0] };
  }

  const acrText = Array.isArray(input.mfaAcrValues) ? input.mfaAcrValues.join(' ') : typeof input.mfaAcrValues === 'string' ? input.mfaAcrValues : '';
  const mfaAcrValues = [...new Set(acrText.split(/\s+/).filter((v) => v !== ''))];
  if (mfaAcrValues.length > 10 || mfaAcrValues.some((v) => !/^[\x21-\x7e]{1,200}$/.test(v))) {
    problems.mfaAcrValues = 'List at most 10 acr values, separated by spaces (for example urn:okta:loa:2fa:any).';
  }

  const label = typeof input.buttonLabel === 'string' ? input.buttonLabel.trim() : '';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (label.length > 60 || /[\u0000-\u001f\u007f]/.test(label)) problems.buttonLabel = 'Use a button label of at most 60 characters.';

  if (Object.keys(problems).length > 0) throw new SsoSettingsError(problems);
  return {
    mode: mode as SsoMode,
    preset,
    issuer: issuer ?? '',
    clientId,
    clientAuthMethod: clientAuthMethod as SsoClientAuthMethod,
    emailClaim: emailClaim as SsoEmailClaim,
    allowedDomains,
    requiredClaim,
    acceptProviderMfa: input.acceptProviderMfa === true || input.acceptProviderMfa === 'on' || input.acceptProviderMfa === 'true',
    mfaAcrValues,
    buttonLabel: label === '' ? SSO_PRESETS[preset].label : label,
  };
}

/**
 * True when an address may sign in through SSO: its domain is one of the allowed ones (exactly; a subdomain is not
 * its parent).
 *
 * @example
 * isAllowedSsoEmail('jo@acme.example', ['acme.example']); // true
 * isAllowedSsoEmail('jo@evil.acme.example.net', ['acme.example']); // false
 */
export function isAllowedSsoEmail(email: string, allowedDomains: readonly string[]): boolean {
  const at = email.lastIndexOf('@');
  if (at < 1) return false;
  return allowedDomains.includes(email.slice(at + 1).toLowerCase());
}
