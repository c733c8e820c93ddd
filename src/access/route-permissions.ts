import { RetentionError } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
import { forbiddenError, notFoundError } from './access-errors.js';
import type { Capability } from './capabilities.js';
import { can, canRead } from './permissions.js';
import type { Principal } from './principal.js';

/**
 * What one portal route requires.
 *
 * - `access: 'public'`: anyone (sign-in, forgotten passwords, activation links, health probes);
 * - `access: 'signed-in'`: any signed-in user (dashboard, own account); a route may add `capability` and/or `scope`;
 * - `ownerOnly`: only the tenant's owner, whatever capabilities an administrator holds (the single sign-on settings:
 *   they decide how everybody signs in, the owner's break-glass sign-in included; the organisation's time zone);
 * - `scope`: the record type the route reads. Out of scope, a list page answers 403 (`outOfScope: 'forbidden'`:
 *   the page exists for everybody, the user just lacks the type) and a page of one record answers 404
 *   (`outOfScope: 'not-found'`: never confirm that a record exists).
 */
export interface RoutePermission {
  method: 'GET' | 'POST';
  /** Express 5 path. */
  path: string;
  access: 'public' | 'signed-in';
  capability?: Capability;
  /** Any one of these capabilities admits (for pages several roles need to see, such as the runs). */
  anyCapability?: readonly Capability[];
  scope?: RecordType;
  outOfScope?: 'forbidden' | 'not-found';
  ownerOnly?: true;
}

const signedIn = (method: RoutePermission['method'], path: string, rest: Partial<RoutePermission> = {}): RoutePermission => ({
  method,
  path,
  access: 'signed-in',
  ...rest,
});
const publicRoute = (method: RoutePermission['method'], path: string): RoutePermission => ({ method, path, access: 'public' });
const list = (path: string, scope: RecordType): RoutePermission => signedIn('GET', path, { scope, outOfScope: 'forbidden' });
const record = (path: string, scope: RecordType): RoutePermission => signedIn('GET', path, { scope, outOfScope: 'not-found' });
const needs = (capability: Capability, method: RoutePermission['method'], path: string): RoutePermission => signedIn(method, path, { capability });
const ownerOnly = (method: RoutePermission['method'], path: string): RoutePermission => signedIn(method, path, { ownerOnly: true });
const needsAnyOf = (anyCapability: readonly Capability[], method: RoutePermission['method'], path: string): RoutePermission =>
  signedIn(method, path, { anyCapability });

/**
 * Every portal route and what it requires, by route id: the portal checks it on each request
 * ({@link authorizeRoute}, through `authorizedPrincipal` and `requireRoute` in `src/portal/access-gates.ts`), shows a
 * menu item or a button only for a route {@link routeAllowed} allows (`src/portal/navigation.ts`), and the
 * permission-matrix test walks it for every combination of grants ({@link routeDecision}). A route the portal serves
 * must have an entry here.
 *
 * Data checks beyond the route (the type of an export, related records on a contact page) are made by the
 * modules that read the data, with the same principal.
 */
