import type { IDToken } from 'openid-client';
import { isAllowedSsoEmail, type SsoSettingsInput } from './sso-settings.js';
import { SsoSignInRefused } from './sso-refusal.js';

/** Who a verified ID token says the user is, as the portal uses it. */
export interface SsoClaimedIdentity {
  issuer: string;
  subject: string;
  /**
   * The address to link by at first use: present only when the provider vouches for it (`email_verified: true`,
   * Entra ID's `xms_edov: true` for `email`, or Entra ID's `preferred_username` of the required directory) and its
   * domain is allowed.
   */
  verifiedEmail: string | undefined;
  /** The address as claimed (lower case), for the audit log's masked detail. */
  claimedEmail: string | undefined;
  /** The provider says it used more than one factor (see {@link providerMfaEvidence}). */
  providerMfa: boolean;
  /** When the provider authenticated the user (seconds), when it says. */
  authTime: number | undefined;
}

/** RFC 8176 `amr` values of a knowledge factor, and of a possession or inherence factor. */
const KNOWLEDGE = new Set(['pwd', 'pin', 'kba']);
const POSSESSION_OR_INHERENCE = new Set(['otp', 'hwk', 'swk', 'sms', 'tel', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm', 'user', 'pop']);

/**
 * True when the ID token shows that the provider authenticated the user with more than one factor: `amr` holds `mfa`
 * or `mca` (RFC 8176), or a knowledge factor together with a possession or inherence one (`['pwd', 'otp']`), or `acr` is
 * one the tenant listed as meaning MFA. A request for MFA (`acr_values`) proves nothing: only the token counts.
 *
 * @example
 * providerMfaEvidence({ amr: ['pwd', 'mfa'] }, []); // true
 * providerMfaEvidence({ amr: ['pwd'] }, []); // false
 */
export function providerMfaEvidence(claims: Readonly<Record<string, unknown>>, mfaAcrValues: readonly string[]): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [];
  if (amr.includes('mfa') || amr.includes('mca')) return true;
  if (amr.some((value) => KNOWLEDGE.has(value)) && amr.some((value) => POSSESSION_OR_INHERENCE.has(value))) return true;
  return typeof claims.acr === 'string' && mfaAcrValues.includes(claims.acr);
}

/**
 * Reads the identity out of a verified ID token under the tenant's settings. Refuses (`SsoSignInRefused`) a token
 * without the claim the preset requires (`tid` of the directory for Entra ID, `hd` of the domain for Google
 * Workspace). The address is only ever used to link an identity the portal does not know yet, and only when verified
 * and allowed; otherwise `verifiedEmail` is undefined and the caller refuses an unknown subject.
 */
export function claimedIdentity(
  claims: IDToken,
  settings: Pick<SsoSettingsInput, 'preset' | 'emailClaim' | 'allowedDomains' | 'requiredClaim' | 'mfaAcrValues'>,
): SsoClaimedIdentity {
  const required = settings.requiredClaim;
  if (required !== undefined && claims[required.claim] !== required.value) throw new SsoSignInRefused('claim-mismatch');
  const raw = claims[settings.emailClaim];
  const claimedEmail = typeof raw === 'string' && raw.includes('@') ? raw.trim().toLowerCase() : undefined;
  const vouched =
    claims.email_verified === true ||
    (settings.preset === 'entra-id' && settings.emailClaim === 'email' && claims.xms_edov === true) ||
    (settings.preset === 'entra-id' && settings.emailClaim === 'preferred_username' && required?.claim === 'tid');
  const verifiedEmail = claimedEmail !== undefined && vouched && isAllowedSsoEmail(claimedEmail, settings.allowedDomains) ? claimedEmail : undefined;
  return {
    issuer: claims.iss,
    subject: claims.sub,
    verifiedEmail,
    claimedEmail,
    providerMfa: providerMfaEvidence(claims as Readonly<Record<string, unknown>>, settings.mfaAcrValues),
    authTime: typeof claims.auth_time === 'number' ? claims.auth_time : undefined,
  };
}

/** Why an address could not be linked: for the audit log when the subject is unknown. */
export function unlinkableReason(
  identity: SsoClaimedIdentity,
  settings: Pick<SsoSettingsInput, 'allowedDomains'>,
): 'email-missing' | 'domain-not-allowed' | 'email-unverified' {
  if (identity.claimedEmail === undefined) return 'email-missing';
  if (!isAllowedSsoEmail(identity.claimedEmail, settings.allowedDomains)) return 'domain-not-allowed';
  return 'email-unverified';
}
