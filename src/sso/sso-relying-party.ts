import * as client from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { Keyring } from '../crypto/keyring.js';
import { RetentionError } from '../errors.js';
import { destinationRefusalOf, type NetworkPolicy } from '../network/network-policy.js';
import { certificateThumbprints, importSsoClientKey } from './sso-client-key.js';
import { openSsoSecret, type StoredSsoSettings } from './sso-settings-store.js';
import { SsoSignInRefused, type SsoRefusalReason } from './sso-refusal.js';

/** What the portal's relying party is built with. */
export interface SsoRelyingPartyOptions {
  keyring: Keyring;
  /** Every request to a provider (discovery, keys, tokens) goes only where this policy allows: no operator networks. */
  network: NetworkPolicy;
  /** How long a provider's discovered metadata is reused. Default one hour. */
  discoveryTtlMs?: number;
  /** Longest wait for one provider request, in seconds. Default 10. */
  timeoutSeconds?: number;
  /**
   * Extra `openid-client` configuration steps (the test suite adds `allowInsecureRequests` for its loopback
   * provider). Production passes none.
   */
  execute?: ReadonlyArray<(config: client.Configuration) => void>;
  /** Extra client metadata (the test suite moves the clock with `[client.clockSkew]`). */
  clientMetadata?: Partial<client.ClientMetadata>;
  now?: () => Date;
}

/** What the portal keeps between the redirect to the provider and its callback (server side, in the session). */
export interface SsoAuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The verified ID token of a callback. */
export interface SsoCallbackResult {
  claims: client.IDToken;
  idToken: string;
}

/** Maps an `openid-client` failure of the callback to the reason the audit log records (never the token itself). */
export function refusalReasonOf(err: unknown): SsoRefusalReason {
  if (err instanceof client.AuthorizationResponseError) return 'provider-error';
  if (err instanceof client.ResponseBodyError) return 'token-request-refused';
  if (destinationRefusalOf(err) !== undefined) return 'provider-unreachable';
  if (err instanceof client.ClientError) {
    const inner = err.cause instanceof Error ? err.cause : undefined;
    const detail = inner?.cause !== null && typeof inner?.cause === 'object' ? (inner.cause as { claim?: unknown; parameter?: unknown }) : {};
    const message = `${err.message} ${inner?.message ?? ''}`;
    switch (err.code) {
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
        if (detail.claim === 'iss') return 'wrong-issuer';
        if (detail.claim === 'aud' || detail.claim === 'azp') return 'wrong-audience';
        if (detail.claim === 'nonce') return 'nonce-mismatch';
        return 'token-invalid';
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return detail.claim === 'auth_time' ? 'authentication-too-old' : 'token-expired';
      case 'OAUTH_INVALID_RESPONSE':
        if (/signature/i.test(message)) return 'bad-signature';
        if (/"iss"/.test(message) || /issuer/i.test(message)) return 'wrong-issuer';
        if (/"state"/.test(message)) return 'state-mismatch';
        if (/nonce/i.test(message)) return 'nonce-mismatch';
        return 'token-invalid';
      default:
        return 'token-invalid';
    }
  }
  return 'provider-unreachable';
}

/**
 * The portal's OpenID Connect relying party, on `openid-client` (certified): discovery of each tenant's provider
 * (cached per settings version), the authorization request (code flow, PKCE S256, `state`, `nonce`) and the code
 * exchange, whose ID token is checked for signature (non-repudiation checks on: the library otherwise trusts TLS
 * alone), issuer, audience, expiry, nonce and, when asked, the age of the authentication. Every request to a provider
 * passes the network policy, so a tenant cannot point the portal at the operator's own machines.
 *
 * @example
 * const rp = new SsoRelyingParty({ keyring, network });
 * const request = await rp.authorizationRequest('acme', settings, redirectUri);
 */
export class SsoRelyingParty {
  readonly #options: SsoRelyingPartyOptions;
  readonly #configurations = new Map<string, { config: Promise<client.Configuration>; until: number }>();

  constructor(options: SsoRelyingPartyOptions) {
    this.#options = options;
  }

  #now(): number {
    return (this.#options.now ?? (() => new Date()))().getTime();
  }

