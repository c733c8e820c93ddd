import type { Response } from 'express';
import { readAlertsSection, type AlertsFormState } from '../../alerts/alert-settings-form.js';
import { HOST_KEY_TYPES } from '../../delivery/host-key-pin.js';
import { rebuildStatus, type RebuildStatus } from '../../queue/import-queues.js';
import { RECORD_TYPES } from '../../records/record-type.js';
import type { VersionedSettings } from '../../store/settings-store.js';
import { MAX_ARCHIVE_RETENTION_DAYS, nextRunTimes, retentionSettingsSchema, type RetentionSettings } from '../../tenants/retention-settings.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { ARCHIVE_URI_FIELD, RECORD_TYPE_LABELS, archiveDaysField, describeArchiveRetention } from './retention-archive-form.js';
import type { ConnectionTest } from './retention-connection-test.js';
import type { FormState } from './retention-settings-form.js';
import { describeRebuildStatus } from './retention-rebuild-view.js';
import { HOST_KEY_TYPE_LABELS } from './host-key-pin-form.js';

/** What the page shows besides the form: errors by field, problems above the form, a connection test's result. */
export interface RetentionPageExtras {
  fieldErrors?: Record<string, string[]>;
  problems?: string[];
  connection?: ConnectionTest;
  /** The Alerts section's form as typed, with its problems (a refused save of the alert settings). */
  alerts?: AlertsFormState;
}

/** The next five run times, printed in the schedule's own time zone; none when the schedule is not valid. */
function upcomingRuns(cron: string, timezone: string, now: Date): string[] {
  const parsed = retentionSettingsSchema.shape.schedule.safeParse({ cron, timezone });
  if (!parsed.success) return [];
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: parsed.data.timezone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return nextRunTimes(parsed.data, 5, now).map((date) => format.format(date));
}

/**
 * Renders `retention/settings` for the signed-in tenant: the form, the next runs of the schedule typed, the Online
 * archive section (saved retention, and the rebuild state when the saved mode is online), the Alerts section (its own
 * form) and `extras`.
 *
 * @example
 * const renderPage = retentionPageRenderer(services);
 * await renderPage(res, stateFromSettings(stored), stored);
 */
export function retentionPageRenderer(services: PortalServices) {
  const readRebuildStatus = async (tenantId: string): Promise<RebuildStatus | undefined> => {
    const queues = services.deps.importQueues;
    if (queues === undefined) return undefined;
    try {
      return await rebuildStatus(queues, tenantId);
    } catch (err) {
      services.deps.logger.warn({ tenantId, err }, 'could not read the state of the archive rebuild');
      return undefined;
    }
  };

  return async (
    res: Response,
    state: FormState,
    stored: VersionedSettings<RetentionSettings> | undefined,
    extras: RetentionPageExtras = {},
    status = 200,
  ): Promise<void> => {
    const tenantId = portalContext(res).tenant.id;
    const alerts = await readAlertsSection({ controlPlane: services.deps.controlPlane, mailConfigured: services.mail !== undefined }, tenantId, extras.alerts);
    const rebuild =
      stored?.value.mode === 'online' ? describeRebuildStatus(await readRebuildStatus(tenantId), services.deps.importQueues !== undefined) : undefined;
    res.status(status).render('retention/settings', {
      title: 'Retention settings',
      form: state,
      types: RECORD_TYPES.map((type) => ({ type, label: RECORD_TYPE_LABELS[type], daysField: archiveDaysField(type) })),
      archive: {
        uriField: ARCHIVE_URI_FIELD,
        maxDays: MAX_ARCHIVE_RETENTION_DAYS,
        savedRetention: describeArchiveRetention(stored?.value.archiveRetentionDays),
        savedOnline: stored?.value.mode === 'online',
        rebuild,
      },
      nextRuns: upcomingRuns(state.values['schedule.cron'] ?? '', state.values['schedule.timezone'] || 'UTC', services.now()),
      fieldErrors: extras.fieldErrors ?? {},
      problems: extras.problems ?? [],
      connection: extras.connection,
      hostKeyTypes: HOST_KEY_TYPES.map((type) => ({ value: type, label: HOST_KEY_TYPE_LABELS[type] })),
      alerts,
    });
  };
}
