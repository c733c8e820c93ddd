import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

/**
 * Times in the reader's time zone (issue 16.10): the user's choice, else the organisation's (the owner's setting,
 * UTC at first); the UTC instant stays in the `datetime` attribute and the hover title.
 */

let h: PortalHarness;
let tenantId: string;
let owner: PortalClient;
let admin: PortalClient;
let adminId: string;

/** The times of the sessions page: `[shown text, title, datetime]` of each `<time>`. */
async function sessionTimes(c: PortalClient): Promise<[string, string, string][]> {
  const page = await c.get('/account/sessions');
  expect(page.status).toBe(200);
  return [...page.text.matchAll(/<time datetime="([^"]+)" title="([^"]+)">([^<]+)<\/time>/g)].map((m) => [m[3] ?? '', m[2] ?? '', m[1] ?? '']);
}

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant('tz');
  const o = await h.createUser(tenantId, { role: 'owner' });
  const a = await h.createUser(tenantId, { capabilities: ['manage-users', 'read-audit'] });
  adminId = a.user.id;
  owner = h.client(tenantId);
  admin = h.client(tenantId);
  expect((await owner.signIn(o.email)).status).toBe(303);
  expect((await admin.signIn(a.email)).status).toBe(303);
});
afterAll(async () => h.close());

describe('times in the reader’s time zone', () => {
  it('shows UTC at first, with the instant in the datetime attribute and UTC on hover', async () => {
    const [first] = await sessionTimes(admin);
    expect(first).toBeDefined();
    const [shown, title, iso] = first ?? ['', '', ''];
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(title).toBe(shown);
    expect(new Date(iso).toISOString()).toBe(iso);
    const account = await admin.get('/account');
    expect(account.text).toContain('Times on these pages are shown in <strong>UTC</strong>');
    expect(account.text, 'only the owner sets the organisation’s').not.toContain('action="/settings/time-zone"');
  });

  it('shows a user’s own zone with its offset, and keeps UTC on hover', async () => {
    const saved = await admin.post('/account/time-zone', { timeZone: 'Asia/Calcutta' });
    expect(saved.status).toBe(303);
    const [[shown, title, iso] = ['', '', '']] = await sessionTimes(admin);
    expect(shown).toMatch(/ UTC\+5:30$/);
    const instant = new Date(iso);
    const local = new Date(instant.getTime() + 5.5 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    expect(shown).toBe(`${local} UTC+5:30`);
    expect(title).toBe(`${instant.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'user.time-zone.changed', limit: 1 });
    expect(entry).toMatchObject({ actor: { id: adminId }, details: { timeZone: 'Asia/Calcutta' } });
    // The audit page too.
    const audit = await admin.get('/audit');
    expect(audit.text).toMatch(/<time datetime="[^"]+" title="[^"]+ UTC">[^<]+ UTC\+5:30<\/time>/);
  });

  it('refuses a zone that is not one, saying what is accepted, and keeps the one saved', async () => {
    for (const typed of ['CEST', 'Mars/Olympus_Mons', '', 'Europe/Berlin<script>']) {
      const refused = await admin.post('/account/time-zone', { timeZone: typed });
      expect(refused.status, typed).toBe(400);
      expect(refused.text).toContain('is not a time zone: choose one from the list, such as Europe/Berlin');
      expect(refused.text).not.toContain('<script>');
    }
    expect((await h.controlPlane.users.findById(tenantId, adminId))?.timeZone).toBe('Asia/Calcutta');
  });

  it('lets only the owner set the organisation’s zone, which applies to users who chose none', async () => {
    const denied = await admin.post('/settings/time-zone', { organisationTimeZone: 'America/New_York' });
    expect(denied.status).toBe(403);
    expect((await h.controlPlane.tenants.get(tenantId))?.timeZone).toBe('UTC');

    const set = await owner.post('/settings/time-zone', { organisationTimeZone: 'america/new_york' });
    expect(set.status).toBe(303);
    expect((await h.controlPlane.tenants.get(tenantId))?.timeZone).toBe('America/New_York');
    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'tenant.time-zone.changed', limit: 1 });
    expect(entry).toMatchObject({ details: { from: 'UTC', to: 'America/New_York' } });
    const [[ownerShown] = ['']] = await sessionTimes(owner);
    expect(ownerShown).toMatch(/ UTC-[45]$/);

    // The administrator keeps their own choice until they go back to the organisation's.
    const [[mine] = ['']] = await sessionTimes(admin);
    expect(mine).toMatch(/ UTC\+5:30$/);
    expect((await admin.post('/account/time-zone', { timeZone: 'organisation' })).status).toBe(303);
    expect((await h.controlPlane.users.findById(tenantId, adminId))?.timeZone).toBeUndefined();
    const [[theirs] = ['']] = await sessionTimes(admin);
    expect(theirs).toMatch(/ UTC-[45]$/);
    const account = await admin.get('/account');
    expect(account.text).toContain(`<option value="organisation" selected>Your organisation's (America/New_York)</option>`);
  });
});