  /**
   * The provider's configuration for the tenant's settings, discovered once per settings version and hour.
   * `ERR_SSO_PROVIDER_UNAVAILABLE` (502) when discovery fails: the message says which step.
   */
  async configuration(tenantId: string, settings: StoredSsoSettings): Promise<client.Configuration> {
    const key = `${tenantId}\n${settings.version}\n${settings.issuer}`;
    const cached = this.#configurations.get(key);
    if (cached !== undefined && cached.until > this.#now()) return cached.config;
    for (const [other] of this.#configurations) if (other.startsWith(`${tenantId}\n`)) this.#configurations.delete(other);
    const config = this.#discover(tenantId, settings);
    this.#configurations.set(key, { config, until: this.#now() + (this.#options.discoveryTtlMs ?? 3_600_000) });
    config.catch(() => this.#configurations.delete(key));
    return config;
  }

  async #discover(tenantId: string, settings: StoredSsoSettings): Promise<client.Configuration> {
    const { keyring, network } = this.#options;
    const dispatcher = network.httpDispatcher('identity provider');
    const fetchThroughPolicy: client.CustomFetch = async (url, init) =>
      (await undiciFetch(url, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    let clientAuth: client.ClientAuth;
    if (settings.clientAuthMethod === 'private_key_jwt') {
      if (settings.privateKey === undefined) throw unavailable('no private key is saved for private_key_jwt');
      const pem = openSsoSecret(keyring, tenantId, 'privateKey', settings.privateKey);
      const { key } = await importSsoClientKey(pem);
      const thumbprints = settings.certificate === undefined ? undefined : certificateThumbprints(settings.certificate, pem, new Date(this.#now()));
      clientAuth = client.PrivateKeyJwt(
        { key, ...(settings.privateKeyId !== undefined ? { kid: settings.privateKeyId } : {}) },
        thumbprints === undefined ? {} : { [client.modifyAssertion]: (header) => Object.assign(header, thumbprints) },
      );
    } else {
      if (settings.clientSecret === undefined) throw unavailable('no client secret is saved');
      const secret = openSsoSecret(keyring, tenantId, 'clientSecret', settings.clientSecret);
      clientAuth = settings.clientAuthMethod === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
    }
    try {
      const config = await client.discovery(new URL(settings.issuer), settings.clientId, { ...this.#options.clientMetadata }, clientAuth, {
        timeout: this.#options.timeoutSeconds ?? 10,
        [client.customFetch]: fetchThroughPolicy,
        execute: [...(this.#options.execute ?? []), client.enableNonRepudiationChecks],
      });
      config[client.customFetch] = fetchThroughPolicy;
      return config;
    } catch (err) {
      const refusal = destinationRefusalOf(err);
      if (refusal !== undefined) throw unavailable(refusal.message);
      throw unavailable(describeFailure(err));
    }
  }

  /** Forgets a tenant's discovered configuration (after its settings changed). */
  forget(tenantId: string): void {
    for (const [key] of this.#configurations) if (key.startsWith(`${tenantId}\n`)) this.#configurations.delete(key);
  }

  /**
   * A new authorization request: fresh `state`, `nonce` and PKCE verifier, and the provider URL to send the browser
   * to. `reauthenticate` asks the provider to authenticate the user again (`prompt=login`, `max_age=0`).
   */
  async authorizationRequest(
    tenantId: string,
    settings: StoredSsoSettings,
    redirectUri: string,
    options: { loginHint?: string; reauthenticate?: boolean } = {},
  ): Promise<SsoAuthorizationRequest> {
    const config = await this.configuration(tenantId, settings);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    if (options.loginHint !== undefined) parameters.login_hint = options.loginHint;
    if (options.reauthenticate === true) Object.assign(parameters, { prompt: 'login', max_age: '0' });
    return { url: client.buildAuthorizationUrl(config, parameters), state, nonce, codeVerifier };
  }

  /**
   * Exchanges the callback's code and returns the verified ID token. `callbackUrl` is the callback as the browser
   * called it, on the portal's public URL. Throws {@link SsoSignInRefused} with the reason.
   */
  async callback(
    tenantId: string,
    settings: StoredSsoSettings,
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string; maxAgeSeconds?: number },
  ): Promise<SsoCallbackResult> {
    const config = await this.configuration(tenantId, settings);
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
        ...(expected.maxAgeSeconds !== undefined ? { maxAge: expected.maxAgeSeconds } : {}),
      });
      const claims = tokens.claims();
      if (claims === undefined || tokens.id_token === undefined) throw new SsoSignInRefused('token-invalid');
      return { claims, idToken: tokens.id_token };
    } catch (err) {
      if (err instanceof SsoSignInRefused) throw err;
      const detail = err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError ? err.error : undefined;
      throw new SsoSignInRefused(refusalReasonOf(err), detail);
    }
  }

  /** The provider's logout URL for RP-initiated logout, or undefined when it has none (or cannot be reached now). */
  async endSessionUrl(tenantId: string, settings: StoredSsoSettings, idToken: string, postLogoutRedirectUri: string): Promise<URL | undefined> {
    try {
      const config = await this.configuration(tenantId, settings);
      if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
      return client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri });
    } catch {
      return undefined;
    }
  }
}

/** What went wrong, with the network cause `fetch` hides behind "fetch failed" (`ECONNREFUSED`, a TLS error, …). */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  if (cause === undefined) return err.message;
  const code = (cause as { code?: unknown }).code;
  return `${err.message} (${typeof code === 'string' ? `${code}: ` : ''}${cause.message})`;
}

function unavailable(why: string): RetentionError {
  return new RetentionError('ERR_SSO_PROVIDER_UNAVAILABLE', `The identity provider could not be used: ${why.slice(0, 300)}`);
}
