import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClientKeyPair,
  decodeJwtClaims,
  startTestOidcProvider,
  tamperJwtPayload,
  tamperJwtSignature,
  type ClientKeyPair,
  type TestOidcClient,
  type TestOidcProvider,
} from '../../support/oidc-provider.js';

// The relying party is never contacted: the provider only redirects the (fetch) browser to these URLs.
const CALLBACK = 'http://127.0.0.1:9/sso/callback';
const LOGGED_OUT = 'http://127.0.0.1:9/signed-out';

const portal: TestOidcClient = {
  client_id: 'portal',
  client_secret: 'portal-secret-0123456789',
  redirect_uris: [CALLBACK],
  post_logout_redirect_uris: [LOGGED_OUT],
};
const otherApp: TestOidcClient = {
  client_id: 'other-app',
  client_secret: 'other-secret-0123456789',
  redirect_uris: [CALLBACK],
  token_endpoint_auth_method: 'client_secret_post',
};

const ada = { sub: 'u-ada', email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace', amr: ['pwd'] };

/** What the RP refused with: openid-client's error code and, for JWT claim checks, the claim. */
async function refusal(promise: Promise<unknown>): Promise<{ name: string; code: unknown; claim: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const inner = error.cause instanceof Error ? error.cause : undefined;
    const detail = inner?.cause !== null && typeof inner?.cause === 'object' ? (inner.cause as Record<string, unknown>) : {};
    return { name: error.name, code: (error as { code?: unknown }).code, claim: detail.claim, message: `${error.message} (${inner?.message ?? ''})` };
  }
  throw new Error('expected the relying party to refuse');
}

/** An authorization request as the portal will make it: PKCE S256, state, nonce. */
async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
}

