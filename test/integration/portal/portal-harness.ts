import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import request from 'supertest';
import { inject } from 'vitest';
import { hashPassword } from '../../../src/auth/password-hashing.js';
import { encodeBase32 } from '../../../src/auth/base32.js';
import { generateTotp, generateTotpSecret } from '../../../src/auth/totp.js';
import { generateBackupCodes, hashBackupCodes } from '../../../src/auth/backup-codes.js';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { createLogger } from '../../../src/logger.js';
import { createPortalApp, sessionCookieName, type PortalApp } from '../../../src/portal/create-portal-app.js';
import type { PortalDeps, PortalOptions } from '../../../src/portal/portal-deps.js';
import { totpSecretContext } from '../../../src/portal/portal-services.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import type { CreateUserInput, User } from '../../../src/store/users-store.js';
import { uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { testDestinations } from '../../support/destinations.js';

/** The password every fixture user has (hashed once per file: argon2 is slow by design). */
export const PASSWORD = 'amber-tractor-violin-harbour';
/** The public URL the test portal answers on; tenants are its subdomains. */
export const PUBLIC_HOST = 'portal.test';

export const keyring = parseKeyring(`test:${Buffer.alloc(32, 7).toString('base64')}`);

/** One portal app on its own database and Redis prefix, shared by the tests of a file. */
export interface PortalHarness {
  portal: PortalApp;
  app: Express;
  controlPlane: ControlPlane;
  /** The control-plane database, for tests that tamper with stored documents. */
  db: Db;
  /** The control plane's client (with `mongoOptions`, e.g. `monitorCommands` to count round trips). */
  mongo: MongoClient;
  redis: Redis;
  passwordHash: string;
  /** Creates a tenant (unique per call) and returns its id. */
  createTenant(prefix?: string): Promise<string>;
  /** Creates an active user with {@link PASSWORD}; `totp: true` enrols TOTP and returns its secret and backup codes. */
  createUser(tenantId: string, input: Partial<CreateUserInput> & { totp?: boolean }): Promise<FixtureUser>;
  client(tenantId: string, ip?: string): PortalClient;
  /**
   * Creates an active user (as {@link PortalHarness.createUser}, but with no data type and no capability unless
   * given) and signs it in through the form; fails the test unless sign-in lands on `/`.
   */
  signedIn(tenantId: string, input?: Partial<CreateUserInput>): Promise<{ client: PortalClient; user: User; email: string }>;
  close(): Promise<void>;
}

export interface FixtureUser {
  user: User;
  email: string;
  totpSecret?: string;
  backupCodes?: string[];
}

/**
 * Builds the harness: real MongoDB (`inject('mongoUrl')`) and Redis, production-like options (Secure `__Host-`
 * cookie behind a trusted loopback proxy that says HTTPS), and the test bed's destination policy (loopback allowed,
 * local targets below the temp directory) unless `deps.destinations` gives another.
 */
export async function startPortalHarness(
  overrides: Partial<PortalOptions> = {},
  deps: Partial<PortalDeps> = {},
  mongoOptions: MongoClientOptions = {},
): Promise<PortalHarness> {
  const mongo = await MongoClient.connect(inject('mongoUrl'), mongoOptions);
  const dbName = uniqueDbName('portal');
  const db = mongo.db(dbName);
  const controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  const redis = createTestRedis();
  const prefix = `${uniqueName('portal')}:`;
  const options: PortalOptions = {
    publicUrl: `https://${PUBLIC_HOST}`,
    defaultTenant: undefined,
    trustProxy: ['loopback'],
    sessionSecrets: ['a-test-session-secret-of-at-least-32-chars'],
    sessionIdleMs: 30 * 60_000,
    sessionAbsoluteMs: 12 * 3_600_000,
    cookieSecure: true,
    redisPrefix: prefix,
    ...overrides,
  };
  const portal = createPortalApp({
    controlPlane,
    redis,
    keyring,
    logger: createLogger({ level: 'silent', name: 'portal-test' }),
    pingMongo: async () => void (await db.command({ ping: 1 })),
    options,
    destinations: testDestinations(),
    ...deps,
  });
  const passwordHash = await hashPassword(PASSWORD);
  const harness: PortalHarness = {
    portal,
    app: portal.app,
    controlPlane,
    db,
    mongo,
    redis,
    passwordHash,
    async createTenant(name = 'acme') {
      const id = `${name}-${randomBytes(3).toString('hex')}`;
      await controlPlane.tenants.create({ id, displayName: `${name} Support` });
      return id;
    },
    async createUser(tenantId, input) {
      const email = input.email ?? `${uniqueName('user')}@example.com`;
      const user = await controlPlane.users.create(tenantId, {
        email,
        displayName: input.displayName ?? 'Jo Tester',
        role: input.role ?? 'administrator',
        capabilities: input.capabilities ?? [],
        ...(input.dataTypes !== undefined ? { dataTypes: input.dataTypes } : {}),
        passwordHash,
      });
      if (!input.totp) return { user, email };
      const totpSecret = encodeBase32(generateTotpSecret());
      const sealed = sealSecret(keyring, totpSecret, totpSecretContext(tenantId, user.id));
      const backupCodes = generateBackupCodes(3);
      await controlPlane.users.setPendingTotpSecret(tenantId, user.id, sealed);
      await controlPlane.users.enableTotp(tenantId, user.id, sealed, 0, await hashBackupCodes(backupCodes));
      return { user: (await controlPlane.users.findById(tenantId, user.id)) as User, email, totpSecret, backupCodes };
    },
    client: (tenantId, ip) => new PortalClient(portal.app, `${tenantId}.${PUBLIC_HOST}`, options.cookieSecure, ip),
    async signedIn(tenantId, input = {}) {
      const { user, email } = await harness.createUser(tenantId, { dataTypes: [], capabilities: [], ...input });
      const client = harness.client(tenantId);
      const answer = await client.signIn(email);
      if (answer.headers.location !== '/') throw new Error(`sign-in of ${email} answered ${answer.status} to ${String(answer.headers.location)}, not /`);
      return { client, user, email };
    },
    async close() {
      await cleanupPrefix(redis, prefix);
      await redis.quit();
      await db.dropDatabase();
      await mongo.close();
    },
  };
  return harness;
}

/** The current TOTP code of a secret at the (possibly faked) clock. */
export const currentCode = (secret: string): string => generateTotp(secret, { now: Date.now() });

/**
 * A browser stand-in: keeps the session cookie itself (so a test can also replay an old one), sends every request as
 * HTTPS through the trusted proxy, and picks up the CSRF token from each page.
 */
export class PortalClient {
  cookie: string | undefined;
  csrf: string | undefined;

  constructor(
    private readonly app: Express,
    readonly host: string,
    private readonly secure: boolean,
    private readonly ip?: string,
  ) {}

  get cookieName(): string {
    return sessionCookieName(this.secure);
  }

  private prepare(test: request.Test): request.Test {
    test.set('Host', this.host).set('X-Forwarded-Proto', 'https').set('User-Agent', 'portal-test');
    if (this.ip !== undefined) test.set('X-Forwarded-For', this.ip);
    if (this.cookie !== undefined) test.set('Cookie', `${this.cookieName}=${this.cookie}`);
    return test;
  }

  private absorb(res: request.Response): request.Response {
    const setCookies = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
    for (const line of setCookies) {
      const match = new RegExp(`^${this.cookieName.replace(/[.]/g, '\\.')}=([^;]*)`).exec(line);
      if (match?.[1] !== undefined && match[1] !== this.cookie) {
        this.cookie = match[1];
        this.csrf = undefined;
      }
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.text ?? '');
    if (token?.[1] !== undefined) this.csrf = token[1];
    return res;
  }

  /** GETs a path, with extra request headers when given (e.g. `Authorization` for `/metrics`). */
  async get(path: string, headers: Record<string, string> = {}): Promise<request.Response> {
    return this.absorb(await this.prepare(request(this.app).get(path)).set(headers));
  }

  /** Follows redirects of GETs (at most five) and returns the last response. */
  async follow(path: string): Promise<request.Response> {
    let res = await this.get(path);
    for (let i = 0; i < 5 && res.status >= 300 && res.status < 400; i += 1) res = await this.get(String(res.headers.location));
    return res;
  }

  /** POSTs a form with the current CSRF token (fetched from a page first when none is known), unless `csrf: false`. */
  async post(path: string, form: Record<string, string | string[]>, options: { csrf?: boolean | string } = {}): Promise<request.Response> {
    if (options.csrf !== false && typeof options.csrf !== 'string' && this.csrf === undefined) await this.follow('/sign-in');
    const token = typeof options.csrf === 'string' ? options.csrf : options.csrf === false ? undefined : this.csrf;
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) for (const v of ([] as string[]).concat(value)) body.append(key, v);
    if (token !== undefined) body.append('_csrf', token);
    return this.absorb(await this.prepare(request(this.app).post(path)).type('form').send(body.toString()));
  }

  /** Signs in with email and password, and the second factor when `code` is given. Returns the last response. */
  async signIn(email: string, password = PASSWORD, code?: string): Promise<request.Response> {
    const res = await this.post('/sign-in', { email, password });
    if (code === undefined || res.headers.location !== '/sign-in/second-factor') return res;
    await this.get('/sign-in/second-factor');
    return this.post('/sign-in/second-factor', { code });
  }
}
