import type { Principal } from '../access/principal.js';
import { ROUTE_PERMISSIONS, routeAllowed, type RouteId } from '../access/route-permissions.js';

/** A link the portal may offer: its text, the route it opens (a GET route without parameters) and an optional hint. */
export interface NavigationEntry {
  readonly label: string;
  readonly route: RouteId;
  /** One sentence under the label, where the link is drawn as a tile. */
  readonly description?: string;
}

/** A {@link NavigationEntry} the principal may follow, with its address from `ROUTE_PERMISSIONS`. */
export interface NavigationLink {
  label: string;
  route: RouteId;
  href: string;
  description: string | undefined;
}

/** A link of the menu at the top of the page, marked when it is the page shown or the section that page belongs to. */
export interface MenuLink extends NavigationLink {
  /** Drawn with `aria-current="page"`: the link's address is the page's path, or the start of it (`/chats` on `/chats/:id`). */
  current: boolean;
}

/** The archive's lists, one per data type. */
export const ARCHIVE_NAVIGATION: readonly NavigationEntry[] = [
  { label: 'Call logs', route: 'call-logs.list', description: 'Browse and search the archived call logs.' },
  { label: 'Chats', route: 'chats.list', description: 'Browse and search the archived chats.' },
  { label: 'Contacts', route: 'contacts.list', description: 'Browse and search the archived contacts.' },
];

/** The menu at the top of every signed-in page, in order. */
export const PORTAL_MENU: readonly NavigationEntry[] = [
  { label: 'Dashboard', route: 'dashboard' },
  ...ARCHIVE_NAVIGATION,
  { label: 'Exports', route: 'exports.list' },
  { label: 'Account', route: 'account.view' },
  { label: 'Users', route: 'users.list' },
  { label: 'Outbox', route: 'users.outbox' },
  { label: 'Security', route: 'settings.security.view' },
  { label: 'Jobs', route: 'jobs.list' },
  { label: 'Retention', route: 'settings.retention.view' },
  { label: 'Audit log', route: 'audit.list' },
];

/** The shortcuts at the foot of the dashboard. */
export const DASHBOARD_SHORTCUTS: readonly NavigationEntry[] = [
  { label: 'Your account', route: 'account.view', description: 'Password, two-factor authentication, backup codes and sessions.' },
  { label: 'Users', route: 'users.list', description: 'Invite administrators and reset their two-factor authentication.' },
  { label: 'Audit log', route: 'audit.list', description: 'Every sign-in, record view, search and security change.' },
];

/**
 * The entries whose route `routeAllowed` lets `principal` use, with their addresses: what a template draws,
 * deciding nothing itself. An entry is shown exactly when its route answers the principal.
 *
 * @example
 * allowedLinks(chatsOnly, ARCHIVE_NAVIGATION); // [{ label: 'Chats', route: 'chats.list', href: '/chats', … }]
 */
export function allowedLinks(principal: Principal, entries: readonly NavigationEntry[]): NavigationLink[] {
  return entries
    .filter((entry) => routeAllowed(principal, entry.route))
    .map((entry) => ({ label: entry.label, route: entry.route, href: ROUTE_PERMISSIONS[entry.route].path, description: entry.description }));
}

/**
 * The menu of `principal` on the page at `path`: the allowed entries of {@link PORTAL_MENU}, the one the page belongs
 * to marked current (the link whose address is the path, else the longest address the path continues with a `/`; the
 * dashboard only on `/`).
 *
 * @example
 * portalMenu(owner, '/chats/c-1').find((link) => link.current)?.label; // 'Chats'
 */
export function portalMenu(principal: Principal, path: string): MenuLink[] {
  const links = allowedLinks(principal, PORTAL_MENU);
  const matches = (href: string): boolean => path === href || (href !== '/' && path.startsWith(`${href}/`));
  const current = links.filter((link) => matches(link.href)).sort((a, b) => b.href.length - a.href.length)[0];
  return links.map((link) => ({ ...link, current: link === current }));
}
