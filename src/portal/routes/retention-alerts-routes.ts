import { Router, type Response } from 'express';
import { alertsFormFromInput, ALERT_FORM_FIELDS, parseAlertsVersion, type AlertsFormState } from '../../alerts/alert-settings-form.js';
import { validateAlertSettings, type AlertSettings } from '../../alerts/alert-settings.js';
import type { StoredAlertSettings } from '../../alerts/alert-settings-store.js';
import { hasErrorCode } from '../../errors.js';
import { authorizedPrincipal } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { stateFromSettings } from './retention-settings-form.js';
import { retentionPageRenderer } from './retention-settings-page.js';

/** What the audit log records of a tenant's alert settings: the addresses, or what applies without them. */
function auditedSettings(settings: AlertSettings | undefined, unreadable: boolean): { recipients: string; delivery: string } {
  if (unreadable) return { recipients: '(unreadable)', delivery: '(unreadable)' };
  if (settings === undefined) return { recipients: '(not set: the owner)', delivery: 'each-event' };
  return { recipients: settings.recipients.length === 0 ? '(none: alerts off)' : settings.recipients.join(', '), delivery: settings.delivery };
}

/** The notice after a save: who gets the alerts now, and how. */
function savedNotice(saved: AlertSettings, mailConfigured: boolean): string {
  const later = mailConfigured ? '' : ' This portal has no mail configured yet, so nothing is sent until your Retention operator sets it up.';
  if (saved.recipients.length === 0)
    return `The alert settings were saved. Alerts are off: nobody is told when a run fails, the schedule is paused or an import is refused.${later}`;
  const who = saved.recipients.length === 1 ? '1 address' : `${saved.recipients.length} addresses`;
  const how = saved.delivery === 'daily-digest' ? 'in one digest a day' : 'each event by itself';
  return `The alert settings were saved: alerts go to ${who}, ${how}.${later}`;
}

/**
 * The Alerts section of the Retention settings page (`POST /settings/retention/alerts`, for users who may configure
 * retention): who is mailed when a run fails for good, the schedule is paused after failed runs, or an import is
 * refused (up to 10 addresses, also outside the portal's users; an empty list turns alerts off), and how (each event,
 * or one digest a day). The form carries the version it changes: a save over someone else's is refused (409). A
 * refused save shows the page again with the values as typed and the problems next to their fields (400); a saved
 * one is audited `alerts.settings-changed` with the settings before and after.
 */
export function retentionAlertsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  const render = retentionPageRenderer(services);

  const renderWithAlerts = async (res: Response, tenantId: string, alerts: AlertsFormState, status: number): Promise<void> => {
    const stored = await controlPlane.settings.getRetention(tenantId);
    await render(res, stateFromSettings(stored), stored, { alerts }, status);
  };

  router.post('/settings/retention/alerts', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.alerts.update');
    const tenantId = portalContext(res).tenant.id;
    const actor = signedInUser(res);
    const versionText = formField(req, ALERT_FORM_FIELDS.version, 12).trim();
    const typed = {
      recipientsText: formField(req, ALERT_FORM_FIELDS.recipients, 4000),
      delivery: formField(req, ALERT_FORM_FIELDS.delivery, 40),
      version: parseAlertsVersion(versionText) ?? 0,
    };
    const expectedVersion = parseAlertsVersion(versionText);
    if (expectedVersion === undefined) {
      return await renderWithAlerts(
        res,
        tenantId,
        alertsFormFromInput(typed, [], ['The form is out of date: reload the page and make your change again.']),
        400,
      );
    }
    const checked = validateAlertSettings({ recipients: typed.recipientsText, delivery: typed.delivery });
    if (!checked.ok) return await renderWithAlerts(res, tenantId, alertsFormFromInput(typed, checked.problems), 400);

    let before: StoredAlertSettings | undefined;
    let unreadable = false;
    try {
      before = await controlPlane.alertSettings.get(tenantId);
    } catch (err) {
      if (!hasErrorCode(err, 'ERR_ALERT_SETTINGS_INVALID')) throw err;
      unreadable = true;
    }
    let saved: StoredAlertSettings;
    try {
      saved = await controlPlane.alertSettings.put(tenantId, checked.value, {
        actor: actor.id,
        // Settings that cannot be read are replaced whatever their version: the page could not show them.
        ...(unreadable ? {} : { expectedVersion }),
        now: services.now(),
      });
    } catch (err) {
      if (!hasErrorCode(err, 'ERR_SETTINGS_CONFLICT')) throw err;
      const problem = 'Somebody else changed the alert settings since you opened the page. Reload the page, then make your change again.';
      return await renderWithAlerts(res, tenantId, alertsFormFromInput(typed, [], [problem]), 409);
    }
    const was = auditedSettings(before, unreadable);
    const now = auditedSettings(saved, false);
    await services.audit(req, tenantId, {
      actor: { type: 'user', id: actor.id },
      action: 'alerts.settings-changed',
      outcome: 'success',
      target: 'alerts',
      details: {
        version: saved.version,
        recipientsBefore: was.recipients,
        deliveryBefore: was.delivery,
        recipientsAfter: now.recipients,
        deliveryAfter: now.delivery,
      },
    });
    flash(req, 'success', savedNotice(saved, services.mail !== undefined));
    res.redirect(303, '/settings/retention#alerts');
  });

  return router;
}
