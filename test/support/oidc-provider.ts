import { createHash, generateKeyPair, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Provider, {
  type Adapter,
  type AdapterFactory,
  type AdapterPayload,
  type ClientMetadata,
  type Configuration,
  type InteractionResults,
  type JWK,
  type KoaContextWithOIDC,
} from 'oidc-provider';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The path of the interaction (sign-in) pages this harness serves in front of the provider. */
const INTERACTION_PATH = '/interaction/';

/** How a registered client authenticates at the token endpoint. */
export type TestOidcClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** A client (relying party) registered statically with the test provider. */
export interface TestOidcClient {
  client_id: string;
  /** Required for the `client_secret_*` methods, ignored for `private_key_jwt`. */
  client_secret?: string;
  redirect_uris: string[];
  /** Where RP-initiated logout may send the browser back to. Default none. */
  post_logout_redirect_uris?: string[];
  /** Default `client_secret_basic`. */
  token_endpoint_auth_method?: TestOidcClientAuthMethod;
  /** The client's public keys, for `private_key_jwt` (see {@link createClientKeyPair}). */
  jwks?: { keys: JWK[] };
}

/** An end-user the provider knows. The test owns the store: {@link TestOidcProvider.addAccount}. */
export interface TestOidcAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  /** Authentication methods reported in the ID token's `amr` when this account signs in (e.g. `['pwd', 'otp']`). */
  amr?: string[];
  /** Authentication context class reported in `acr`. */
  acr?: string;
}

/** Options of {@link startTestOidcProvider}. */
export interface TestOidcProviderOptions {
  /** At least one client. A second provider instance may register the same clients (the wrong-issuer cases). */
  clients: TestOidcClient[];
  /** Accounts known from the start; more with `addAccount`. */
  accounts?: TestOidcAccount[];
  /** Lifetime of issued ID tokens, seconds (positive). Default 300. Changeable with `setIdTokenTtl`. */
  idTokenTtlSeconds?: number;
}

/** How the end-user answers the provider's sign-in page in {@link TestOidcBrowser.signIn}. */
export interface TestOidcSignIn {
  /** The account that signs in. It must be in the provider's store. */
  sub: string;
  /** Overrides the account's `amr` for this sign-in. */
  amr?: string[];
  /** Overrides the account's `acr` for this sign-in. */
  acr?: string;
  /**
   * Refuses instead of signing in: the provider redirects to the client with this error
   * (`true` means `access_denied`, as when the end-user cancels).
   */
  deny?: true | { error: string; error_description?: string };
}

/**
 * A user agent with its own cookie jar that follows the provider's redirects over HTTP (fetch), so a session
 * established by one sign-in is there for the next request and for logout, as in a browser.
 */
export interface TestOidcBrowser {
  /**
   * Opens an authorization URL (as made by the relying party), answers the provider's sign-in page when the provider
   * shows it, and returns the URL the provider finally redirects to outside itself: the client's `redirect_uri` with
   * `code`, `state` and `iss`, or with `error`. A session already in the jar skips the sign-in page, as a real one does.
   * Throws when the provider answers with a page instead of a redirect (e.g. an unknown client or redirect URI).
   */
  signIn(authorizationUrl: URL | string, answer: TestOidcSignIn): Promise<URL>;
  /**
   * Opens an RP-initiated logout URL (`end_session_endpoint`), confirms the provider's logout page, and returns where
   * the provider redirects: the `post_logout_redirect_uri` (with `state`) or the provider's own success page.
   */
  signOut(endSessionUrl: URL | string): Promise<URL>;
  /** Names of the cookies currently in the jar. */
  cookieNames(): string[];
}

/** The JSON body of a successful token endpoint response. */
export interface TokenEndpointResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
  [key: string]: unknown;
}

/** Options of {@link TestOidcProvider.mintIdToken}. */
export interface MintIdTokenOptions {
  /** A registered client with a secret (`client_secret_basic` or `client_secret_post`). */
  clientId: string;
  sub: string;
  /** Put into the authorization request, hence into the ID token. */
  nonce?: string;
  amr?: string[];
  acr?: string;
  /** Default `openid email profile`. */
  scope?: string;
}

