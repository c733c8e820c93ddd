import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueOwnerActivation } from '../../../src/portal/owner-activation.js';
import { currentCode, PUBLIC_HOST, startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

let h: PortalHarness;
let tenantId: string;
let owner: PortalClient;

const SCRIPT_TAG = '<script type="module" src="/assets/password-fields.js"></script>';
const pathOf = (link: string): string => new URL(link).pathname;

/** Every `<input type="password">` of a page with the toggle button that follows it. */
function passwordInputs(html: string): { input: string; id: string; button: string }[] {
  return [...html.matchAll(/<input [^>]*type="password"[^>]*>\s*(<button[^>]*>[^<]*<\/button>)?/g)].map((m) => ({
    input: m[0],
    id: /id="([^"]+)"/.exec(m[0])?.[1] ?? '',
    button: m[1] ?? '',
  }));
}

/** The page loads our script only from /assets, has no inline script or handler, and every password field has a toggle. */
function expectEnhancedPasswordPage(html: string, expectedFields: number): void {
  expect(html).toContain(SCRIPT_TAG);
  for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [])
    expect(tag).toMatch(/^<script type="module" src="\/assets\/[a-z-]+\.js"><\/script>$/);
  expect(html).not.toMatch(/\son[a-z]+=|javascript:/i);
  const fields = passwordInputs(html);
  expect(fields).toHaveLength(expectedFields);
  for (const field of fields) {
    expect(field.button).toBe(`<button type="button" class="show-password" aria-controls="${field.id}" aria-pressed="false" hidden>Show password</button>`);
    expect(field.input).toContain('spellcheck="false"');
  }
}

beforeAll(async () => {
  h = await startPortalHarness();
  tenantId = await h.createTenant('pwfields');
  await h.controlPlane.security.setPasswordPolicy(tenantId, { minLength: 14, blockedWords: ['pelican'] }, 'test');
  const created = await h.createUser(tenantId, { role: 'owner', displayName: 'Olga Owner' });
  owner = h.client(tenantId);
  expect((await owner.signIn(created.email)).headers.location).toBe('/');
});
afterAll(async () => h.close());

describe('portal: password fields (ASVS 2.1.8 strength meter, 2.1.12 show password)', () => {
  it("ASVS 2.1.8 / 2.1.12: the CSP allows script from the portal itself only: script-src 'self', no 'unsafe-inline'", async () => {
    const res = await h.client(tenantId).get('/sign-in');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|strict-dynamic|nonce-|sha256-/);
    expect(csp).toContain("default-src 'none'");
  });

  it('ASVS 2.1.12: sign-in, account and password pages load the script and give every password field a toggle', async () => {
    expectEnhancedPasswordPage((await h.client(tenantId).get('/sign-in')).text, 1);
    expectEnhancedPasswordPage((await owner.get('/account/password')).text, 2);
  });

  it.each([
    ['password-fields.js', 'assessPassword'],
    ['password-strength.js', 'export function assessPassword'],
    ['common-password-filter.js', 'export const COMMON_PASSWORD_FILTER'],
  ])('serves /assets/%s as JavaScript', async (file, content) => {
    const res = await h.client(tenantId).get(`/assets/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(res.text).toContain(content);
  });

  it('ASVS 2.1.8: the new password of /account/password carries the tenant policy for the meter and shows it as text', async () => {
    const page = (await owner.get('/account/password')).text;
    const input = passwordInputs(page).find((f) => f.id === 'newPassword')?.input ?? '';
    expect(input).toContain('data-strength-min-length="14"');
    expect(input).toContain('minlength="14"');
    expect(input).toContain('aria-describedby="newPassword-requirements"');
    const terms = JSON.parse((/data-strength-terms="([^"]*)"/.exec(input)?.[1] ?? '[]').replace(/&#34;/g, '"')) as string[];
    expect(terms).toEqual(expect.arrayContaining(['retention', 'pelican', 'olga', 'owner', tenantId.replace(/-/g, '')]));
    expect(page).toContain('id="newPassword-requirements">At least 14 characters.');
    expect(page).toContain('there are no rules about symbols or digits');
    expect(page).toContain('words your organisation has blocked');
    expect(page).toMatch(/<div class="strength" id="newPassword-strength" aria-live="polite" hidden>/);
    const current = passwordInputs(page).find((f) => f.id === 'currentPassword')?.input ?? '';
    expect(current).not.toContain('data-strength');
  });

  it('ASVS 2.1.8 without JavaScript: owner activation shows the requirements and names the problem after submit', async () => {
    const other = await h.createTenant('pwactivate');
    await h.controlPlane.security.setPasswordPolicy(other, { minLength: 16, blockedWords: [] }, 'test');
    const { link } = await issueOwnerActivation({ controlPlane: h.controlPlane, tenantId: other, publicUrl: `https://${PUBLIC_HOST}` });
    const client = h.client(other);
    const form = await client.get(pathOf(link));
    expectEnhancedPasswordPage(form.text, 1);
    expect(form.text).toContain('At least 16 characters.');
    expect(form.text).not.toContain('words your organisation has blocked');
    expect(form.text).toContain('data-strength-email-field="email" data-strength-name-field="displayName"');
    const short = await client.post(pathOf(link), { email: 'ola@acme.example', displayName: 'Ola Owner', password: 'lantern orbit' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('Choose a password of at least 16 characters');
    expect(short.text).toContain('At least 16 characters.');
    expectEnhancedPasswordPage(short.text, 1);
  });

  it('ASVS 2.1.8 / 2.1.12: invitation acceptance has the meter with the invited person’s own name as context', async () => {
    const invited = await h.controlPlane.users.create(tenantId, { email: 'ines.invited@acme.example', displayName: 'Ines Invited', role: 'administrator' });
    const { token } = await h.controlPlane.activationTokens.issue(tenantId, { purpose: 'invitation', subject: invited.id, createdBy: 'test' });
    const page = (await h.client(tenantId).get(`/invitation/${token}`)).text;
    expectEnhancedPasswordPage(page, 1);
    expect(page).toContain('At least 14 characters.');
    expect(page).toMatch(/data-strength-terms="[^"]*ines[^"]*"/);
    expect(page).not.toContain('data-strength-email-field');
  });

  it('ASVS 2.1.12: the re-authentication fields of the account page have a toggle', async () => {
    const withTotp = await h.createUser(tenantId, { totp: true });
    const client = h.client(tenantId);
    await client.signIn(withTotp.email, undefined, currentCode(withTotp.totpSecret ?? ''));
    expectEnhancedPasswordPage((await client.get('/account')).text, 2);
  });
});
