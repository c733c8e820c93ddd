import { join } from 'node:path';
import ejs from 'ejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../../src/access/capabilities.js';
import { principalOf, type Principal } from '../../../src/access/principal.js';
import { ROUTE_IDS, ROUTE_PERMISSIONS, routeDecision } from '../../../src/access/route-permissions.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import {
  ARCHIVE_NAVIGATION,
  DASHBOARD_SHORTCUTS,
  PORTAL_MENU,
  allowedLinks,
  type NavigationEntry,
  type NavigationLink,
} from '../../../src/portal/navigation.js';
import { findViewsDirectory } from '../../../src/portal/view-rendering.js';
import { SINGLE_GRANT_SETS, type GrantSet } from '../../unit/access/grant-combinations.js';
import { startPortalHarness, type PortalHarness } from './portal-harness.js';

/**
 * One capability rule (issue 12.4): the menu, the archive navigation and the dashboard's tiles are lists computed
 * from `ROUTE_PERMISSIONS` for the signed-in principal; the templates draw what they are given and decide nothing.
 * An item is shown exactly when its route answers the principal (ASVS 4.1.3).
 */

const GRANT_SETS: [string, GrantSet][] = [
  ...SINGLE_GRANT_SETS,
  ['every grant', { role: 'administrator', dataTypes: [...RECORD_TYPES], capabilities: [...CAPABILITIES] }],
];

const principalWith = (grants: GrantSet): Principal => principalOf({ id: 'u', tenantId: 'acme', ...grants });
const hrefs = (links: readonly NavigationLink[]): string[] => links.map((link) => link.href);
const linkOf = (entry: NavigationEntry): NavigationLink => ({
  label: entry.label,
  route: entry.route,
  href: ROUTE_PERMISSIONS[entry.route].path,
  description: entry.description,
});

/** The links of the page's menu (`<nav class="nav">`), in order. */
function menuHrefs(html: string): string[] {
  const nav = /<nav class="nav">([\s\S]*?)<\/nav>/.exec(html)?.[1];
  if (nav === undefined) throw new Error('the page has no menu');
  return [...nav.matchAll(/href="([^"]*)"/g)].map((m) => m[1] as string);
}

/** The links of the page's tiles (`<a class="tile">`), in order. */
const tileHrefs = (html: string): string[] => [...html.matchAll(/<a class="tile" href="([^"]*)"/g)].map((m) => m[1] as string);

describe('navigation entries and the route table', () => {
  it('every entry opens a signed-in GET route without parameters, and no route is listed twice in one list', () => {
    for (const list of [PORTAL_MENU, ARCHIVE_NAVIGATION, DASHBOARD_SHORTCUTS]) {
      for (const entry of list) {
        expect(ROUTE_IDS, entry.label).toContain(entry.route);
        const route = ROUTE_PERMISSIONS[entry.route];
        expect([route.method, route.access, route.path.includes(':')], entry.route).toEqual(['GET', 'signed-in', false]);
      }
      expect(new Set(list.map((entry) => entry.route)).size).toBe(list.length);
    }
  });

  it('the archive navigation has one list per data type, each the list route of its type', () => {
    expect(ARCHIVE_NAVIGATION.map((entry) => ROUTE_PERMISSIONS[entry.route].scope)).toEqual([...RECORD_TYPES]);
    expect(PORTAL_MENU).toEqual(expect.arrayContaining([...ARCHIVE_NAVIGATION]));
  });

  it.each(GRANT_SETS)('%s: an entry is listed exactly when its route is allowed', (_name, grants) => {
    const principal = principalWith(grants);
    for (const list of [PORTAL_MENU, ARCHIVE_NAVIGATION, DASHBOARD_SHORTCUTS]) {
      const expected = list.filter((entry) => routeDecision(principal, entry.route) === 'allow').map(linkOf);
      expect(allowedLinks(principal, list)).toEqual(expected);
    }
  });
});

describe('templates draw the links they are given and decide nothing themselves', () => {
  const views = findViewsDirectory();
  const render = (view: string, locals: Record<string, unknown>): Promise<string> => ejs.renderFile(join(views, view), locals, { views: [views], root: views });
  const tenant = { id: 'acme', displayName: 'Acme Support' };
  const ownerUser = {
    id: 'o',
    tenantId: 'acme',
    email: 'owner@example.com',
    displayName: 'Olga',
    role: 'owner',
    dataTypes: [...RECORD_TYPES],
    capabilities: [...CAPABILITIES],
  };
  const blankUser = { ...ownerUser, id: 'b', email: 'blank@example.com', role: 'administrator', dataTypes: [], capabilities: [] };
  const everything = PORTAL_MENU.map(linkOf);
  const accountOnly = PORTAL_MENU.filter((entry) => entry.route === 'account.view').map(linkOf);

  // The user's grants and the links disagree on purpose: a template that looked at the grants would draw other links.
  it.each([
    ['the owner given only Account', ownerUser, accountOnly],
    ['an administrator without grants given every link', blankUser, everything],
    ['the owner given no links', ownerUser, []],
  ])('layout: %s', async (_name, user, navigation) => {
    const html = await render('layout.ejs', { title: 'Page', body: '<p>page</p>', csrfToken: 't', portal: { tenant, user, navigation } });
    expect(menuHrefs(html)).toEqual(hrefs(navigation));
  });

  it.each([
    ['the owner given only the chats tile and no shortcuts', ownerUser, ARCHIVE_NAVIGATION.filter((e) => e.route === 'chats.list').map(linkOf), []],
    ['an administrator without grants given every tile', blankUser, ARCHIVE_NAVIGATION.map(linkOf), DASHBOARD_SHORTCUTS.map(linkOf)],
  ])('dashboard: %s', async (_name, user, archiveLinks, shortcuts) => {
    const html = await render('dashboard.ejs', {
      portal: { tenant, user },
      archiveLinks,
      shortcuts,
      types: [],
      runs: [],
      health: undefined,
      archiveConfigured: false,
      runsJobs: false,
    });
    expect(tileHrefs(html)).toEqual([...hrefs(archiveLinks), ...hrefs(shortcuts)]);
  });
});

describe('the portal: the menu shows an item exactly when its route answers', () => {
  let h: PortalHarness;
  let tenantId: string;

  beforeAll(async () => {
    h = await startPortalHarness();
    tenantId = await h.createTenant('nav');
  });

  afterAll(async () => {
    await h?.close();
  });

  it.each(GRANT_SETS)('%s', async (_name, grants) => {
    const { user, email } = await h.createUser(tenantId, grants);
    const principal = principalOf(user);
    const client = h.client(tenantId);
    expect((await client.signIn(email)).headers.location).toBe('/');
    const dashboard = await client.get('/');
    expect(dashboard.status).toBe(200);
    const shown = menuHrefs(dashboard.text);
    expect(shown).toEqual(hrefs(allowedLinks(principal, PORTAL_MENU)));
    expect(tileHrefs(dashboard.text)).toEqual([...hrefs(allowedLinks(principal, ARCHIVE_NAVIGATION)), ...hrefs(allowedLinks(principal, DASHBOARD_SHORTCUTS))]);

    for (const entry of PORTAL_MENU) {
      const res = await client.get(ROUTE_PERMISSIONS[entry.route].path);
      if (shown.includes(ROUTE_PERMISSIONS[entry.route].path)) expect([401, 403, 404], `${entry.route} is shown`).not.toContain(res.status);
      else expect([res.status, /Code: <code>([A-Z_]+)<\/code>/.exec(res.text)?.[1]], `${entry.route} is not shown`).toEqual([403, 'ERR_FORBIDDEN']);
    }
  });
});
