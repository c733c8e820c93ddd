import { RetentionError } from '../errors.js';

/**
 * Why an SSO sign-in was refused: what the audit log records as `reason` (with the provider's error code as `error`
 * when it sent one; never a token, a code or a claim's value beyond the masked address).
 */
export const SSO_REFUSAL_REASONS = [
  'sso-off',
  'provider-unreachable',
  'provider-error',
  'state-unknown',
  'state-mismatch',
  'sign-in-expired',
  'token-request-refused',
  'wrong-issuer',
  'wrong-audience',
  'token-expired',
  'authentication-too-old',
  'bad-signature',
  'nonce-mismatch',
  'token-invalid',
  'claim-mismatch',
  'email-missing',
  'email-unverified',
  'domain-not-allowed',
  'unknown-subject',
  'identity-mismatch',
  'user-inactive',
  'reauthentication-other-user',
] as const;
export type SsoRefusalReason = (typeof SSO_REFUSAL_REASONS)[number];

/** What the sign-in page says for a refusal: enough to act on, nothing an attacker could probe accounts with. */
export function ssoRefusalMessage(reason: SsoRefusalReason): string {
  switch (reason) {
    case 'sso-off':
      return 'Single sign-on is not turned on for this organisation. Sign in with your email address and password.';
    case 'provider-unreachable':
      return 'The identity provider could not be reached. Try again in a few minutes; if it keeps failing, tell the owner of your organisation.';
    case 'provider-error':
      return 'The identity provider did not sign you in (it answered with an error, or the sign-in was cancelled). Try again.';
    case 'state-unknown':
    case 'state-mismatch':
    case 'sign-in-expired':
      return 'That sign-in link was already used or has expired. Start the sign-in again from this page.';
    case 'email-unverified':
    case 'email-missing':
    case 'domain-not-allowed':
    case 'unknown-subject':
    case 'identity-mismatch':
    case 'user-inactive':
    case 'claim-mismatch':
      return 'Your identity provider account is not an active administrator of this organisation’s archive. Ask the owner of your organisation to invite you with the address you sign in with.';
    case 'reauthentication-other-user':
      return 'The identity provider signed in another account than yours: nothing was confirmed.';
    default:
      return 'The identity provider’s answer could not be verified, so you were not signed in. Try again; if it keeps failing, tell the owner of your organisation.';
  }
}

/** A refused SSO sign-in (`ERR_SSO_SIGN_IN_REFUSED`, 401): `reason` for the audit log, `providerError` when the provider sent one. */
export class SsoSignInRefused extends RetentionError {
  constructor(
    readonly reason: SsoRefusalReason,
    readonly providerError?: string,
  ) {
    super('ERR_SSO_SIGN_IN_REFUSED', ssoRefusalMessage(reason));
  }
}
