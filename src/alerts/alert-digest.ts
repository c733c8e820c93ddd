import { isPermanentError, RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import { maskEmailAddress } from '../masking/mask-email-address.js';
import type { ControlPlane } from '../store/control-plane.js';
import { dayIsOver, describeDay, localTimeOfDay } from './alert-days.js';
import { recipientDedupeKey } from './alert-event.js';
import type { RecordedAlertEvent } from './alert-events-store.js';
import { resolveAlertRecipients } from './alert-recipients.js';

/** How long after a day's end its digest waits for events a slower process recorded in its last moments. */
export const DIGEST_GRACE_MS = 5 * 60_000;

/** Most events a digest lists one by one; it counts the rest and points to the Jobs page. */
export const MAX_DIGEST_LINES = 100;

/** What {@link sendAlertDigests} needs. */
export interface AlertDigestDeps {
  controlPlane: Pick<ControlPlane, 'alertEvents' | 'alertSettings' | 'users'>;
  mail: MailOutbox;
  /** The tenant's portal address, for the links of the digest's lines. */
  portalUrlOf: (tenantId: string) => string;
  logger: Logger;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
  /** Default {@link DIGEST_GRACE_MS}. */
  graceMs?: number;
}

/** What one pass of the digest job did. */
export interface AlertDigestOutcome {
  /** Tenant days whose digest was queued (or found queued before) in this pass. */
  digests: number;
  /** Messages stored in the outbox (a recipient whose digest was queued before counts as well). */
  messages: number;
  /** Tenant days left for the next pass because a message could not be queued. */
  retried: number;
}

/**
 * The digest's variables: the day (`Monday 23 November 2026 (Europe/Berlin)`), the count, and one line per event
 * (`14:02 Run r1 (schedule) failed: ERR_…: … — https://acme.portal.example/jobs/r1`), at most {@link MAX_DIGEST_LINES}.
 *
 * @example
 * digestData(events, '2026-11-23', 'Europe/Berlin', 'https://acme.retention.example');
 */
export function digestData(
  events: readonly RecordedAlertEvent[],
  day: string,
  timeZone: string,
  portalUrl: string,
): { period: string; count: number; summary: string } {
  const lines = events.slice(0, MAX_DIGEST_LINES).map((event) => `${localTimeOfDay(event.at, timeZone)} ${event.summary} — ${portalUrl}${event.path}`);
  if (events.length > MAX_DIGEST_LINES) lines.push(`… and ${events.length - MAX_DIGEST_LINES} more: see the Jobs page, ${portalUrl}/jobs`);
  return { period: describeDay(day, timeZone), count: events.length, summary: lines.join('\n') };
}

/**
 * One pass of the daily digest (the `alert-digest` job of the mail queue, every hour): for each tenant day that has
 * recorded alert events and is over in the time zones they were recorded in (plus {@link DIGEST_GRACE_MS}), queues one
 * `alert-digest` to each of the tenant's current recipients listing the day's events (dedupe
 * `alert-digest:<day>:<address hash>`: one per recipient, tenant and day, however many workers run the pass), then
 * marks the events digested. A day without events sends nothing; alerts turned off since mark them digested unsent.
 * A message that cannot be queued for now (MongoDB away) leaves the day for the next pass (the recipients already
 * queued are not mailed twice); one refused for good (`ERR_TENANT_NOT_FOUND`, …) is logged and not tried again. Safe
 * on any number of workers at once.
 *
 * @example
 * await sendAlertDigests({ controlPlane, mail: outbox, portalUrlOf, logger });
 */
export async function sendAlertDigests(deps: AlertDigestDeps): Promise<AlertDigestOutcome> {
  const now = (deps.now ?? (() => new Date()))();
  const graceMs = deps.graceMs ?? DIGEST_GRACE_MS;
  const outcome: AlertDigestOutcome = { digests: 0, messages: 0, retried: 0 };
  for (const pending of await deps.controlPlane.alertEvents.listPendingDays()) {
    if (!dayIsOver(pending.day, pending.timeZones, now, graceMs)) continue;
    const { tenantId, day } = pending;
    try {
      const events = await deps.controlPlane.alertEvents.listForDigest(tenantId, day);
      if (events.length === 0) continue;
      const timeZone = events.at(-1)?.timeZone ?? 'UTC';
      const { recipients } = await resolveAlertRecipients(deps.controlPlane, tenantId);
      const data = digestData(events, day, timeZone, deps.portalUrlOf(tenantId));
      let failed = 0;
      for (const to of recipients) {
        try {
          await deps.mail.enqueue({ tenantId, to, template: 'alert-digest', data, dedupeKey: recipientDedupeKey(`alert-digest:${day}`, to) });
          outcome.messages += 1;
        } catch (err) {
          // A refusal a retry would repeat (tenant gone, template broken) does not hold the day back.
          if (!isPermanentError(err)) failed += 1;
          deps.logger.error(
            {
              tenantId,
              day,
              to: maskEmailAddress(to),
              code: err instanceof RetentionError ? err.code : undefined,
              err: { message: err instanceof Error ? err.message : String(err) },
            },
            'could not queue an alert digest; the next pass tries again',
          );
        }
      }
      if (failed > 0) {
        outcome.retried += 1;
        continue;
      }
      await deps.controlPlane.alertEvents.markDigested(
        tenantId,
        events.map((event) => event.key),
        now,
      );
      outcome.digests += 1;
      deps.logger.info(
        { tenantId, day, events: events.length, recipients: recipients.length },
        recipients.length > 0 ? 'alert digest queued' : 'alerts are off: digest not sent',
      );
    } catch (err) {
      outcome.retried += 1;
      deps.logger.error(
        { tenantId, day, err: { message: err instanceof Error ? err.message : String(err) } },
        'could not send the alert digest of a day; the next pass tries again',
      );
    }
  }
  return outcome;
}