export const ROUTE_PERMISSIONS = {
  'health.live': publicRoute('GET', '/healthz'),
  'health.ready': publicRoute('GET', '/readyz'),
  /** Public to the session layer: the route itself requires `Authorization: Bearer <METRICS_TOKEN>` (404 while unset). */
  'health.metrics': publicRoute('GET', '/metrics'),
  'sign-in.form': publicRoute('GET', '/sign-in'),
  'sign-in.submit': publicRoute('POST', '/sign-in'),
  'sign-in.second-factor.form': publicRoute('GET', '/sign-in/second-factor'),
  'sign-in.second-factor.submit': publicRoute('POST', '/sign-in/second-factor'),
  'sign-in.forgot-password.form': publicRoute('GET', '/forgot-password'),
  'sign-in.forgot-password.submit': publicRoute('POST', '/forgot-password'),
  'sign-in.reset-password.form': publicRoute('GET', '/reset-password'),
  'sign-in.reset-password.submit': publicRoute('POST', '/reset-password'),
  'activation.form': publicRoute('GET', '/activate/:token'),
  'activation.submit': publicRoute('POST', '/activate/:token'),
  'invitation.form': publicRoute('GET', '/invitation/:token'),
  'invitation.submit': publicRoute('POST', '/invitation/:token'),
  'email-confirmation.form': publicRoute('GET', '/confirm-email'),
  'email-confirmation.submit': publicRoute('POST', '/confirm-email'),
  /** Single sign-on: to the tenant's provider (a link on the sign-in page: CSP form-action would stop a form's redirect), and back. */
  'sso.start': publicRoute('GET', '/sso/start'),
  'sso.callback': publicRoute('GET', '/sso/callback'),
  /** Where the provider sends the browser back after RP-initiated logout. */
  'sso.signed-out': publicRoute('GET', '/sso/signed-out'),

  'sign-out': signedIn('POST', '/sign-out'),
  dashboard: signedIn('GET', '/'),
  'account.view': signedIn('GET', '/account'),
  'account.password.form': signedIn('GET', '/account/password'),
  'account.password.change': signedIn('POST', '/account/password'),
  'account.email.change': signedIn('POST', '/account/email'),
  'account.email.confirm-current': signedIn('POST', '/account/email/confirmation'),
  'account.email.cancel': signedIn('POST', '/account/email/cancel'),
  'account.sessions.list': signedIn('GET', '/account/sessions'),
  'account.sessions.end-others': signedIn('POST', '/account/sessions/sign-out-others'),
  'account.sessions.end-all': signedIn('POST', '/account/sessions/sign-out-all'),
  'account.sessions.end-one': signedIn('POST', '/account/sessions/:handle/sign-out'),
  'account.two-factor.form': signedIn('GET', '/account/two-factor/setup'),
  'account.two-factor.enable': signedIn('POST', '/account/two-factor/setup'),
  'account.two-factor.disable': signedIn('POST', '/account/two-factor/disable'),
  'account.backup-codes.renew': signedIn('POST', '/account/backup-codes'),
  /** Confirming one's identity through the provider (users who sign in with SSO only, for actions that need a fresh sign-in). */
  'account.sso.reauthenticate': signedIn('GET', '/account/sso/reauthenticate'),
  'account.time-zone.update': signedIn('POST', '/account/time-zone'),

  'call-logs.list': list('/call-logs', 'call-logs'),
  'call-logs.detail': record('/call-logs/:id', 'call-logs'),
  'chats.list': list('/chats', 'chats'),
  'chats.detail': record('/chats/:id', 'chats'),
  'contacts.list': list('/contacts', 'contacts'),
  'contacts.detail': record('/contacts/:id', 'contacts'),

  'exports.list': needs('export', 'GET', '/exports'),
  'exports.request': needs('export', 'POST', '/exports'),
  'exports.status': needs('export', 'GET', '/exports/:id'),
  'exports.link': needs('export', 'POST', '/exports/:id/link'),
  'exports.download': needs('export', 'GET', '/exports/:id/download/:token'),

  'users.list': needs('manage-users', 'GET', '/users'),
  'users.invite': needs('manage-users', 'POST', '/users/invitations'),
  'users.invitation.renew': needs('manage-users', 'POST', '/users/:id/invitation/renew'),
  'users.invitation.revoke': needs('manage-users', 'POST', '/users/:id/invitation/revoke'),
  'users.grants.update': needs('manage-users', 'POST', '/users/:id/grants'),
  'users.deactivate': needs('manage-users', 'POST', '/users/:id/deactivate'),
  'users.reactivate': needs('manage-users', 'POST', '/users/:id/reactivate'),
  'users.unlock': needs('manage-users', 'POST', '/users/:id/unlock'),
  'users.reset-two-factor': needs('manage-users', 'POST', '/users/:id/reset-two-factor'),
  'users.sso.unlink': needs('manage-users', 'POST', '/users/:id/sso/unlink'),
  /** The tenant's outbox: mail to its administrators, whose addresses `manage-users` sees on the users page already. */
  'users.outbox': needs('manage-users', 'GET', '/outbox'),
  'settings.security.view': needs('manage-users', 'GET', '/settings/security'),
  'settings.security.confirm': needs('manage-users', 'POST', '/settings/security/confirm'),
  'settings.password-policy.update': needs('manage-users', 'POST', '/settings/password-policy'),
  'settings.two-factor-enforcement.update': needs('manage-users', 'POST', '/settings/two-factor-enforcement'),
  'settings.security.owner-password-reset': needs('manage-users', 'POST', '/settings/security/owner-password-reset'),
  'settings.ip-allowlist.update': needs('manage-users', 'POST', '/settings/ip-allowlist'),
  'settings.sso.update': ownerOnly('POST', '/settings/security/sso'),
  'settings.time-zone.update': ownerOnly('POST', '/settings/time-zone'),

  'settings.retention.view': needs('configure-retention', 'GET', '/settings/retention'),
  'settings.retention.update': needs('configure-retention', 'POST', '/settings/retention'),
  'settings.retention.test-connection': needs('configure-retention', 'POST', '/settings/retention/test-connection'),
  'settings.retention.rebuild': needs('configure-retention', 'POST', '/settings/retention/rebuild'),
  /** The Alerts section of the Retention settings page: who is mailed about failed runs, pauses and refused imports. */
  'settings.retention.alerts.update': needs('configure-retention', 'POST', '/settings/retention/alerts'),

  'jobs.list': needsAnyOf(['run-jobs', 'configure-retention'], 'GET', '/jobs'),
  'jobs.detail': needsAnyOf(['run-jobs', 'configure-retention'], 'GET', '/jobs/:id'),
  'jobs.retry': needs('run-jobs', 'POST', '/jobs/:id/retry'),
  'jobs.run-now': needs('run-jobs', 'POST', '/jobs/run-now'),
  'jobs.backfill': needs('run-jobs', 'POST', '/jobs/backfill'),
  'jobs.pause': needs('run-jobs', 'POST', '/jobs/pause'),
  'jobs.resume': needs('run-jobs', 'POST', '/jobs/resume'),

  'audit.list': needs('read-audit', 'GET', '/audit'),
  'audit.download.csv': needs('read-audit', 'GET', '/audit.csv'),
  'audit.download.json': needs('read-audit', 'GET', '/audit.json'),
  'audit.download.cef': needs('read-audit', 'GET', '/audit.cef'),
} as const satisfies Record<string, RoutePermission>;

