import type { Request, Response } from 'express';
import type { Keyring } from '../../crypto/keyring.js';
import { RetentionError } from '../../errors.js';
import { certificateThumbprints, importSsoClientKey } from '../../sso/sso-client-key.js';
import {
  SSO_CLIENT_AUTH_METHODS,
  SSO_MODES,
  SSO_PRESET_IDS,
  SSO_PRESETS,
  SsoSettingsError,
  type SsoClientAuthMethod,
  type SsoMode,
  type SsoPresetId,
} from '../../sso/sso-settings.js';
import { openSsoSecret, sealSsoSecret, type SsoSettingsRecord, type StoredSsoSettings } from '../../sso/sso-settings-store.js';
import { formField, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { ssoPostLogoutRedirectUri, ssoRedirectUri } from './sso-sign-in-page.js';

/** The SSO form of the Security page as typed, without its secrets (those are never shown again). */
export interface SsoFormValues {
  mode: string;
  preset: string;
  issuer: string;
  clientId: string;
  clientAuthMethod: string;
  privateKeyId: string;
  /** PEM; public, so it is shown again. */
  certificate: string;
  /** One domain per line. */
  allowedDomains: string;
  /** Empty: the preset's claim. */
  emailClaim: string;
  acceptProviderMfa: boolean;
  /** Separated by spaces. */
  mfaAcrValues: string;
  /** Empty: the preset's label. */
  buttonLabel: string;
  /** The settings version the form was loaded with (0: none saved), for the optimistic check. */
  version: string;
}

/** The credential fields of the form: write-only, blank keeps what is stored. */
export interface SsoFormSecrets {
  clientSecret: string;
  privateKey: string;
}

/** What the SSO section shows after a refused save: the typed values and the problems by field. */
export interface SsoSectionState {
  values: SsoFormValues;
  /** By form field (the keys of {@link SsoSettingsError.problems}). */
  problems: Record<string, string>;
  /** Problems of no one field (a conflicting save). */
  generalProblems?: string[];
}

/** The names the settings page gives the presets (the button labels of {@link SSO_PRESETS} are shorter). */
export const SSO_PRESET_NAMES: Readonly<Record<SsoPresetId, string>> = {
  'entra-id': 'Microsoft Entra ID',
  'google-workspace': 'Google Workspace',
  okta: 'Okta',
  generic: 'Another OpenID Connect provider',
};

const MODE_EXPLANATIONS: Readonly<Record<SsoMode, { label: string; explanation: string }>> = {
  off: { label: 'Off', explanation: 'Everyone signs in with a password (and two-factor authentication where it is set up).' },
  optional: { label: 'Optional', explanation: 'Users sign in through the provider or with their password, as they choose.' },
  required: {
    label: 'Required',
    explanation:
      'Password sign-in is refused for everyone but the owner, who keeps password and two-factor authentication as the break-glass account for when the provider is unavailable or misconfigured (so the owner needs two-factor authentication set up).',
  },
};

const AUTH_METHOD_LABELS: Readonly<Record<SsoClientAuthMethod, string>> = {
  client_secret_basic: 'Client secret, sent as HTTP Basic (client_secret_basic; the usual choice)',
  client_secret_post: 'Client secret, sent in the request body (client_secret_post)',
  private_key_jwt: 'Private key: a signed assertion (private_key_jwt; Entra ID with a certificate, or any provider that takes your public key)',
};

/** Longest client secret accepted (providers issue 40 to 100 characters). */
const MAX_CLIENT_SECRET = 1000;
/** Longest PEM accepted (an RSA 4096 key is about 3.3 kB, a certificate chain a few kB). */
const MAX_PEM = 20_000;
const KEY_ID = /^[\x21-\x7e]{1,200}$/;

/** The form's values and secrets from the request (bounded; nothing validated yet). */
export function readSsoForm(req: Request): { values: SsoFormValues; secrets: SsoFormSecrets } {
  return {
    values: {
      mode: formField(req, 'mode', 20),
      preset: formField(req, 'preset', 40),
      issuer: formField(req, 'issuer', 600).trim(),
      clientId: formField(req, 'clientId', 300).trim(),
      clientAuthMethod: formField(req, 'clientAuthMethod', 40),
      privateKeyId: formField(req, 'privateKeyId', 300).trim(),
      certificate: formField(req, 'certificate', MAX_PEM + 1).trim(),
      allowedDomains: formField(req, 'allowedDomains', 20_000),
      emailClaim: formField(req, 'emailClaim', 40),
      acceptProviderMfa: formField(req, 'acceptProviderMfa', 8) === 'on',
      mfaAcrValues: formField(req, 'mfaAcrValues', 3000).trim(),
      buttonLabel: formField(req, 'buttonLabel', 200).trim(),
      version: formField(req, 'version', 12),
    },
    secrets: { clientSecret: formField(req, 'clientSecret', MAX_CLIENT_SECRET + 1).trim(), privateKey: formField(req, 'privateKey', MAX_PEM + 1).trim() },
  };
}

/** The form as the stored settings fill it (an empty form with mode off when nothing is saved). */
export function ssoFormValuesOf(stored: StoredSsoSettings | undefined): SsoFormValues {
  if (stored === undefined) {
    return {
      mode: 'off',
      preset: 'generic',
      issuer: '',
      clientId: '',
      clientAuthMethod: 'client_secret_basic',
      privateKeyId: '',
      certificate: '',
      allowedDomains: '',
      emailClaim: '',
      acceptProviderMfa: false,
      mfaAcrValues: '',
      buttonLabel: '',
      version: '0',
    };
  }
  return {
    mode: stored.mode,
    preset: stored.preset,
    issuer: stored.issuer,
    clientId: stored.clientId,
    clientAuthMethod: stored.clientAuthMethod,
    privateKeyId: stored.privateKeyId ?? '',
    certificate: stored.certificate ?? '',
    allowedDomains: stored.allowedDomains.join('\n'),
    emailClaim: stored.emailClaim,
    acceptProviderMfa: stored.acceptProviderMfa,
    mfaAcrValues: stored.mfaAcrValues.join(' '),
    buttonLabel: stored.buttonLabel === SSO_PRESETS[stored.preset].label ? '' : stored.buttonLabel,
    version: String(stored.version),
  };
}

/** The form's values as `parseSsoSettingsInput` takes them. */
export function ssoSettingsInputOf(values: SsoFormValues): Record<string, unknown> {
  return {
    mode: values.mode,
    preset: values.preset,
    issuer: values.issuer,
    clientId: values.clientId,
    clientAuthMethod: values.clientAuthMethod,
    emailClaim: values.emailClaim,
    allowedDomains: values.allowedDomains,
    acceptProviderMfa: values.acceptProviderMfa,
    mfaAcrValues: values.mfaAcrValues,
    buttonLabel: values.buttonLabel,
  };
}

/** The portal's credential at the provider, as the record stores it (sealed). */
export type SsoCredential = Pick<SsoSettingsRecord, 'clientSecret' | 'privateKey' | 'privateKeyId' | 'certificate'>;

/** What {@link ssoCredentialOf} is given. */
export interface SsoCredentialRequest {
  keyring: Keyring;
  tenantId: string;
  /** Undefined when the form's method is not one (the parser reports it): no credential then. */
  method: SsoClientAuthMethod | undefined;
  /** The mode is not `off`: the method's credential must be typed or stored. */
  required: boolean;
  secrets: SsoFormSecrets;
  values: Pick<SsoFormValues, 'privateKeyId' | 'certificate'>;
  stored: StoredSsoSettings | undefined;
  now: Date;
}

/**
 * The credential to save: the secret or private key typed (checked, then sealed for the tenant), else the stored one;
 * only the chosen method's credential is kept, so switching between a secret and a key drops the other. Problems by
 * field (`clientSecret`, `privateKey`, `privateKeyId`, `certificate`).
 *
 * @example
 * const { credential, problems } = await ssoCredentialOf({ keyring, tenantId, method: 'client_secret_basic', required: true, secrets, values, stored, now });
 */
export async function ssoCredentialOf(request: SsoCredentialRequest): Promise<{ credential: SsoCredential; problems: Record<string, string> }> {
  const { keyring, tenantId, method, required, secrets, values, stored, now } = request;
  const problems: Record<string, string> = {};
  const none: SsoCredential = { clientSecret: undefined, privateKey: undefined, privateKeyId: undefined, certificate: undefined };
  if (method === undefined) return { credential: none, problems };

  if (method !== 'private_key_jwt') {
    let clientSecret = stored?.clientSecret;
    if (secrets.clientSecret.length > MAX_CLIENT_SECRET) problems.clientSecret = `Enter a client secret of at most ${MAX_CLIENT_SECRET} characters.`;
    else if (secrets.clientSecret !== '') clientSecret = sealSsoSecret(keyring, tenantId, 'clientSecret', secrets.clientSecret);
    else if (clientSecret === undefined && required) problems.clientSecret = 'Enter the client secret the provider created for this portal.';
    return { credential: { ...none, clientSecret }, problems };
  }

  let privateKey = stored?.privateKey;
  let keyPem: string | undefined;
  if (secrets.privateKey.length > MAX_PEM) problems.privateKey = 'This is too long for a private key: paste only the key (-----BEGIN PRIVATE KEY-----).';
  else if (secrets.privateKey !== '') {
    try {
      await importSsoClientKey(secrets.privateKey);
      keyPem = secrets.privateKey;
      privateKey = sealSsoSecret(keyring, tenantId, 'privateKey', secrets.privateKey);
    } catch (err) {
      if (!(err instanceof SsoSettingsError)) throw err;
      Object.assign(problems, err.problems);
    }
  } else if (privateKey !== undefined) {
    keyPem = openSsoSecret(keyring, tenantId, 'privateKey', privateKey);
  } else if (required) {
    problems.privateKey = 'Paste the private key (PEM) whose public key or certificate you registered at the provider.';
  }

  if (values.privateKeyId !== '' && !KEY_ID.test(values.privateKeyId)) {
    problems.privateKeyId = 'Enter the key ID (kid) as the provider shows it, without spaces, or leave it empty.';
  }
  if (values.certificate.length > MAX_PEM) problems.certificate = 'This is too long for a certificate: paste only the one of this key.';
  else if (values.certificate !== '' && keyPem !== undefined) {
    try {
      certificateThumbprints(values.certificate, keyPem, now);
    } catch (err) {
      if (!(err instanceof SsoSettingsError)) throw err;
      Object.assign(problems, err.problems);
    }
  } else if (values.certificate !== '' && problems.privateKey === undefined) {
    problems.certificate = 'Paste the private key of this certificate too.';
  }
  return {
    credential: {
      clientSecret: undefined,
      privateKey,
      privateKeyId: values.privateKeyId === '' ? undefined : values.privateKeyId,
      certificate: values.certificate === '' ? undefined : values.certificate,
    },
    problems,
  };
}

/** The SSO section of the Security page, as `views/partials/sso-settings.ejs` prints it. */
export interface SsoSectionView {
  /** Only the owner edits; everyone else sees the saved state. */
  editable: boolean;
  values: SsoFormValues;
  problems: Record<string, string>;
  generalProblems: string[];
  saved:
    | {
        mode: string;
        modeLabel: string;
        provider: string;
        issuer: string;
        buttonLabel: string;
        allowedDomains: string;
        clientAuthMethod: string;
        hasClientSecret: boolean;
        hasPrivateKey: boolean;
        updatedAt: string;
      }
    | undefined;
  presets: { id: SsoPresetId; name: string; issuerHint: string; hint: string; label: string; emailClaim: string }[];
  modes: { id: SsoMode; label: string; explanation: string }[];
  authMethods: { id: SsoClientAuthMethod; label: string }[];
  redirectUri: string;
  postLogoutRedirectUri: string;
  ownerHasTwoFactor: boolean;
}

/**
 * The SSO section for the signed-in user: the form (filled from `state` after a refusal, else from the stored
 * settings), the saved state, the presets' hints and the URIs to register at the provider. Stored settings that no
 * longer validate are shown as a problem (SSO counts as off until they are saved again).
 */
export async function ssoSectionView(services: PortalServices, res: Response, state: SsoSectionState | undefined): Promise<SsoSectionView> {
  const { tenant } = portalContext(res);
  const user = signedInUser(res);
  const generalProblems = [...(state?.generalProblems ?? [])];
  let stored: StoredSsoSettings | undefined;
  try {
    stored = await services.deps.controlPlane.sso.get(tenant.id);
  } catch (err) {
    if (!(err instanceof RetentionError) || err.code !== 'ERR_SSO_SETTINGS_INVALID') throw err;
    generalProblems.push(`The saved single sign-on settings are not valid any more, so single sign-on is off: ${err.message}`);
  }
  return {
    editable: user.role === 'owner',
    values: state?.values ?? ssoFormValuesOf(stored),
    problems: state?.problems ?? {},
    generalProblems,
    saved:
      stored === undefined
        ? undefined
        : {
            mode: stored.mode,
            modeLabel: MODE_EXPLANATIONS[stored.mode].label,
            provider: SSO_PRESET_NAMES[stored.preset],
            issuer: stored.issuer,
            buttonLabel: stored.buttonLabel,
            allowedDomains: stored.allowedDomains.join(', '),
            clientAuthMethod: stored.clientAuthMethod,
            hasClientSecret: stored.clientSecret !== undefined,
            hasPrivateKey: stored.privateKey !== undefined,
            updatedAt: stored.updatedAt instanceof Date ? `${stored.updatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '',
          },
    presets: SSO_PRESET_IDS.map((id) => ({ id, name: SSO_PRESET_NAMES[id], ...SSO_PRESETS[id] })),
    modes: SSO_MODES.map((id) => ({ id, ...MODE_EXPLANATIONS[id] })),
    authMethods: SSO_CLIENT_AUTH_METHODS.map((id) => ({ id, label: AUTH_METHOD_LABELS[id] })),
    redirectUri: ssoRedirectUri(services, tenant.id),
    postLogoutRedirectUri: ssoPostLogoutRedirectUri(services, tenant.id),
    ownerHasTwoFactor: user.role === 'owner' && user.totp !== undefined,
  };
}
