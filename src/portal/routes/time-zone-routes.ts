import { Router, type Response } from 'express';
import { RetentionError } from '../../errors.js';
import { parseTimeZone } from '../../time/time-zones.js';
import { requireRoute } from '../access-gates.js';
import { flash, formField, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { renderAccountPage } from './account-page.js';

/** The form's value for "use the organisation's time zone". */
export const ORGANISATION_TIME_ZONE = 'organisation';

/** Shows a refused time zone on the account page (400), or rethrows what is not that refusal. */
async function refuseTimeZone(services: PortalServices, res: Response, err: unknown): Promise<void> {
  if (!(err instanceof RetentionError) || err.code !== 'ERR_TIME_ZONE_INVALID') throw err;
  await renderAccountPage(services, res, { status: err.status, problems: [err.message] });
}

/**
 * The time zone of the portal's times (issue 16.10), on the account page: each user chooses theirs or the
 * organisation's, and the owner sets the organisation's (the default of every user who chose none; `UTC` at first).
 * Exports and the audit log's downloads stay in UTC. Both changes are audited.
 */
export function timeZoneRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  router.post('/account/time-zone', requireRoute('account.time-zone.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    try {
      const typed = formField(req, 'timeZone', 64);
      const timeZone = typed === ORGANISATION_TIME_ZONE ? undefined : parseTimeZone(typed);
      await controlPlane.users.setTimeZone(tenant.id, user.id, timeZone, services.now());
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: 'user.time-zone.changed',
        outcome: 'success',
        details: { timeZone: timeZone ?? ORGANISATION_TIME_ZONE },
      });
      flash(
        req,
        'success',
        timeZone === undefined ? `Times are now shown in your organisation's time zone (${tenant.timeZone}).` : `Times are now shown in ${timeZone}.`,
      );
      res.redirect(303, '/account#time-zone');
    } catch (err) {
      await refuseTimeZone(services, res, err);
    }
  });

  router.post('/settings/time-zone', requireRoute('settings.time-zone.update'), async (req, res) => {
    const { tenant } = portalContext(res);
    const user = signedInUser(res);
    try {
      const timeZone = parseTimeZone(formField(req, 'organisationTimeZone', 64));
      await controlPlane.tenants.setTimeZone(tenant.id, timeZone, services.now());
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: 'tenant.time-zone.changed',
        outcome: 'success',
        details: { from: tenant.timeZone, to: timeZone },
      });
      flash(req, 'success', `Your organisation's time zone is now ${timeZone}: users who chose none see times in it.`);
      res.redirect(303, '/account#time-zone');
    } catch (err) {
      await refuseTimeZone(services, res, err);
    }
  });

  return router;
}
