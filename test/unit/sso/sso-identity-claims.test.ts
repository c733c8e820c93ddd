import type { IDToken } from 'openid-client';
import { describe, expect, it } from 'vitest';
import { claimedIdentity, providerMfaEvidence, unlinkableReason } from '../../../src/sso/sso-identity-claims.js';
import { SsoSignInRefused } from '../../../src/sso/sso-refusal.js';
import { parseSsoSettingsInput } from '../../../src/sso/sso-settings.js';

const DIRECTORY = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const generic = parseSsoSettingsInput({
  mode: 'optional',
  preset: 'generic',
  issuer: 'https://idp.example',
  clientId: 'portal',
  allowedDomains: 'acme.example',
});
const entra = parseSsoSettingsInput({
  mode: 'optional',
  preset: 'entra-id',
  issuer: `https://login.microsoftonline.com/${DIRECTORY}/v2.0`,
  clientId: 'portal',
  allowedDomains: 'acme.example',
});
const token = (claims: Record<string, unknown>): IDToken => ({ iss: 'https://idp.example', sub: 's-1', aud: 'portal', iat: 1, exp: 2, ...claims }) as IDToken;

describe('providerMfaEvidence', () => {
  it.each([
    [['pwd', 'mfa'], true],
    [['mca'], true],
    [['pwd', 'otp'], true],
    [['pin', 'hwk'], true],
    [['pwd'], false],
    [['otp'], false],
    [['hwk'], false],
    [[], false],
  ])('amr %j → %s', (amr, expected) => {
    expect(providerMfaEvidence({ amr }, [])).toBe(expected);
  });

  it('counts an acr only when the tenant listed it', () => {
    expect(providerMfaEvidence({ acr: 'urn:okta:loa:2fa:any' }, [])).toBe(false);
    expect(providerMfaEvidence({ acr: 'urn:okta:loa:2fa:any' }, ['urn:okta:loa:2fa:any'])).toBe(true);
    expect(providerMfaEvidence({ amr: 'mfa' }, [])).toBe(false);
  });
});

describe('claimedIdentity', () => {
  it('links only by an address the provider verified, in an allowed domain (lower-cased)', () => {
    expect(claimedIdentity(token({ email: 'Jo@Acme.example', email_verified: true }), generic)).toMatchObject({
      subject: 's-1',
      verifiedEmail: 'jo@acme.example',
      claimedEmail: 'jo@acme.example',
    });
    const unverified = claimedIdentity(token({ email: 'jo@acme.example', email_verified: false }), generic);
    expect(unverified.verifiedEmail).toBeUndefined();
    expect(unlinkableReason(unverified, generic)).toBe('email-unverified');
    const stringTrue = claimedIdentity(token({ email: 'jo@acme.example', email_verified: 'true' }), generic);
    expect(stringTrue.verifiedEmail).toBeUndefined();
    const foreign = claimedIdentity(token({ email: 'jo@acme.example.evil', email_verified: true }), generic);
    expect(foreign.verifiedEmail).toBeUndefined();
    expect(unlinkableReason(foreign, generic)).toBe('domain-not-allowed');
    expect(unlinkableReason(claimedIdentity(token({}), generic), generic)).toBe('email-missing');
  });

  it('Entra ID: requires the directory’s tid; preferred_username of that directory is verified, email only with xms_edov', () => {
    expect(() => claimedIdentity(token({ tid: 'another-directory', preferred_username: 'jo@acme.example' }), entra)).toThrow(SsoSignInRefused);
    expect(claimedIdentity(token({ tid: DIRECTORY, preferred_username: 'jo@acme.example' }), entra).verifiedEmail).toBe('jo@acme.example');
    const byEmail = { ...entra, emailClaim: 'email' as const };
    expect(claimedIdentity(token({ tid: DIRECTORY, email: 'jo@acme.example' }), byEmail).verifiedEmail).toBeUndefined();
    expect(claimedIdentity(token({ tid: DIRECTORY, email: 'jo@acme.example', xms_edov: true }), byEmail).verifiedEmail).toBe('jo@acme.example');
  });

  it('Google Workspace: requires hd to be the first allowed domain', () => {
    const google = parseSsoSettingsInput({
      mode: 'optional',
      preset: 'google-workspace',
      issuer: 'https://accounts.google.com',
      clientId: 'portal',
      allowedDomains: 'acme.example',
    });
    expect(() => claimedIdentity(token({ email: 'jo@acme.example', email_verified: true }), google)).toThrow(SsoSignInRefused);
    expect(claimedIdentity(token({ hd: 'acme.example', email: 'jo@acme.example', email_verified: true }), google).verifiedEmail).toBe('jo@acme.example');
  });
});
