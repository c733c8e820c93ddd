import { RetentionError } from '../errors.js';

/** How a tenant's alerts are mailed: one message per event, or one digest a day listing the day's events. */
export type AlertDelivery = 'each-event' | 'daily-digest';

/** The deliveries, in the order the settings page offers them. */
export const ALERT_DELIVERIES: readonly AlertDelivery[] = ['each-event', 'daily-digest'];

/** Most addresses one tenant's alerts go to. */
export const MAX_ALERT_RECIPIENTS = 10;

/**
 * A tenant's run alerts: who is mailed (any addresses, also outside the portal's users, e.g. an on-call list; empty:
 * alerts are off) and how ({@link AlertDelivery}).
 */
export interface AlertSettings {
  /** Normalized (trimmed, lower case), unique, at most {@link MAX_ALERT_RECIPIENTS}. */
  recipients: string[];
  delivery: AlertDelivery;
}

/** A field of the alert settings a problem is about. */
export type AlertSettingsField = 'recipients' | 'delivery';

/** One reason the alert settings were refused, for the field it is about. */
export interface AlertSettingsProblem {
  field: AlertSettingsField;
  message: string;
}

/** What the settings are checked from: the recipients as a list, or as text with one address per line (or commas). */
export interface AlertSettingsInput {
  recipients: unknown;
  delivery: unknown;
}

const ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}\.[^\s@<>()[\]\\,;:".]{2,63}$/;
const shown = (value: string): string => (value.length > 60 ? `${value.slice(0, 57)}…` : value);

/**
 * The canonical form of an alert recipient (trimmed, lower case), or undefined when it is not an address such as
 * `oncall@example.com` (the outbox's rule: no display names, no lists).
 *
 * @example
 * normalizeAlertRecipient(' OnCall@Acme.Example '); // 'oncall@acme.example'
 * normalizeAlertRecipient('Jo <jo@acme.example>'); // undefined
 */
export function normalizeAlertRecipient(value: string): string | undefined {
  const address = value.trim().toLowerCase();
  return address.length <= 254 && ADDRESS.test(address) ? address : undefined;
}

/** The entries of a recipients field: a list as it is, text split at line breaks, commas, semicolons and spaces. */
function recipientEntries(value: unknown): string[] | undefined {
  if (typeof value === 'string')
    return value
      .split(/[\s,;]+/)
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  if (Array.isArray(value) && value.every((entry): entry is string => typeof entry === 'string')) return value.filter((entry) => entry.trim() !== '');
  return undefined;
}

/**
 * Checks alert settings: every recipient an address (normalized, duplicates merged), at most
 * {@link MAX_ALERT_RECIPIENTS}, an empty list allowed (alerts off), and a delivery of {@link ALERT_DELIVERIES}. Returns
 * the settings, or every problem with the field it is about, one sentence each that says what to change.
 *
 * @example
 * validateAlertSettings({ recipients: 'ops@acme.example\nOnCall@acme.example', delivery: 'each-event' });
 * // { ok: true, value: { recipients: ['ops@acme.example', 'oncall@acme.example'], delivery: 'each-event' } }
 */
export function validateAlertSettings(input: AlertSettingsInput): { ok: true; value: AlertSettings } | { ok: false; problems: AlertSettingsProblem[] } {
  const problems: AlertSettingsProblem[] = [];
  const entries = recipientEntries(input.recipients);
  const recipients: string[] = [];
  if (entries === undefined) {
    problems.push({ field: 'recipients', message: 'Recipients: give a list of email addresses, one per line.' });
  } else {
    const invalid: string[] = [];
    for (const entry of entries) {
      const address = normalizeAlertRecipient(entry);
      if (address === undefined) invalid.push(entry);
      else if (!recipients.includes(address)) recipients.push(address);
    }
    if (invalid.length > 0) {
      const list = invalid
        .slice(0, 5)
        .map((entry) => `"${shown(entry)}"`)
        .join(', ');
      problems.push({
        field: 'recipients',
        message: `Recipients: ${list}${invalid.length > 5 ? ` and ${invalid.length - 5} more` : ''} ${invalid.length === 1 ? 'is not an email address' : 'are not email addresses'}; write each address alone, such as oncall@example.com, one per line.`,
      });
    }
    if (recipients.length > MAX_ALERT_RECIPIENTS) {
      problems.push({
        field: 'recipients',
        message: `Recipients: at most ${MAX_ALERT_RECIPIENTS} addresses; you entered ${recipients.length}. For more people, use a mailing list's address.`,
      });
    }
  }
  const delivery = ALERT_DELIVERIES.find((option) => option === input.delivery);
  if (delivery === undefined) problems.push({ field: 'delivery', message: 'Delivery: choose "each event" or "one digest a day".' });
  if (problems.length > 0 || delivery === undefined) return { ok: false, problems };
  return { ok: true, value: { recipients, delivery } };
}

/**
 * Like {@link validateAlertSettings} but throws `ERR_ALERT_SETTINGS_INVALID` with every problem (stores, and settings
 * read back from the database, which a hand edit cannot smuggle a bad value into).
 *
 * @example
 * parseAlertSettings({ recipients: ['ops@acme.example'], delivery: 'daily-digest' });
 */
export function parseAlertSettings(input: AlertSettingsInput): AlertSettings {
  const result = validateAlertSettings(input);
  if (!result.ok) throw new RetentionError('ERR_ALERT_SETTINGS_INVALID', result.problems.map((problem) => problem.message).join(' '));
  return result.value;
}
