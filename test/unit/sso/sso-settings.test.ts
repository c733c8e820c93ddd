import { describe, expect, it } from 'vitest';
import { isAllowedSsoEmail, normalizeIssuer, parseSsoSettingsInput, SsoSettingsError } from '../../../src/sso/sso-settings.js';

const DIRECTORY = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const okta = {
  mode: 'optional',
  preset: 'okta',
  issuer: 'https://acme.okta.com/oauth2/default/',
  clientId: '0oa1abc',
  allowedDomains: 'Acme.example, @support.acme.example',
};

function problemsOf(input: Record<string, unknown>, options = {}): Record<string, string> {
  try {
    parseSsoSettingsInput(input, options);
  } catch (err) {
    if (err instanceof SsoSettingsError) {
      expect(err.code).toBe('ERR_SSO_SETTINGS_INVALID');
      return { ...err.problems };
    }
    throw err;
  }
  throw new Error('accepted');
}

describe('parseSsoSettingsInput', () => {
  it('accepts a complete form: issuer without its trailing slash, domains lower-cased without "@", defaults filled in', () => {
    expect(parseSsoSettingsInput(okta)).toEqual({
      mode: 'optional',
      preset: 'okta',
      issuer: 'https://acme.okta.com/oauth2/default',
      clientId: '0oa1abc',
      clientAuthMethod: 'client_secret_basic',
      emailClaim: 'email',
      allowedDomains: ['acme.example', 'support.acme.example'],
      requiredClaim: undefined,
      acceptProviderMfa: false,
      mfaAcrValues: [],
      buttonLabel: 'Okta',
    });
  });

  it('turns SSO off without the rest of the form', () => {
    expect(parseSsoSettingsInput({ mode: 'off' })).toMatchObject({ mode: 'off', issuer: '', clientId: '', allowedDomains: [] });
  });

  it('names every problem at once, by field', () => {
    expect(
      Object.keys(problemsOf({ mode: 'always', issuer: 'ftp://x', clientId: 'has space', clientAuthMethod: 'none', allowedDomains: 'not_a_domain' })).sort(),
    ).toEqual(['allowedDomains', 'clientAuthMethod', 'clientId', 'issuer', 'mode']);
    expect(problemsOf({ ...okta, allowedDomains: '' }).allowedDomains).toContain('List the email domains');
    expect(problemsOf({ ...okta, emailClaim: 'upn' }).emailClaim).toBeDefined();
    expect(problemsOf({ ...okta, preset: 'keycloak' }).preset).toBeDefined();
    expect(problemsOf({ ...okta, buttonLabel: 'x'.repeat(61) }).buttonLabel).toBeDefined();
  });

  it.each([
    ['http on a public host', 'http://acme.okta.com'],
    ['a user name', 'https://user:pw@acme.okta.com'],
    ['a query', 'https://acme.okta.com/?x=1'],
    ['a fragment', 'https://acme.okta.com/#x'],
    ['not a URL', 'acme.okta.com'],
  ])('refuses an issuer with %s', (_why, issuer) => {
    expect(problemsOf({ ...okta, issuer }).issuer).toContain('https://');
  });

  it('accepts http only on loopback, and only when allowed (the test suite’s provider)', () => {
    expect(normalizeIssuer('http://127.0.0.1:4100/', { allowHttpLoopbackIssuer: true })).toBe('http://127.0.0.1:4100');
    expect(normalizeIssuer('http://127.0.0.1:4100/')).toBeUndefined();
    expect(normalizeIssuer('http://10.0.0.1/', { allowHttpLoopbackIssuer: true })).toBeUndefined();
  });

  it('Entra ID: requires one directory’s issuer and its tid; refuses "common" and "organizations"', () => {
    const entra = { mode: 'required', preset: 'entra-id', clientId: 'b3c1', allowedDomains: 'contoso.example' };
    expect(parseSsoSettingsInput({ ...entra, issuer: `https://login.microsoftonline.com/${DIRECTORY}/v2.0` })).toMatchObject({
      requiredClaim: { claim: 'tid', value: DIRECTORY },
      buttonLabel: 'Microsoft',
    });
    for (const segment of ['common', 'organizations', 'consumers']) {
      expect(problemsOf({ ...entra, issuer: `https://login.microsoftonline.com/${segment}/v2.0` }).issuer).toContain('stands for many directories');
    }
    expect(problemsOf({ ...entra, issuer: 'https://sts.windows.net/x/' }).issuer).toContain('login.microsoftonline.com');
  });

  it('Google Workspace: the hd claim must be the first allowed domain', () => {
    expect(
      parseSsoSettingsInput({
        mode: 'optional',
        preset: 'google-workspace',
        issuer: 'https://accounts.google.com',
        clientId: '1.apps',
        allowedDomains: 'acme.example other.example',
      }).requiredClaim,
    ).toEqual({ claim: 'hd', value: 'acme.example' });
  });

  it('takes the provider’s MFA only when asked', () => {
    expect(parseSsoSettingsInput({ ...okta, acceptProviderMfa: 'on' }).acceptProviderMfa).toBe(true);
    expect(parseSsoSettingsInput({ ...okta, acceptProviderMfa: 'yes please' }).acceptProviderMfa).toBe(false);
  });
});

describe('isAllowedSsoEmail', () => {
  it('matches the domain exactly: never a subdomain, a suffix or a look-alike', () => {
    const domains = ['acme.example'];
    expect(isAllowedSsoEmail('jo@acme.example', domains)).toBe(true);
    expect(isAllowedSsoEmail('Jo@ACME.example', domains)).toBe(true);
    expect(isAllowedSsoEmail('jo@evil.acme.example', domains)).toBe(false);
    expect(isAllowedSsoEmail('jo@acme.example.net', domains)).toBe(false);
    expect(isAllowedSsoEmail('jo@notacme.example', domains)).toBe(false);
    expect(isAllowedSsoEmail('acme.example', domains)).toBe(false);
    expect(isAllowedSsoEmail('"jo@acme.example"@evil.example', domains)).toBe(false);
  });
});