/** A real OpenID provider (`oidc-provider`) on a loopback port, driven by the test. */
export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`, no trailing slash: the `iss` of its tokens. */
  issuer: string;
  /** The issuer as a URL, what `openid-client`'s `discovery()` takes. */
  issuerUrl: URL;
  port: number;
  /** The `oidc-provider` instance itself, for anything the harness does not cover. */
  provider: Provider;
  /** Adds or replaces an account (by `sub`). */
  addAccount(account: TestOidcAccount): void;
  /** Removes an account: a later sign-in as it fails, and tokens are no longer issued for it. */
  removeAccount(sub: string): void;
  /** A new user agent with an empty cookie jar. */
  browser(): TestOidcBrowser;
  /** `browser().signIn(...)`: a sign-in in a fresh browser. */
  signIn(authorizationUrl: URL | string, answer: TestOidcSignIn): Promise<URL>;
  /** Lifetime of ID tokens issued from now on, seconds. */
  setIdTokenTtl(seconds: number): void;
  /**
   * Lets the test rewrite the next successful token endpoint response before the client receives it, e.g. to deliver
   * an ID token minted for another client or by another provider ({@link mintIdToken}) or one tampered with
   * ({@link tamperJwtSignature}, {@link tamperJwtPayload}). The provider itself runs unchanged; only its answer is
   * replaced on the way out. One response only; requests made by `mintIdToken` are not intercepted.
   */
  interceptNextTokenResponse(transform: (body: TokenEndpointResponse) => TokenEndpointResponse | Promise<TokenEndpointResponse>): void;
  /**
   * Runs a whole authorization-code flow (PKCE) against this provider for a registered client and returns the ID
   * token it issued: a genuine token of this issuer, for this client, signed with this provider's key.
   */
  mintIdToken(options: MintIdTokenOptions): Promise<string>;
  /** Stops listening and frees the port. */
  close(): Promise<void>;
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function positiveSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`ID token lifetime must be a positive whole number of seconds, not ${seconds}`);
  return seconds;
}

function htmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A per-provider in-memory store for oidc-provider's models (sessions, interactions, codes, grants, tokens). */
function createMemoryAdapter(): AdapterFactory {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const sessionIdByUid = new Map<string, string>();
  const keysByGrant = new Map<string, Set<string>>();
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > Date.now()) return entry.payload;
    entries.delete(key);
    return undefined;
  };
  return (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, { payload, expiresAt: expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000 });
        if (model === 'Session' && typeof payload.uid === 'string') sessionIdByUid.set(payload.uid, id);
        if (grantable.has(model) && payload.grantId !== undefined) {
          const keys = keysByGrant.get(payload.grantId) ?? new Set<string>();
          keysByGrant.set(payload.grantId, keys.add(key));
        }
      },
      async find(id) {
        return live(keyOf(id));
      },
      async findByUid(uid) {
        const id = sessionIdByUid.get(uid);
        return id === undefined ? undefined : live(keyOf(id));
      },
      async findByUserCode(userCode) {
        for (const [key, entry] of entries) {
          if (key.startsWith(`${model}:`) && entry.payload.userCode === userCode) return live(key);
        }
        return undefined;
      },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of keysByGrant.get(grantId) ?? []) entries.delete(key);
        keysByGrant.delete(grantId);
      },
    };
  };
}

/** A fresh RS256 signing key (private JWK) for one provider instance, so two instances never share a key. */
async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const { kty, n, e, d, p, q, dp, dq, qi } = privateKey.export({ format: 'jwk' });
  return { kty, n, e, d, p, q, dp, dq, qi, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

function signInPage(uid: string, clientId: string, prompt: string): string {
  const action = htmlEscape(`${INTERACTION_PATH}${uid}`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test OpenID provider: sign in</title></head>
<body>
  <h1>Sign in to ${htmlEscape(clientId)}</h1>
  <p>Prompt: ${htmlEscape(prompt)}</p>
  <form method="post" action="${action}">
    <label>Subject <input name="sub" autocomplete="off"></label>
    <label>amr (space separated, optional) <input name="amr" autocomplete="off"></label>
    <button type="submit" name="action" value="login">Sign in</button>
    <button type="submit" name="action" value="deny">Cancel</button>
  </form>
</body></html>`;
}

/** A small cookie jar: names and values, attributes other than expiry ignored (everything is one loopback host). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  names(): string[] {
    return [...this.#cookies.keys()];
  }

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', raw = ''] = attribute.split('=').map((part) => part.trim());
        if (key.toLowerCase() === 'max-age') return Number(raw) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(raw) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

/**
 * The ID token (or any JWS) with its signature altered: the header and claims are intact, so a relying party that
 * verifies signatures refuses it and one that does not, accepts it.
 *
 * @example
 * op.interceptNextTokenResponse((body) => ({ ...body, id_token: tamperJwtSignature(body.id_token ?? '') }));
 */
export function tamperJwtSignature(jwt: string): string {
  const [header, payload, signature] = jwt.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('not a compact JWS');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return `${header}.${payload}.${base64url(bytes)}`;
}

