import { RetentionError } from '../errors.js';
import type { ControlPlane } from '../store/control-plane.js';
import { ALERT_DELIVERIES, MAX_ALERT_RECIPIENTS, type AlertDelivery, type AlertSettingsField, type AlertSettingsProblem } from './alert-settings.js';
import type { StoredAlertSettings } from './alert-settings-store.js';

/** The form fields of the Alerts section (one form of its own on the Retention settings page). */
export const ALERT_FORM_FIELDS = { recipients: 'alerts.recipients', delivery: 'alerts.delivery', version: 'alerts.version' } as const;

/** What the Alerts form shows: the values (saved, or as typed), the version it changes, and its problems. */
export interface AlertsFormState {
  /** One address per line. */
  recipientsText: string;
  /** As typed: a value outside {@link ALERT_DELIVERIES} selects nothing. */
  delivery: string;
  /** The saved version the form changes; 0 while nothing is saved. */
  version: number;
  fieldErrors: Partial<Record<AlertSettingsField, string[]>>;
  problems: string[];
}

/** The Alerts section as `views/retention/alerts-section.ejs` prints it. */
export interface AlertsSectionView extends AlertsFormState {
  fields: typeof ALERT_FORM_FIELDS;
  /** `default`: nothing saved, the owner gets each event; `on`: saved recipients; `off`: a saved empty list. */
  status: 'default' | 'on' | 'off';
  /** One sentence on who gets the alerts now, and how. */
  statusText: string;
  /** False when the portal has no mail (`SMTP_URL`): the page says that nothing is sent. */
  mailConfigured: boolean;
  maxRecipients: number;
  deliveries: { value: AlertDelivery; label: string; hint: string }[];
}

const DELIVERY_TEXT: Record<AlertDelivery, { label: string; hint: string }> = {
  'each-event': {
    label: 'Each event, as it happens',
    hint: 'One message per failed run, paused schedule or refused import, sent as it happens.',
  },
  'daily-digest': {
    label: 'One digest a day',
    hint: "One message within the hour after midnight (in the schedule's time zone) listing the day's alerts; nothing after a quiet day.",
  },
};

/**
 * The form's state from the saved settings, or, while nothing is saved, the default (the owner's address, each
 * event), so that saving the form as it is keeps the alerts going where they go now.
 *
 * @example
 * alertsFormFromSettings(await controlPlane.alertSettings.get('acme'), owner?.email);
 */
export function alertsFormFromSettings(stored: StoredAlertSettings | undefined, ownerEmail: string | undefined): AlertsFormState {
  return {
    recipientsText: (stored?.recipients ?? (ownerEmail === undefined ? [] : [ownerEmail])).join('\n'),
    delivery: stored?.delivery ?? 'each-event',
    version: stored?.version ?? 0,
    fieldErrors: {},
    problems: [],
  };
}

/**
 * The form's state as typed, with the problems of a refused save by field (`fieldErrors`) and above the form.
 *
 * @example
 * alertsFormFromInput({ recipientsText, delivery, version }, result.problems);
 */
export function alertsFormFromInput(
  typed: { recipientsText: string; delivery: string; version: number },
  fieldProblems: readonly AlertSettingsProblem[] = [],
  problems: readonly string[] = [],
): AlertsFormState {
  const fieldErrors: AlertsFormState['fieldErrors'] = {};
  for (const problem of fieldProblems) (fieldErrors[problem.field] ??= []).push(problem.message);
  return { ...typed, fieldErrors, problems: [...problems] };
}

/**
 * A saved version from the form's hidden field (`''` or digits), or undefined when it is not one.
 *
 * @example
 * parseAlertsVersion('3'); // 3
 */
export function parseAlertsVersion(value: string): number | undefined {
  if (value === '') return 0;
  return /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

function statusOf(stored: StoredAlertSettings | undefined, ownerEmail: string | undefined): Pick<AlertsSectionView, 'status' | 'statusText'> {
  if (stored === undefined) {
    return {
      status: 'default',
      statusText:
        ownerEmail === undefined
          ? 'Nothing is saved yet and the owner has not activated their account, so nobody is alerted: add an address and save.'
          : `Nothing is saved yet, so alerts go to the owner (${ownerEmail}), each event by itself. Save to choose other recipients or a daily digest.`,
    };
  }
  if (stored.recipients.length === 0) {
    return {
      status: 'off',
      statusText: 'Alerts are off: nobody is told when a run fails, the schedule is paused or an import is refused. Add an address and save to turn them on.',
    };
  }
  const who = stored.recipients.length === 1 ? '1 address' : `${stored.recipients.length} addresses`;
  return {
    status: 'on',
    statusText: stored.delivery === 'daily-digest' ? `Alerts go to ${who} in one digest a day.` : `Alerts go to ${who}, each event by itself.`,
  };
}

/**
 * Reads what the Alerts section shows for the tenant: the saved settings (or the default: the owner's address) and
 * `form` when a save was refused (the values as typed, with their problems). Settings that cannot be read (a document
 * edited by hand) are reported in the section, not as a failure of the page.
 *
 * @example
 * const alerts = await readAlertsSection({ controlPlane, mailConfigured: services.mail !== undefined }, 'acme');
 */
export async function readAlertsSection(
  deps: { controlPlane: Pick<ControlPlane, 'alertSettings' | 'users'>; mailConfigured: boolean },
  tenantId: string,
  form?: AlertsFormState,
): Promise<AlertsSectionView> {
  let stored: StoredAlertSettings | undefined;
  let unreadable: string | undefined;
  try {
    stored = await deps.controlPlane.alertSettings.get(tenantId);
  } catch (err) {
    if (!(err instanceof RetentionError) || err.code !== 'ERR_ALERT_SETTINGS_INVALID') throw err;
    unreadable = `The saved alert settings cannot be used (${err.message}); alerts are not sent until you save new ones.`;
  }
  const owner = await deps.controlPlane.users.findOwner(tenantId);
  const ownerEmail = owner?.status === 'active' ? owner.email : undefined;
  const state = form ?? alertsFormFromSettings(stored, unreadable === undefined ? ownerEmail : undefined);
  return {
    ...state,
    fields: ALERT_FORM_FIELDS,
    ...(unreadable === undefined ? statusOf(stored, ownerEmail) : { status: 'off', statusText: unreadable }),
    mailConfigured: deps.mailConfigured,
    maxRecipients: MAX_ALERT_RECIPIENTS,
    deliveries: ALERT_DELIVERIES.map((value) => ({ value, ...DELIVERY_TEXT[value] })),
  };
}
