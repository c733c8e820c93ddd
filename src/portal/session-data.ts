import 'express-session';

declare module 'express-session' {
  /** What a portal session holds (in Redis, never in the cookie). */
  interface SessionData {
    /** The tenant the session belongs to; a session presented on another tenant's host is not used. */
    tenantId: string;
    /** Set after the password, while the second factor is asked for. */
    pendingUserId: string;
    /** When the password was accepted (ms); the second factor must follow within five minutes. */
    pendingSince: number;
    /** Set once fully signed in. */
    userId: string;
    /** Sign-in time (ms): the absolute timeout counts from here. */
    signedInAt: number;
    /** Last request (ms): the idle timeout counts from here. */
    lastSeenAt: number;
    /** Client address and user agent at sign-in, shown on the sessions page. */
    ip: string;
    userAgent: string;
    /** Set while a password-verified sign-in waits for its second factor: the password is on the common list. */
    pendingPasswordCommon: boolean;
    /**
     * The password used to sign in is on the list of common (breached) passwords: until it is changed, the session
     * reaches only the password page (ASVS 2.1.7; NIST SP 800-63B: force a change on evidence of compromise).
     */
    passwordChangeRequired: boolean;
    /** When the user last confirmed their identity (ms): security settings change only shortly after (ASVS 3.7.1). */
    reauthenticatedAt: number;
    /**
     * How the sign-in was completed: `password`, `totp` or `backup-code`; `sso` (the provider alone), `sso+mfa` (the
     * provider's MFA accepted as the second factor), `sso+totp` / `sso+backup-code` (the provider, then the portal's own).
     */
    signInMethod: string;
    /**
     * The token of a password-reset link, moved out of the address bar at the link's first request so that it is not
     * in the URL of the form page, its reloads or its history entries; used up by the reset.
     */
    passwordResetToken: string;
    /** The token of an email confirmation link, moved out of the address bar the same way; used up by the confirmation. */
    emailConfirmationToken: string;
    /** The page a signed-out visitor asked for (a checked path of this portal), opened after the sign-in. */
    returnTo: string;
    /**
     * A sign-in or confirmation at the identity provider in progress (between `/sso/start` and `/sso/callback`): the
     * values the callback must match, single use, for ten minutes.
     */
    ssoPending: {
      state: string;
      nonce: string;
      codeVerifier: string;
      startedAt: number;
      /** The settings version the request was made under: a callback under changed settings is refused. */
      settingsVersion: number;
      /** `sign-in`, or `reauthenticate` for the signed-in user `userId`. */
      purpose: 'sign-in' | 'reauthenticate';
      userId?: string;
      returnTo?: string;
    };
    /** Set while an SSO sign-in waits for the portal's own second factor: what the session keeps once it is given. */
    pendingSso: { idToken: string; issuer: string };
    /** The ID token of an SSO sign-in, for the provider's logout (`id_token_hint`); never shown or logged. */
    ssoIdToken: string;
    /** The issuer that signed the user in (SSO sessions only). */
    ssoIssuer: string;
    /** A one-time message for the next page. */
    flash: { kind: 'success' | 'error'; message: string };
  }
}