describe('test OpenID provider (oidc-provider) with openid-client as the relying party', () => {
  let op: TestOidcProvider;
  let otherOp: TestOidcProvider;
  let keys: ClientKeyPair;
  let config: client.Configuration;

  const discover = (issuer: TestOidcProvider, metadata: Partial<client.ClientMetadata> = {}) =>
    client.discovery(issuer.issuerUrl, portal.client_id, metadata, client.ClientSecretBasic(portal.client_secret ?? ''), {
      execute: [client.allowInsecureRequests], // plain http on loopback, tests only
    });

  beforeAll(async () => {
    keys = await createClientKeyPair();
    const jwtApp: TestOidcClient = {
      client_id: 'jwt-app',
      redirect_uris: [CALLBACK],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [keys.publicJwk] },
    };
    [op, otherOp] = await Promise.all([
      startTestOidcProvider({ clients: [portal, otherApp, jwtApp], accounts: [ada] }),
      startTestOidcProvider({ clients: [portal], accounts: [ada] }),
    ]);
    config = await discover(op);
  });

  afterAll(async () => {
    await Promise.all([op?.close(), otherOp?.close()]);
  });

  it('is discovered: loopback issuer, PKCE S256, iss in authorization responses, email claims, end_session', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(`http://127.0.0.1:${op.port}`);
    expect(metadata.issuer).not.toBe(otherOp.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'profile']));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'amr']));
    expect(metadata.end_session_endpoint).toBe(`${op.issuer}/session/end`);
  });

  it('runs authorization code + PKCE + state + nonce to a verified ID token with sub, email, email_verified, amr', async () => {
    const { url, checks } = await authorizationRequest(config, { max_age: '300' });
    const callback = await op.signIn(url, { sub: ada.sub, amr: ['pwd', 'otp'], acr: 'urn:retention:mfa' });
    expect(callback.searchParams.get('iss')).toBe(op.issuer);

    const tokens = await client.authorizationCodeGrant(config, callback, { ...checks, maxAge: 300 });
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: op.issuer,
      aud: 'portal',
      sub: ada.sub,
      email: ada.email,
      email_verified: true,
      name: ada.name,
      nonce: checks.expectedNonce,
      amr: ['pwd', 'otp'],
      acr: 'urn:retention:mfa',
    });
    expect(typeof claims?.auth_time).toBe('number');
  });

  it('requires PKCE: a request without code_challenge comes back as invalid_request', async () => {
    const url = client.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid', state: client.randomState() });
    const callback = await op.signIn(url, { sub: ada.sub });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('authenticates a private_key_jwt client', async () => {
    const jwtConfig = await client.discovery(op.issuerUrl, 'jwt-app', {}, client.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid }), {
      execute: [client.allowInsecureRequests],
    });
    const { url, checks } = await authorizationRequest(jwtConfig);
    const tokens = await client.authorizationCodeGrant(jwtConfig, await op.signIn(url, { sub: ada.sub }), checks);
    expect(tokens.claims()).toMatchObject({ aud: 'jwt-app', sub: ada.sub, amr: ['pwd'] });
    expect(tokens.claims()?.acr).toBeUndefined();
  });

  it('reports the state check to the RP: a callback with another state is refused', async () => {
    const { url, checks } = await authorizationRequest(config);
    const callback = await op.signIn(url, { sub: ada.sub });
    const refused = await refusal(client.authorizationCodeGrant(config, callback, { ...checks, expectedState: client.randomState() }));
    expect(refused.code).toBe('OAUTH_INVALID_RESPONSE');
    expect(refused.message).toMatch(/state/);
  });

  it('refuses an ID token issued to another client (audience)', async () => {
    const { url, checks } = await authorizationRequest(config);
    const foreign = await op.mintIdToken({ clientId: 'other-app', sub: ada.sub, nonce: checks.expectedNonce });
    expect(decodeJwtClaims(foreign)).toMatchObject({ iss: op.issuer, aud: 'other-app', nonce: checks.expectedNonce });
    op.interceptNextTokenResponse((body) => ({ ...body, id_token: foreign }));

    const refused = await refusal(client.authorizationCodeGrant(config, await op.signIn(url, { sub: ada.sub }), checks));
    expect(refused).toMatchObject({ code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', claim: 'aud' });
  });

  it('refuses a callback and an ID token from another provider (issuer)', async () => {
    // The authorization response of the other provider carries its iss (RFC 9207).
    const otherConfig = await discover(otherOp);
    const elsewhere = await authorizationRequest(otherConfig);
    const otherCallback = await otherOp.signIn(elsewhere.url, { sub: ada.sub });
    const refusedCallback = await refusal(client.authorizationCodeGrant(config, otherCallback, elsewhere.checks));
    expect(refusedCallback.code).toBe('OAUTH_INVALID_RESPONSE');
    expect(refusedCallback.message).toMatch(/"iss"/);

    // An ID token of the other provider for the same client_id, delivered by this provider's token endpoint.
    const { url, checks } = await authorizationRequest(config);
    const foreign = await otherOp.mintIdToken({ clientId: 'portal', sub: ada.sub, nonce: checks.expectedNonce });
    op.interceptNextTokenResponse((body) => ({ ...body, id_token: foreign }));
    const refused = await refusal(client.authorizationCodeGrant(config, await op.signIn(url, { sub: ada.sub }), checks));
    expect(refused).toMatchObject({ code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', claim: 'iss' });
  });

  it('refuses an expired ID token', async () => {
    op.setIdTokenTtl(60);
    try {
      // The RP's clock is two minutes past the token's issue time: the 60 s token is beyond the 30 s tolerance.
      const lateConfig = await discover(op, { [client.clockSkew]: 120 });
      const { url, checks } = await authorizationRequest(lateConfig);
      const refused = await refusal(client.authorizationCodeGrant(lateConfig, await op.signIn(url, { sub: ada.sub }), checks));
      expect(refused).toMatchObject({ code: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', claim: 'exp' });
    } finally {
      op.setIdTokenTtl(300);
    }
  });

  it('refuses a bad signature only with enableNonRepudiationChecks (openid-client trusts the token endpoint by default)', async () => {
    const checked = await discover(op);
    client.enableNonRepudiationChecks(checked);

    for (const tamper of [tamperJwtSignature, (jwt: string) => tamperJwtPayload(jwt, { email: 'boss@example.com' })]) {
      const { url, checks } = await authorizationRequest(checked);
      op.interceptNextTokenResponse((body) => ({ ...body, id_token: tamper(body.id_token ?? '') }));
      const refused = await refusal(client.authorizationCodeGrant(checked, await op.signIn(url, { sub: ada.sub }), checks));
      expect(refused.code).toBe('OAUTH_INVALID_RESPONSE');
      expect(refused.message).toMatch(/JWT signature verification failed/);
    }

    // The library's default (OIDC Core 3.1.3.7: TLS to the token endpoint stands in for the signature): accepted.
    const { url, checks } = await authorizationRequest(config);
    op.interceptNextTokenResponse((body) => ({ ...body, id_token: tamperJwtPayload(body.id_token ?? '', { email: 'boss@example.com' }) }));
    const tokens = await client.authorizationCodeGrant(config, await op.signIn(url, { sub: ada.sub }), checks);
    expect(tokens.claims()?.email).toBe('boss@example.com');
  });

  it('answers access_denied when the end-user cancels, as an authorization error the RP raises', async () => {
    const { url, checks } = await authorizationRequest(config);
    const callback = await op.signIn(url, { sub: ada.sub, deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expect(client.authorizationCodeGrant(config, callback, checks)).rejects.toMatchObject({
      name: 'AuthorizationResponseError',
      error: 'access_denied',
    });
  });

  it('issues email_verified false and accounts added later; the RP leaves those checks to the caller', async () => {
    op.addAccount({ sub: 'u-new', email: 'new@example.com', email_verified: false, name: 'New Person' });
    const { url, checks } = await authorizationRequest(config);
    const tokens = await client.authorizationCodeGrant(config, await op.signIn(url, { sub: 'u-new' }), checks);
    expect(tokens.claims()).toMatchObject({ sub: 'u-new', email: 'new@example.com', email_verified: false });

    op.removeAccount('u-new');
    const again = await authorizationRequest(config);
    await expect(op.signIn(again.url, { sub: 'u-new' })).rejects.toThrow(/no account with sub "u-new"/);
  });

  it('keeps the session in the browser and ends it with RP-initiated logout', async () => {
    const browser = op.browser();
    const first = await authorizationRequest(config);
    const tokens = await client.authorizationCodeGrant(config, await browser.signIn(first.url, { sub: ada.sub }), first.checks);

    // Signed in: the next authorization needs no sign-in page (the answer would fail: no such account).
    const second = await authorizationRequest(config);
    const silent = await browser.signIn(second.url, { sub: 'nobody' });
    expect(silent.searchParams.get('code')).toBeTruthy();

    const state = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: LOGGED_OUT,
      state,
    });
    expect(endSession.href.startsWith(`${op.issuer}/session/end`)).toBe(true);
    const back = await browser.signOut(endSession);
    expect(back.origin + back.pathname).toBe(LOGGED_OUT);
    expect(back.searchParams.get('state')).toBe(state);

    // Signed out: the sign-in page is back.
    const third = await authorizationRequest(config);
    await expect(browser.signIn(third.url, { sub: 'nobody' })).rejects.toThrow(/no account/);
  });
});
