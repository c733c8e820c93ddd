import { passwordContextTerms, type PasswordContext, type PasswordPolicy } from '../auth/password-policy.js';

/**
 * What `views/partials/password-field.ejs` needs to show a new-password field's requirements and strength meter:
 * the tenant's minimum length, the context words the server refuses (so the meter names the same ones), whether the
 * tenant blocked words of its own, and the ids of inputs on the same form whose values are context too.
 */
export interface PasswordMeterView {
  minLength: number;
  contextTerms: string[];
  hasBlockedWords: boolean;
  /** Id of the email input of the same form (owner activation), read by the meter as the person types. */
  emailField?: string;
  /** Id of the name input of the same form (owner activation). */
  nameField?: string;
}

/**
 * Builds the {@link PasswordMeterView} of a tenant's policy for the person choosing a password.
 *
 * @example
 * res.render('password', { strength: passwordMeterView(security.passwordPolicy, { email: user.email, tenantId: tenant.id }) });
 */
export function passwordMeterView(
  policy: PasswordPolicy,
  context: PasswordContext,
  fields: Pick<PasswordMeterView, 'emailField' | 'nameField'> = {},
): PasswordMeterView {
  return {
    minLength: policy.minLength,
    contextTerms: passwordContextTerms(policy, context),
    hasBlockedWords: policy.blockedWords.length > 0,
    ...fields,
  };
}

/**
 * The {@link PasswordMeterView} for a known user choosing a new password (account page, password reset): the user's
 * email and name and the tenant's id and name are the context words.
 *
 * @example
 * res.render('password', { strength: userPasswordMeterView(security.passwordPolicy, user, tenant) });
 */
export function userPasswordMeterView(
  policy: PasswordPolicy,
  user: { email: string; displayName: string },
  tenant: { id: string; displayName: string },
): PasswordMeterView {
  return passwordMeterView(policy, { email: user.email, displayName: user.displayName, tenantId: tenant.id, tenantName: tenant.displayName });
}
