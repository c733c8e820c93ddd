import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSessionId } from '../../../src/portal/session-lifecycle.js';
import { startPortalHarness, type FixtureUser, type PortalHarness } from './portal-harness.js';

/** ASVS items the other portal tests do not cover on their own: 2.1.11, 3.2.4, 4.3.2. */

let h: PortalHarness;
let tenantId: string;
let owner: FixtureUser;

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant('harden');
  owner = await h.createUser(tenantId, { role: 'owner', totp: true });
});
afterAll(async () => h.close());

const passwordInputs = (html: string): string[] => [...html.matchAll(/<input\b[^>]*type="password"[^>]*>/g)].map((m) => m[0]);

describe('portal hardening', () => {
  it('ASVS 2.1.11: every password field lets password managers and paste work (autocomplete current- or new-password, no paste blocking)', async () => {
    const client = h.client(tenantId);
    const pages: string[] = [(await client.get('/sign-in')).text];
    const { currentCode } = await import('./portal-harness.js');
    await client.signIn(owner.email, undefined, currentCode(owner.totpSecret ?? ''));
    for (const path of ['/account', '/account/password', '/settings/security', '/users']) {
      const res = await client.get(path);
      expect(res.status, path).toBe(200);
      pages.push(res.text);
    }
    const inputs = pages.flatMap(passwordInputs);
    expect(inputs.length).toBeGreaterThanOrEqual(5);
    for (const input of inputs) {
      expect(input).toMatch(/autocomplete="(current-password|new-password)"/);
      expect(input).not.toMatch(/onpaste|oncopy|ondrop|readonly/i);
    }
    for (const asset of ['password-fields.js', 'password-strength.js']) {
      const script = (await client.get(`/assets/${asset}`)).text;
      expect(script).not.toMatch(/['"]paste['"]/);
    }
  });

  it('ASVS 3.2.4: session ids come from the CSPRNG, 256 bits, never repeated', async () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newSessionId()));
    expect(ids.size).toBe(2000);
    for (const id of [...ids].slice(0, 50)) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const client = h.client(tenantId);
    await client.get('/sign-in');
    const sid =
      decodeURIComponent(client.cookie ?? '')
        .replace(/^s:/, '')
        .split('.')[0] ?? '';
    expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    '/assets/',
    '/assets',
    '/assets/.hidden',
    '/.git/config',
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/package.json',
    '/views/layout.ejs',
  ])('ASVS 4.3.2: %s lists no directory and serves no hidden, source or metadata file', async (path) => {
    const res = await h.client(tenantId).get(path);
    expect([303, 404]).toContain(res.status);
    expect(res.text).not.toMatch(/"name":\s*"retention"|<%|Index of|portal\.css/);
  });
});