/**
 * The ID token with claims changed (e.g. another `email`) and the original signature kept: a forgery that only a
 * signature check catches.
 *
 * @example
 * op.interceptNextTokenResponse((body) => ({ ...body, id_token: tamperJwtPayload(body.id_token ?? '', { email: 'boss@example.com' }) }));
 */
export function tamperJwtPayload(jwt: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = jwt.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('not a compact JWS');
  const changed = { ...decodeJwtClaims(jwt), ...changes };
  return `${header}.${base64url(Buffer.from(JSON.stringify(changed)))}.${signature}`;
}

/** The claims of a JWT, not verified (to look at what the provider issued). */
export function decodeJwtClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1];
  if (payload === undefined) throw new Error('not a compact JWS');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A key pair for a `private_key_jwt` client. */
export interface ClientKeyPair {
  /** For the relying party: `openid-client`'s `PrivateKeyJwt({ key: privateKey, kid })`. */
  privateKey: webcrypto.CryptoKey;
  kid: string;
  /** For the client's registration: `jwks: { keys: [publicJwk] }`. */
  publicJwk: JWK;
}

/**
 * A fresh ES256 key pair for a client that authenticates with `private_key_jwt`.
 *
 * @example
 * const keys = await createClientKeyPair();
 * const op = await startTestOidcProvider({
 *   clients: [{ client_id: 'jwt-app', redirect_uris: [cb], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.publicJwk] } }],
 * });
 * const config = await client.discovery(op.issuerUrl, 'jwt-app', {}, client.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid }), {
 *   execute: [client.allowInsecureRequests],
 * });
 */
