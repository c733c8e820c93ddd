import type { MailTemplateId } from './mail-outbox.js';

/** A value a template prints. */
export type MailValue = string | number | boolean | null;

/**
 * Variables the outbox adds to every message, whatever the caller passed: the tenant's display name
 * (`tenantName`), the tenant's portal address (`portalUrl`) and the recipient's address (`recipient`). Every message
 * names the tenant and says who sent it and why with them (the layout's footer).
 */
export const COMMON_MAIL_VARIABLES = ['tenantName', 'portalUrl', 'recipient'] as const;

/** One of {@link COMMON_MAIL_VARIABLES}. */
export type CommonMailVariable = (typeof COMMON_MAIL_VARIABLES)[number];

/** What a template has to print with: its own variables and the common ones. */
export type MailVariables<V extends string> = Readonly<Record<V | CommonMailVariable, MailValue>>;

/** One message of the registry: the variables a caller must pass, the subject, and why the recipient gets it. */
export interface MailTemplateSpec<V extends string = string> {
  /** The variables `OutgoingMail.data` must hold (plain values; links and names are escaped by the HTML template). */
  readonly variables: readonly V[];
  /** The subject line: it names the tenant and carries no secret (no link, no token, no code). */
  subject(vars: MailVariables<V>): string;
  /** Why the recipient gets this message, one clause after "because" in the footer of every message. */
  reason(vars: MailVariables<V>): string;
}

const template = <const V extends string>(spec: MailTemplateSpec<V>): MailTemplateSpec<V> => spec;
const text = (value: MailValue): string => (value === null ? '' : String(value));

/**
 * Every message Retention sends, by {@link MailTemplateId}: its variables, subject and reason. The bodies are
 * `views/mail/<id>.text.ejs` and `views/mail/<id>.html.ejs` (a test checks both exist for every id and render with
 * the variables listed here); the HTML goes into `views/mail/layout.html.ejs`, the text gets
 * `views/mail/layout.text.ejs`'s footer. Times are passed already formatted (`2026-11-26 18:14 UTC`).
 *
 * @example
 * MAIL_TEMPLATES.invitation.variables; // ['inviteeName', 'inviterName', 'access', 'link', 'expiresAt']
 */
