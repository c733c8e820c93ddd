import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run-cli.js';
import { startPortalHarness, type PortalHarness } from '../portal/portal-harness.js';
import { TEST_MASTER_KEYS } from '../../support/export-harness.js';
import { uniqueName } from '../../support/redis.js';

/** Issue 10.11: an owner locked out by their own IP allowlist gets back in through the operator's CLI, audited. */

let h: PortalHarness;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: {
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DATABASE: h.db.databaseName,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: uniqueName('cli-allow'),
      RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
    },
    readFile: (p) => readFileSync(p, 'utf8'),
    now: () => new Date(),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  h = await startPortalHarness();
});

afterAll(async () => {
  await h?.close();
});

describe('retention tenant allowlist', () => {
  it('lets the operator recover an owner locked out by their own allowlist, and audits it', async () => {
    const tenantId = await h.createTenant('locked');
    const owner = await h.createUser(tenantId, { role: 'owner' });
    await h.controlPlane.security.setIpAllowlist(tenantId, ['198.51.100.0/24'], owner.user.id);
    const office = h.client(tenantId, '203.0.113.7');
    expect((await office.get('/sign-in')).status).toBe(403);

    const shown = await cli(['tenant', 'allowlist', 'show', tenantId]);
    expect(shown).toMatchObject({ code: 0 });
    expect(shown.out).toContain('198.51.100.0/24');

    const added = await cli(['tenant', 'allowlist', 'add', tenantId, '203.0.113.7', '2001:db8::/32', '--by', 'ops-oncall']);
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual(['198.51.100.0/24', '203.0.113.7/32', '2001:db8::/32']);
    expect((await office.signIn(owner.email)).headers.location).toBe('/');

    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'allowlist.changed', limit: 1 });
    expect(entry).toMatchObject({
      actor: { type: 'cli', id: 'cli' },
      outcome: 'success',
      details: { via: 'cli', operator: 'ops-oncall', entries: 3, before: '198.51.100.0/24', list: '198.51.100.0/24 203.0.113.7/32 2001:db8::/32' },
    });

    expect((await cli(['tenant', 'allowlist', 'clear', tenantId])).code).toBe(0);
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual([]);
    expect((await h.client(tenantId, '192.0.2.99').get('/sign-in')).status).toBe(200);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'allowlist.changed' })).toHaveLength(2);
    expect((await h.controlPlane.audit.verifyChain(tenantId)).intact).toBe(true);
  });

  it('replaces the list with set', async () => {
    const tenantId = await h.createTenant('setlist');
    await h.controlPlane.security.setIpAllowlist(tenantId, ['10.0.0.0/8'], 'test');
    expect((await cli(['tenant', 'allowlist', 'set', tenantId, '192.0.2.0/24'])).code).toBe(0);
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual(['192.0.2.0/24']);
  });

  it.each([
    [['tenant', 'allowlist', 'add', 'TENANT', '300.1.1.1'], 2, '300.1.1.1'],
    [['tenant', 'allowlist', 'add', 'TENANT', '10.0.0.1/8'], 2, '10.0.0.1/8'],
    [['tenant', 'allowlist', 'add', 'TENANT'], 2, 'at least one address'],
    [['tenant', 'allowlist', 'clear', 'TENANT', '10.0.0.0/8'], 2, 'takes only the tenant id'],
    [['tenant', 'allowlist', 'remove', 'TENANT'], 2, 'show, set, add or clear'],
    [['tenant', 'allowlist', 'show'], 2, 'expected a tenant id'],
    [['tenant', 'allowlist', 'show', 'no-such-tenant'], 1, 'ERR_TENANT'],
  ])('refuses %j and changes nothing', async (args, code, message) => {
    const tenantId = await h.createTenant('badlist');
    await h.controlPlane.security.setIpAllowlist(tenantId, ['10.0.0.0/8'], 'test');
    const result = await cli(args.map((a) => (a === 'TENANT' ? tenantId : a)));
    expect(result.code).toBe(code);
    expect(result.err).toContain(message);
    expect((await h.controlPlane.security.get(tenantId)).ipAllowlist).toEqual(['10.0.0.0/8']);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'allowlist.changed' })).toEqual([]);
  });
});