export async function createClientKeyPair(): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', publicKey);
  const kid = randomUUID();
  return { privateKey, kid, publicJwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

/**
 * Starts a real OpenID provider (`oidc-provider`, the certified implementation) on a free loopback port, plain HTTP
 * (tests only; a relying party must opt in with `openid-client`'s `allowInsecureRequests`). It is configured as the
 * portal's identity provider would be: statically registered clients, PKCE (S256) required for every client,
 * `openid email profile` scopes with `email`, `email_verified` and `name` in the ID token (not only at userinfo),
 * `amr`/`acr`/`auth_time` from the sign-in, the RFC 9207 `iss` authorization response parameter, and RP-initiated
 * logout (`end_session_endpoint`). Each instance has its own signing key and its own in-memory storage.
 *
 * Sign-in is non-interactive: `oidc-provider`'s development interactions are off (they accept any login name and
 * cannot report `amr`/`acr` or refuse); instead the harness serves a small sign-in page at `/interaction/<uid>`
 * built on the provider's interaction API (`interactionDetails`, `interactionFinished`). {@link TestOidcBrowser.signIn}
 * drives it over HTTP with fetch: it follows the provider's redirects with a cookie jar and posts the form (`sub`,
 * `amr`, or `action=deny`), as a browser would; a Playwright test can fill in the same page. Consent is implied (the
 * portal is a first-party client): the sign-in grants the requested scopes and claims.
 *
 * Refusal cases for the relying party: a second instance is a wrong issuer; a token minted for another client
 * (`mintIdToken`) delivered with `interceptNextTokenResponse` is a wrong audience; `setIdTokenTtl` with a short
 * lifetime (and the RP's clock ahead) is an expired token; `tamperJwtSignature`/`tamperJwtPayload` make a bad
 * signature; `deny` makes the provider answer `access_denied` (or another error); an account with
 * `email_verified: false`, or one the portal does not know, is the unverified email and unknown subject cases.
 *
 * @example
 * const op = await startTestOidcProvider({
 *   clients: [{ client_id: 'portal', client_secret: 's3cret', redirect_uris: ['http://127.0.0.1:3000/sso/callback'] }],
 *   accounts: [{ sub: 'u-1', email: 'ada@example.com', email_verified: true, name: 'Ada' }],
 * });
 * const config = await client.discovery(op.issuerUrl, 'portal', 's3cret', undefined, { execute: [client.allowInsecureRequests] });
 * const callback = await op.signIn(client.buildAuthorizationUrl(config, parameters), { sub: 'u-1', amr: ['pwd', 'otp'] });
 * const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState, expectedNonce });
 * await op.close();
 */
export async function startTestOidcProvider(options: TestOidcProviderOptions): Promise<TestOidcProvider> {
  if (options.clients.length === 0) throw new Error('startTestOidcProvider: register at least one client');
  const accounts = new Map<string, TestOidcAccount>();
  for (const account of options.accounts ?? []) accounts.set(account.sub, { ...account });
  let idTokenTtl = positiveSeconds(options.idTokenTtlSeconds ?? 300);
  let interceptor: ((body: TokenEndpointResponse) => TokenEndpointResponse | Promise<TokenEndpointResponse>) | undefined;
  const internalRequestHeader = 'x-test-oidc-internal';
  const internalRequestSecret = randomUUID();

  // Listen first, so the issuer carries the real port (no probe-then-bind race).
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const clients: ClientMetadata[] = options.clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret !== undefined && c.token_endpoint_auth_method !== 'private_key_jwt' ? { client_secret: c.client_secret } : {}),
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    ...(c.jwks !== undefined ? { jwks: c.jwks } : {}),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }));

  const configuration: Configuration = {
    adapter: createMemoryAdapter(),
    clients,
    jwks: { keys: [await signingKey()] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (account === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: account.email, email_verified: account.email_verified, name: account.name }),
      };
    },
    // `amr` and `acr` (from the sign-in) with every ID token; `auth_time` when asked for (max_age, require_auth_time).
    claims: {
      openid: ['sub', 'amr', 'acr'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      auth_time: null,
      sid: null,
      iss: null,
    },
    // Scope claims in the ID token of a code flow, not only at userinfo (the portal reads them from the ID token).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx: KoaContextWithOIDC, form: string) {
          ctx.type = 'html';
          ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head><body>
${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
        },
        postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.type = 'html';
          ctx.body = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body>Signed out</body></html>';
        },
      },
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: () => idTokenTtl,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
  };

  const provider = new Provider(issuer, configuration);

  // A post-middleware on the real token endpoint: replaces the provider's answer when a test asked to.
  provider.use(async (ctx, next) => {
    await next();
    const transform = interceptor;
    if (
      transform === undefined ||
      ctx.method !== 'POST' ||
      ctx.path !== '/token' ||
      ctx.status !== 200 ||
      ctx.get(internalRequestHeader) === internalRequestSecret ||
      typeof ctx.body !== 'object' ||
      ctx.body === null
    ) {
      return;
    }
    interceptor = undefined;
    ctx.body = await transform(ctx.body as TokenEndpointResponse);
  });

  const providerCallback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return sendText(res, 400, 'interaction cookie does not match this page');
    const clientId = String(details.params.client_id);
    if (req.method === 'GET') return sendText(res, 200, signInPage(uid, clientId, details.prompt.name), 'text/html; charset=utf-8');
    if (req.method !== 'POST') return sendText(res, 405, 'GET or POST');

    const form = await readForm(req);
    if (form.get('action') === 'deny') {
      const error = form.get('error') ?? 'access_denied';
      const description = form.get('error_description') ?? 'End-User denied the sign-in';
      return provider.interactionFinished(req, res, { error, error_description: description }, { mergeWithLastSubmission: false });
    }

    const result: InteractionResults = {};
    let accountId = details.session?.accountId;
    if (details.prompt.name === 'login') {
      const sub = form.get('sub') ?? '';
      const account = accounts.get(sub);
      if (account === undefined) return sendText(res, 400, `no account with sub "${sub}" (addAccount first)`);
      const answeredAmr = form.get('amr')?.split(' ').filter(Boolean);
      const amr = answeredAmr !== undefined && answeredAmr.length > 0 ? answeredAmr : account.amr;
      const acr = form.get('acr') ?? account.acr;
      result.login = { accountId: sub, ...(amr !== undefined ? { amr } : {}), ...(acr !== undefined ? { acr } : {}) };
      accountId = sub;
    }
    if (accountId === undefined) return sendText(res, 400, `prompt "${details.prompt.name}" without a signed-in account`);

    // Implied consent (first-party client): grant what was asked for.
    const grant = (details.grantId !== undefined ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    if (typeof details.params.scope === 'string') grant.addOIDCScope(details.params.scope);
    const missingClaims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims.map(String));
    result.consent = { grantId: await grant.save() };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (!path.startsWith(INTERACTION_PATH)) {
      void providerCallback(req, res);
      return;
    }
    interaction(req, res, decodeURIComponent(path.slice(INTERACTION_PATH.length))).catch((error: unknown) => {
      if (!res.headersSent) sendText(res, 400, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      else res.end();
    });
  });

  const origin = new URL(issuer).origin;

  function browser(): TestOidcBrowser {
    const jar = new CookieJar();
    const request = async (url: URL, init: { method: 'GET' } | { method: 'POST'; body: URLSearchParams }): Promise<Response> => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { cookie: jar.header(), ...(init.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      });
      jar.store(response);
      return response;
    };
    const next = async (response: Response, url: URL): Promise<URL> => {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || location === null) {
        const body = await response.text();
        throw new Error(`test OpenID provider answered ${response.status} at ${url.pathname} instead of a redirect: ${body.slice(0, 500)}`);
      }
      await response.body?.cancel();
      return new URL(location, url);
    };
    return {
      async signIn(authorizationUrl, answer) {
        let url = new URL(authorizationUrl);
        for (let hop = 0; hop < 10; hop++) {
          if (url.origin !== origin) return url;
          if (url.pathname.startsWith(INTERACTION_PATH)) {
            const form = new URLSearchParams();
            if (answer.deny !== undefined) {
              form.set('action', 'deny');
              if (answer.deny !== true) {
                form.set('error', answer.deny.error);
                if (answer.deny.error_description !== undefined) form.set('error_description', answer.deny.error_description);
              }
            } else {
              form.set('action', 'login');
              form.set('sub', answer.sub);
              if (answer.amr !== undefined) form.set('amr', answer.amr.join(' '));
              if (answer.acr !== undefined) form.set('acr', answer.acr);
            }
            url = await next(await request(url, { method: 'POST', body: form }), url);
          } else {
            url = await next(await request(url, { method: 'GET' }), url);
          }
        }
        throw new Error('test OpenID provider: too many redirects');
      },
      async signOut(endSessionUrl) {
        const url = new URL(endSessionUrl);
        const page = await request(url, { method: 'GET' });
        const html = await page.text();
        const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(html)?.[1];
        const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
        if (page.status !== 200 || action === undefined || xsrf === undefined) {
          throw new Error(`test OpenID provider answered ${page.status} at ${url.pathname} without a logout form: ${html.slice(0, 500)}`);
        }
        const confirm = new URL(action, url);
        return next(await request(confirm, { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }) }), confirm);
      },
      cookieNames: () => jar.names(),
    };
  }

  async function mintIdToken(mint: MintIdTokenOptions): Promise<string> {
    const registered = options.clients.find((c) => c.client_id === mint.clientId);
    const method = registered?.token_endpoint_auth_method ?? 'client_secret_basic';
    if (registered?.client_secret === undefined || method === 'private_key_jwt') {
      throw new Error(`mintIdToken: "${mint.clientId}" is not a registered client with a secret`);
    }
    const redirectUri = registered.redirect_uris[0];
    if (redirectUri === undefined) throw new Error(`mintIdToken: "${mint.clientId}" has no redirect_uri`);
    const verifier = base64url(randomBytes(32));
    const authorization = new URL('/auth', issuer);
    authorization.search = new URLSearchParams({
      client_id: mint.clientId,
      response_type: 'code',
      scope: mint.scope ?? 'openid email profile',
      redirect_uri: redirectUri,
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
      state: base64url(randomBytes(16)),
      ...(mint.nonce !== undefined ? { nonce: mint.nonce } : {}),
    }).toString();
    const callback = await browser().signIn(authorization, {
      sub: mint.sub,
      ...(mint.amr !== undefined ? { amr: mint.amr } : {}),
      ...(mint.acr !== undefined ? { acr: mint.acr } : {}),
    });
    const code = callback.searchParams.get('code');
    if (code === null) throw new Error(`mintIdToken: no code in ${callback.href}`);
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', [internalRequestHeader]: internalRequestSecret };
    if (method === 'client_secret_post') {
      body.set('client_id', mint.clientId);
      body.set('client_secret', registered.client_secret);
    } else {
      const credentials = `${encodeURIComponent(mint.clientId)}:${encodeURIComponent(registered.client_secret)}`;
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const response = await fetch(new URL('/token', issuer), { method: 'POST', headers, body });
    const json = (await response.json()) as Partial<TokenEndpointResponse>;
    if (response.status !== 200 || typeof json.id_token !== 'string') {
      throw new Error(`mintIdToken: token endpoint answered ${response.status}: ${JSON.stringify(json)}`);
    }
    return json.id_token;
  }

  return {
    issuer,
    issuerUrl: new URL(issuer),
    port,
    provider,
    addAccount(account) {
      accounts.set(account.sub, { ...account });
    },
    removeAccount(sub) {
      accounts.delete(sub);
    },
    browser,
    signIn: (authorizationUrl, answer) => browser().signIn(authorizationUrl, answer),
    setIdTokenTtl(seconds) {
      idTokenTtl = positiveSeconds(seconds);
    },
    interceptNextTokenResponse(transform) {
      interceptor = transform;
    },
    mintIdToken,
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
