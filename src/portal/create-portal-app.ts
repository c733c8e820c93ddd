import { csrfSync } from 'csrf-sync';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { RetentionError } from '../errors.js';
import { createPortalMetrics } from '../metrics/portal-metrics.js';
import { requestMetrics } from '../metrics/request-metrics.js';
import { requireCompliantAccount, requireUser } from './access-gates.js';
import { errorHandler } from './error-handler.js';
import { meteredQueuesOf, type PortalDeps } from './portal-deps.js';
import { auditRefusals } from './refusal-audit.js';
import { createPortalServices, type PortalServices } from './portal-services.js';
import { accountRoutes } from './routes/account-routes.js';
import { emailAddressRoutes, emailConfirmationRoutes } from './routes/email-address-routes.js';
import { timeZoneRoutes } from './routes/time-zone-routes.js';
import { activationRoutes } from './routes/activation-routes.js';
import { archiveCallLogsRoutes } from './routes/archive-call-logs-routes.js';
import { archiveChatsRoutes } from './routes/archive-chats-routes.js';
import { archiveContactsRoutes } from './routes/archive-contacts-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { jobsRoutes } from './routes/jobs-routes.js';
import { outboxRoutes } from './routes/outbox-routes.js';
import { passwordResetRoutes } from './routes/password-reset-routes.js';
import { retentionSettingsRoutes } from './routes/retention-settings-routes.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { exportRoutes } from './routes/export-routes.js';
import { securitySettingsRoutes } from './routes/security-settings-routes.js';
import { signInRoutes } from './routes/sign-in-routes.js';
import { ssoSettingsRoutes } from './routes/sso-settings-routes.js';
import { ssoSignInRoutes } from './routes/sso-sign-in-routes.js';
import { twoFactorRoutes } from './routes/two-factor-routes.js';
import { usersRoutes } from './routes/users-routes.js';
import './session-data.js';
import { sessionGuard } from './session-guard.js';
import { newSessionId } from './session-lifecycle.js';
import { tenantContext } from './tenant-context.js';
import { findViewsDirectory, useEjsLayout } from './view-rendering.js';

/** The portal app and the services it was built with (tests reach the session store and the throttle through them). */
export interface PortalApp {
  app: Express;
  services: PortalServices;
}

/** Name of the session cookie: `__Host-` prefixed (Secure, Path=/, no Domain) unless Secure is off for a local demo. */
export function sessionCookieName(cookieSecure: boolean): string {
  return cookieSecure ? '__Host-retention.sid' : 'retention.sid';
}

/**
 * Builds the portal: Express 5, helmet with a strict CSP (scripts and styles only from the portal itself, no inline
 * script or style, images from us or `data:` for the QR code), sessions in Redis with 256-bit ids, CSRF tokens on
 * every state-changing request, the tenant from the host name, the IP allowlist on every request, and the routes.
 * Listening is the caller's business.
 *
 * @example
 * const { app } = createPortalApp({ controlPlane, redis, keyring, logger, pingMongo, options });
 * app.listen(config.port, config.host);
 */
export function createPortalApp(deps: PortalDeps): PortalApp {
  const services = createPortalServices(deps);
  const { options } = services;
  const app = express();
  app.disable('x-powered-by');
  // Pages are private and never stored (Cache-Control: no-store), so an ETag (a SHA-1 of every page) serves no one;
  // assets keep theirs (express.static sets its own).
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy);
  useEjsLayout(app, findViewsDirectory(), { cache: process.env.NODE_ENV !== 'development' });
  app.locals.tenantName = '';
  app.locals.passwordResetByMail = services.mail !== undefined;
  const metrics = createPortalMetrics({ version: services.options.version, queues: meteredQueuesOf(deps) });
  app.use(requestMetrics(metrics.http, { staticPrefixes: ['/assets'] }));

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'none'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'font-src': ["'self'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          'base-uri': ["'none'"],
          'object-src': ["'none'"],
          ...(options.cookieSecure ? { 'upgrade-insecure-requests': [] } : {}),
        },
      },
      // X-Frame-Options for browsers without CSP frame-ancestors, saying the same: never framed.
      xFrameOptions: { action: 'deny' },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use(healthRoutes(services, metrics.registry));
  app.use('/assets', express.static(`${findViewsDirectory()}/assets`, { index: false, redirect: false, dotfiles: 'ignore', maxAge: '1h' }));
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100 }));
  app.use(
    session({
      name: sessionCookieName(options.cookieSecure),
      secret: [...options.sessionSecrets],
      store: services.sessionStore,
      genid: newSessionId,
      resave: false,
      saveUninitialized: false,
      unset: 'destroy',
      cookie: { httpOnly: true, secure: options.cookieSecure, sameSite: 'lax', path: '/' },
    }),
  );
  // After the session (a Redis read), so the tenant, its security settings and the session's user come in one
  // control-plane round trip (RequestContextStore); nothing is handled before the tenant and its IP allowlist pass.
  app.use(tenantContext(services));
  app.use(sessionGuard(services));
  const csrf = csrfSync({
    size: 32,
    // csrf-sync compares the received token with the session's using ===, which leaks timing. The token is a secret,
    // so it is compared here in constant time, and csrf-sync receives the session's own token only on a match.
    getTokenFromRequest: (req) => {
      const body: unknown = req.body;
      const received = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)._csrf : undefined;
      const stored: unknown = req.session.csrfToken;
      if (typeof received !== 'string' || typeof stored !== 'string') return undefined;
      return constantTimeEqual(received, stored) ? stored : undefined;
    },
  });
  app.use(csrf.csrfSynchronisedProtection);
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.locals.csrfToken = csrf.generateToken(req);
    res.set('Cache-Control', 'no-store');
    next();
  });

  const sso = ssoSignInRoutes(services);
  app.use(signInRoutes(services));
  app.use(sso.publicRoutes);
  app.use(activationRoutes(services));
  app.use(passwordResetRoutes(services));
  app.use(emailConfirmationRoutes(services));
  app.use(requireUser, requireCompliantAccount(services.now));
  app.use(dashboardRoutes(services));
  app.use(archiveCallLogsRoutes(services));
  app.use(archiveChatsRoutes(services));
  app.use(archiveContactsRoutes(services));
  app.use(exportRoutes(services));
  app.use(twoFactorRoutes(services));
  app.use(accountRoutes(services));
  app.use(sso.signedInRoutes);
  app.use(emailAddressRoutes(services), timeZoneRoutes(services));
  app.use(usersRoutes(services));
  app.use(outboxRoutes(services));
  app.use(jobsRoutes(services), retentionSettingsRoutes(services));
  app.use(securitySettingsRoutes(services), ssoSettingsRoutes(services));
  app.use(auditRoutes(services));
  app.use(() => {
    throw new RetentionError('ERR_NOT_FOUND', 'There is no page at this address.');
  });
  app.use(auditRefusals(services));
  app.use(errorHandler(deps.logger));
  return { app, services };
}