export const MAIL_TEMPLATES = {
  invitation: template({
    variables: ['inviteeName', 'inviterName', 'access', 'link', 'expiresAt'],
    subject: (v) => `${text(v.inviterName)} invited you to the Retention portal of ${text(v.tenantName)}`,
    reason: (v) => `${text(v.inviterName)}, an administrator of ${text(v.tenantName)}, invited this address`,
  }),
  'password-reset': template({
    variables: ['displayName', 'link', 'expiresAt', 'lifetimeMinutes', 'requestIp'],
    subject: (v) => `Reset your Retention password for ${text(v.tenantName)}`,
    reason: () => 'someone asked to reset the password of the account with this address',
  }),
  'password-changed': template({
    variables: ['displayName', 'changedAt', 'way', 'requestIp'],
    subject: (v) => `Your Retention password for ${text(v.tenantName)} was changed`,
    reason: () => 'the password of the account with this address was changed',
  }),
  'email-verification': template({
    variables: ['displayName', 'link', 'expiresAt'],
    subject: (v) => `Confirm your email address for Retention at ${text(v.tenantName)}`,
    reason: () => 'this address was entered as the email address of an account',
  }),
  'email-changed': template({
    variables: ['displayName', 'newEmail', 'changedAt'],
    subject: (v) => `The email address of your Retention account at ${text(v.tenantName)} was changed`,
    reason: () => 'this address was the email address of the account until the change',
  }),
  'two-factor-enabled': template({
    variables: ['displayName', 'changedAt', 'requestIp'],
    subject: (v) => `Two-factor authentication was turned on for your Retention account at ${text(v.tenantName)}`,
    reason: () => 'two-factor authentication was turned on for the account with this address',
  }),
  'two-factor-disabled': template({
    variables: ['displayName', 'changedAt', 'requestIp'],
    subject: (v) => `Two-factor authentication was turned off for your Retention account at ${text(v.tenantName)}`,
    reason: () => 'two-factor authentication was turned off for the account with this address',
  }),
  'two-factor-reset': template({
    variables: ['displayName', 'resetBy', 'resetByEmail', 'changedAt', 'required'],
    subject: (v) => `Your two-factor authentication for Retention at ${text(v.tenantName)} was reset`,
    reason: (v) => `${text(v.resetBy)} reset the two-factor authentication of the account with this address`,
  }),
  'backup-codes-renewed': template({
    variables: ['displayName', 'changedAt', 'requestIp'],
    subject: (v) => `New backup codes were made for your Retention account at ${text(v.tenantName)}`,
    reason: () => 'new backup codes were made for the account with this address',
  }),
  'two-factor-enforced': template({
    variables: ['displayName', 'enforcedBy', 'enforcedByEmail', 'enforcedAt', 'hasTwoFactor'],
    subject: (v) => `${text(v.tenantName)} now requires two-factor authentication in Retention`,
    reason: (v) =>
      `${text(v.enforcedBy)} made two-factor authentication required for every account of ${text(v.tenantName)}, the one with this address included`,
  }),
  'new-sign-in': template({
    variables: ['displayName', 'signedInAt', 'requestIp', 'network', 'device'],
    subject: (v) => `New sign-in to your Retention account at ${text(v.tenantName)}`,
    reason: () => 'the account with this address was signed in to from a network or browser it had not used lately',
  }),
  'two-factor-code-reused': template({
    variables: ['displayName', 'attemptedAt', 'requestIp'],
    subject: (v) => `A used two-factor code was tried on your Retention account at ${text(v.tenantName)}`,
    reason: () => 'a code of the authenticator app of the account with this address was entered a second time',
  }),
  'grants-changed': template({
    variables: [
      'displayName',
      'administratorName',
      'administratorEmail',
      'changedBy',
      'changedByEmail',
      'changedAt',
      'requestIp',
      'dataTypesBefore',
      'dataTypesAfter',
      'capabilitiesBefore',
      'capabilitiesAfter',
    ],
    subject: (v) => `The permissions of ${text(v.administratorName)} in Retention at ${text(v.tenantName)} were changed`,
    reason: (v) => `this address belongs to the owner of ${text(v.tenantName)}, who is told of every change to an administrator's permissions`,
  }),
  'run-failed': template({
    variables: ['runId', 'trigger', 'startedAt', 'failedAt', 'errorCode', 'errorMessage'],
    subject: (v) => `Archive run failed for ${text(v.tenantName)} (${text(v.errorCode)})`,
    reason: (v) => `this address gets the run alerts of ${text(v.tenantName)} (chosen under Retention settings, Alerts)`,
  }),
  'schedule-paused': template({
    variables: ['failures', 'lastRunId', 'lastErrorCode', 'lastErrorMessage', 'pausedAt'],
    subject: (v) => `Archive schedule of ${text(v.tenantName)} paused after ${text(v.failures)} failed ${Number(v.failures) === 1 ? 'run' : 'runs'}`,
    reason: (v) => `this address gets the run alerts of ${text(v.tenantName)} (chosen under Retention settings, Alerts)`,
  }),
  'import-refused': template({
    variables: ['tenantId', 'manifestPath', 'errorCode', 'errorMessage', 'file', 'refusedAt'],
    subject: (v) => `The online archive of ${text(v.tenantName)} refused a drop (${text(v.errorCode)})`,
    reason: (v) => `this address gets the run alerts of ${text(v.tenantName)} (chosen under Retention settings, Alerts)`,
  }),
  'alert-digest': template({
    variables: ['period', 'count', 'summary'],
    subject: (v) => `Retention alerts for ${text(v.tenantName)}: ${text(v.count)} ${Number(v.count) === 1 ? 'alert' : 'alerts'} on ${text(v.period)}`,
    reason: (v) => `this address gets the daily digest of the run alerts of ${text(v.tenantName)} (chosen under Retention settings, Alerts)`,
  }),
} as const satisfies Record<MailTemplateId, MailTemplateSpec>;

/** Every template id, in registry order. */
export const MAIL_TEMPLATE_IDS = Object.keys(MAIL_TEMPLATES) as MailTemplateId[];

/** The variables the caller passes for template `T`. */
export type MailTemplateVariables<T extends MailTemplateId> = (typeof MAIL_TEMPLATES)[T]['variables'][number];

/** True when `value` names a template of the registry. */
export function isMailTemplateId(value: unknown): value is MailTemplateId {
  return typeof value === 'string' && Object.hasOwn(MAIL_TEMPLATES, value);
}
