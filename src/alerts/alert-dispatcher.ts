import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import { maskEmailAddress } from '../masking/mask-email-address.js';
import type { ControlPlane } from '../store/control-plane.js';
import { knownTimeZone, localDay } from './alert-days.js';
import { alertMessage, recipientDedupeKey, type AlertEvent, type AlertOutcome, type AlertSink } from './alert-event.js';
import { resolveAlertRecipients } from './alert-recipients.js';

/** What {@link AlertDispatcher} is built from. */
export interface AlertDispatcherDeps {
  /** Alert settings and events, the owner (the default recipient), the retention settings (the digest's time zone). */
  controlPlane: Pick<ControlPlane, 'alertSettings' | 'alertEvents' | 'users' | 'settings'>;
  /** The outbox; undefined without mail settings (`SMTP_URL`): then no alert is sent or recorded. */
  mail: MailOutbox | undefined;
  logger: Logger;
}

const errorFields = (err: unknown) => ({
  code: err instanceof RetentionError ? err.code : undefined,
  err: { message: err instanceof Error ? err.message : String(err) },
});

/**
 * Hands run alerts to the tenant's recipients ({@link resolveAlertRecipients}): with delivery `each-event`, one
 * message per recipient through the outbox, deduplicated by event and recipient (`run-failed:<run id>:<address
 * hash>`), so an event noticed twice (two workers, the worker and the jobs page) is mailed once; with
 * `daily-digest`, the event is recorded in `alertEvents` for the digest of the tenant's day (in its schedule's time
 * zone) instead. It never throws: whatever fails is logged (code and message, masked addresses) and reported in the
 * outcome, and the caller's run or import handling goes on.
 *
 * @example
 * const alerts = new AlertDispatcher({ controlPlane, mail: outbox, logger });
 * await alerts.raise({ kind: 'import-refused', tenantId, manifestPath, code, message, file: undefined, refusedAt: new Date() });
 */
export class AlertDispatcher implements AlertSink {
  constructor(private readonly deps: AlertDispatcherDeps) {}

  async raise(event: AlertEvent): Promise<AlertOutcome> {
    const logged = { tenantId: event.tenantId, alert: event.kind };
    try {
      return await this.deliver(event);
    } catch (err) {
      this.deps.logger.error({ ...logged, ...errorFields(err) }, `could not raise the ${event.kind} alert`);
      return { status: 'not-sent', reason: 'error' };
    }
  }

  private async deliver(event: AlertEvent): Promise<AlertOutcome> {
    const { controlPlane, mail, logger } = this.deps;
    const logged = { tenantId: event.tenantId, alert: event.kind };
    if (mail === undefined) {
      logger.debug(logged, 'no mail configured: alert not sent');
      return { status: 'not-sent', reason: 'no-mail' };
    }
    const target = await resolveAlertRecipients(controlPlane, event.tenantId);
    if (target.recipients.length === 0) {
      const reason = target.source === 'settings' ? 'alerts-off' : 'no-recipient';
      logger[reason === 'alerts-off' ? 'info' : 'warn'](
        logged,
        reason === 'alerts-off' ? 'alerts are off for the tenant: alert not sent' : 'no alert recipient (no alert settings, no active owner): alert not sent',
      );
      return { status: 'not-sent', reason };
    }
    const message = alertMessage(event);
    if (target.delivery === 'daily-digest') {
      const timeZone = await this.timeZoneOf(event.tenantId);
      const { at } = message;
      const recorded = await controlPlane.alertEvents.record({
        tenantId: event.tenantId,
        key: message.key,
        kind: event.kind,
        at,
        day: localDay(at, timeZone),
        timeZone,
        summary: message.summary,
        path: message.path,
      });
      logger.info({ ...logged, duplicate: recorded.duplicate }, 'alert recorded for the daily digest');
      return { status: 'recorded', duplicate: recorded.duplicate };
    }
    let queued = 0;
    let failed = 0;
    for (const to of target.recipients) {
      try {
        await mail.enqueue({ tenantId: event.tenantId, to, template: message.template, data: message.data, dedupeKey: recipientDedupeKey(message.key, to) });
        queued += 1;
      } catch (err) {
        failed += 1;
        logger.error({ ...logged, to: maskEmailAddress(to), ...errorFields(err) }, `could not queue the ${event.kind} alert`);
      }
    }
    return { status: 'queued', queued, failed };
  }

  /** The tenant's schedule's time zone, which its digest days are counted in; UTC without (valid) settings. */
  private async timeZoneOf(tenantId: string): Promise<string> {
    try {
      return knownTimeZone((await this.deps.controlPlane.settings.getRetention(tenantId))?.value.schedule.timezone);
    } catch (err) {
      this.deps.logger.warn({ tenantId, ...errorFields(err) }, 'could not read the schedule’s time zone: the alert counts in UTC');
      return knownTimeZone(undefined);
    }
  }
}