/** The id of a portal route in {@link ROUTE_PERMISSIONS}. */
export type RouteId = keyof typeof ROUTE_PERMISSIONS;

/** Every route id, in table order. */
export const ROUTE_IDS = Object.keys(ROUTE_PERMISSIONS) as RouteId[];

/** What the portal answers a principal on a route: go ahead, 401 (sign in), 403 or 404. */
export type RouteDecision = 'allow' | 'sign-in' | 'forbidden' | 'not-found';

/**
 * The expected answer to `principal` (undefined: not signed in) on route `id`, from the table alone. The portal
 * enforces it with {@link authorizeRoute}; the permission-matrix test compares real responses with it.
 *
 * @example
 * routeDecision(chatsOnly, 'call-logs.detail'); // 'not-found'
 */
export function routeDecision(principal: Principal | undefined, id: RouteId): RouteDecision {
  const route: RoutePermission = ROUTE_PERMISSIONS[id];
  if (route.access === 'public') return 'allow';
  if (principal === undefined) return 'sign-in';
  if (route.scope !== undefined && !canRead(principal, route.scope)) return route.outOfScope ?? 'not-found';
  if (route.capability !== undefined && !can(principal, route.capability)) return 'forbidden';
  if (route.anyCapability !== undefined && !route.anyCapability.some((capability) => can(principal, capability))) return 'forbidden';
  if (route.ownerOnly === true && principal.role !== 'owner') return 'forbidden';
  return 'allow';
}

/**
 * True when {@link routeDecision} lets `principal` use route `id`: what decides whether a link or a button to the
 * route is shown, so the page offers exactly what the portal then serves.
 *
 * @example
 * routeAllowed(runner, 'jobs.run-now'); // true: show "Run now"
 */
export function routeAllowed(principal: Principal, id: RouteId): boolean {
  return routeDecision(principal, id) === 'allow';
}

/**
 * Throws what {@link routeDecision} refuses: `ERR_NOT_SIGNED_IN` (401), `ERR_FORBIDDEN` (403) or `ERR_NOT_FOUND`
 * (404); returns when the route is allowed. An unknown route id is refused (fail closed) with `ERR_ROUTE_UNKNOWN`.
 *
 * @example
 * router.get('/chats/:id', (req, res, next) => { authorizeRoute(principal, 'chats.detail'); next(); });
 */
export function authorizeRoute(principal: Principal | undefined, id: RouteId): void {
  if (!Object.hasOwn(ROUTE_PERMISSIONS, id)) {
    throw new RetentionError('ERR_ROUTE_UNKNOWN', `route "${String(id).slice(0, 80)}" has no entry in ROUTE_PERMISSIONS: add one before serving it`);
  }
  const decision = routeDecision(principal, id);
  if (decision === 'sign-in') throw new RetentionError('ERR_NOT_SIGNED_IN', 'Sign in first.');
  if (decision === 'not-found') throw notFoundError();
  if (decision === 'forbidden') {
    const route: RoutePermission = ROUTE_PERMISSIONS[id];
    throw forbiddenError(route.capability ?? (route.scope !== undefined ? { scope: route.scope } : 'owner'));
  }
}
