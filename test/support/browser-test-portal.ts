import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { parseKeyring } from '../../src/crypto/keyring.js';
import { createLogger } from '../../src/logger.js';
import { createPortalApp } from '../../src/portal/create-portal-app.js';
import type { PortalDeps } from '../../src/portal/portal-deps.js';

/** The portal's keyring unless a test passes its own: secrets the test seals for the portal use it. */
export const BROWSER_TEST_KEYRING = parseKeyring(`e2e:${Buffer.alloc(32, 5).toString('base64')}`);

/** A portal served on a free loopback port for a browser test. */
export interface BrowserTestPortal {
  /** `http://127.0.0.1:<port>`: also the portal's public URL (activation and invitation links point at it). */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * What differs between browser tests: the tenant, the Redis prefix and the optional parts of the portal (`mail`: an
 * outbox, e.g. a mail fixture's, for tests that read the messages the portal sends; `resultsExport` for the exports
 * pages; `sso` and `destinations` for single sign-on against a provider on loopback).
 */
export type BrowserTestPortalDeps = Pick<PortalDeps, 'controlPlane' | 'redis'> &
  Partial<Pick<PortalDeps, 'now' | 'archive' | 'archiveImports' | 'resultsExport' | 'mail' | 'sso' | 'destinations'>> & {
    /** The control-plane database (`/readyz` pings it). */
    db: Db;
    tenantId: string;
    redisPrefix: string;
  };

/**
 * Starts the real portal app for a browser test: listens first, so that the public URL is the real address, then
 * serves the app built with it. Plain http with a non-Secure cookie, the tenant as the default tenant.
 *
 * @example
 * const portal = await startBrowserTestPortal({ controlPlane, redis, db, tenantId, redisPrefix: prefix });
 * await page.goto(`${portal.baseUrl}/sign-in`);
 */
export async function startBrowserTestPortal(deps: BrowserTestPortalDeps): Promise<BrowserTestPortal> {
  const server: Server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { db, tenantId, redisPrefix, ...rest } = deps;
  const { app } = createPortalApp({
    ...rest,
    keyring: BROWSER_TEST_KEYRING,
    logger: createLogger({ level: 'silent', name: 'portal-browser-test' }),
    pingMongo: async () => void (await db.command({ ping: 1 })),
    options: {
      publicUrl: baseUrl,
      defaultTenant: tenantId,
      trustProxy: false,
      sessionSecrets: ['browser-test-session-secret-0123456789'],
      sessionIdleMs: 30 * 60_000,
      sessionAbsoluteMs: 12 * 3_600_000,
      cookieSecure: false,
      redisPrefix,
    },
  });
  server.on('request', app);
  return {
    baseUrl,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await closed;
    },
  };
}
