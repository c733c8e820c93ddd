import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalHarness, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;
beforeAll(async () => {
  h = await startPortalHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('portal: audit log filters, downloads and chain state', () => {
  it('filters by user, action and time in the URL, downloads the same selection as CSV, JSON and CEF, and audits each download', async () => {
    const tenantId = await h.createTenant('audit-co');
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    await h.controlPlane.audit.append(
      tenantId,
      { actor: { type: 'cli', id: 'cli' }, action: 'settings.changed', outcome: 'success', target: '=HYPERLINK("x")' },
      new Date('2026-01-05T10:00:00Z'),
    );

    const byUser = await client.get(`/audit?user=${encodeURIComponent(owner.user.id)}`);
    expect(byUser.status).toBe(200);
    expect(byUser.text).toContain('>auth.login</a>');
    expect(byUser.text).not.toContain('>settings.changed</a>');
    const byOtherUser = await client.get('/audit?user=cli');
    expect(byOtherUser.text).toContain('>settings.changed</a>');
    expect(byOtherUser.text).not.toContain('>auth.login</a>');
    expect(byUser.text).toContain('Hash chain intact');

    const byTime = await client.get('/audit?from=2026-01-01&to=2026-01-31');
    expect(byTime.status).toBe(200);
    expect(byTime.text).toContain('>settings.changed</a>');
    expect(byTime.text).not.toContain('>auth.login</a>');

    const csv = await client.get('/audit.csv?from=2026-01-01&to=2026-01-31');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toContain('attachment');
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('seq,at,action,outcome,actorType,actorId,target,ip,userAgent,details,prevHash,hash');
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);

    const json = JSON.parse((await client.get('/audit.json?action=settings.changed')).text) as Array<{ action: string; at: string; hash: string }>;
    expect(json.map((e) => e.action)).toEqual(['settings.changed']);
    expect(json[0]?.at).toBe('2026-01-05T10:00:00.000Z');
    expect(json[0]?.hash).toMatch(/^[0-9a-f]{64}$/);

    const cef = await client.get('/audit.cef?action=settings.changed');
    expect(cef.text.trim().split('\n')).toHaveLength(1);

    const exported = await h.controlPlane.audit.list(tenantId, { action: 'audit.exported' });
    expect(exported.map((e) => e.details?.format).sort()).toEqual(['cef', 'csv', 'json']);
  });

  it.each([
    ['action=%24where', 'action:'],
    ['user=%7B%22%24ne%22%3A1%7D', 'user:'],
    ['from=yesterday', 'from:'],
    ['from=2026-02-01&to=2026-01-01', 'to: must be after from'],
    ['action=a&action=b', 'action: give it once'],
    ['user=a&user=b', 'user: give it once'],
  ])('refuses the filter %s with a clear message and no entries', async (query, message) => {
    const tenantId = await h.createTenant(`audit-bad-${Math.random().toString(36).slice(2, 8)}`);
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    const page = await client.get(`/audit?${query}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain(message);
    expect(page.text).not.toContain('<tbody>');
    expect((await client.get(`/audit.csv?${query}`)).status).toBe(400);
  });

  it('shows a broken chain', async () => {
    const tenantId = await h.createTenant('audit-broken');
    const owner = await h.createUser(tenantId, { role: 'owner' });
    const client = h.client(tenantId);
    await client.signIn(owner.email);
    await h.db.collection('audit').updateOne({ tenantId, seq: 1 }, { $set: { outcome: 'failure' } });
    const page = await client.get('/audit');
    expect(page.text).toContain('Hash chain broken at entry 1');
  });

  it('refuses the audit log and its downloads to a user without read-audit (ASVS 4.1.3)', async () => {
    const tenantId = await h.createTenant('audit-denied');
    await h.createUser(tenantId, { role: 'owner' });
    const member = await h.createUser(tenantId, { capabilities: ['export'] });
    const client = h.client(tenantId);
    await client.signIn(member.email);
    for (const path of ['/audit', '/audit.csv', '/audit.json', '/audit.cef']) expect((await client.get(path)).status).toBe(403);
  });
});
