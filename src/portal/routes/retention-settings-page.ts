import type { Response } from 'express';
import { readAlertsSection, type AlertsFormState } from '../../alerts/alert-settings-form.js';
import { HOST_KEY_TYPES } from '../../delivery/host-key-pin.js';
import { rebuildStatus, type RebuildStatus } from '../../queue/import-queues.js';
import { RECORD_TYPES } from '../../records/record-type.js';
import type { VersionedSettings } from '../../store/settings-store.js';
import { MAX_ARCHIVE_RETENTION_DAYS, nextRunTimes, retentionSettingsSchema, type RetentionSettings } from '../../tenants/retention-settings.js';
import type { SettingsProblem } from '../../tenants/retention-settings-service.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { ARCHIVE_URI_FIELD, RECORD_TYPE_LABELS, archiveDaysField, describeArchiveRetention } from './retention-archive-form.js';
import type { ConnectionTest } from './retention-connection-test.js';
import { archiveViewFormat, createViewFormat, type ViewFormat } from './archive-view-format.js';
import type { FormState } from './retention-settings-form.js';
import { RETENTION_FORM_FIELDS, presentFieldProblems } from './retention-settings-fields.js';
import { describeRebuildStatus } from './retention-rebuild-view.js';
import { HOST_KEY_TYPE_LABELS } from './host-key-pin-form.js';

/** What the page shows besides the form: problems by field, other problems above the form, a connection test's result. */
export interface RetentionPageExtras {
  /** Shown next to their controls, and linked from the summary above the form ({@link presentFieldProblems}). */
  fieldProblems?: readonly SettingsProblem[];
  problems?: string[];
  connection?: ConnectionTest;
  /** The Alerts section's form as typed, with its problems (a refused save of the alert settings). */
  alerts?: AlertsFormState;
}

/** One upcoming run of the schedule: the instant, and its weekday in the schedule's time zone. */
interface UpcomingRun {
  at: Date;
  weekday: string;
}

/** The next five runs of the schedule typed, with the formats of its own time zone; none when the schedule is not valid. */
function upcomingRuns(cron: string, timezone: string, now: Date): { runs: UpcomingRun[]; format: ViewFormat } | undefined {
  const parsed = retentionSettingsSchema.shape.schedule.safeParse({ cron, timezone });
  if (!parsed.success) return undefined;
  const weekday = new Intl.DateTimeFormat('en-GB', { timeZone: parsed.data.timezone, weekday: 'long' });
  const runs = nextRunTimes(parsed.data, 5, now).map((at) => ({ at, weekday: weekday.format(at) }));
  return { runs, format: createViewFormat(parsed.data.timezone) };
}

/**
 * Renders `retention/settings` for the signed-in tenant: the form, the next runs of the schedule typed (in its own
 * time zone, in the portal's one format of times), the Online
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
    const fmt = (res.locals.fmt as ViewFormat | undefined) ?? archiveViewFormat;
    const rebuild =
      stored?.value.mode === 'online' ? describeRebuildStatus(await readRebuildStatus(tenantId), services.deps.importQueues !== undefined, fmt) : undefined;
    const upcoming = upcomingRuns(state.values['schedule.cron'] ?? '', state.values['schedule.timezone'] || 'UTC', services.now());
    const { fieldErrors, summary } = presentFieldProblems(extras.fieldProblems ?? []);
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
      nextRuns: upcoming?.runs ?? [],
      scheduleFmt: upcoming?.format ?? fmt,
      fields: RETENTION_FORM_FIELDS,
      fieldErrors,
      fieldSummary: summary,
      problems: extras.problems ?? [],
      connection: extras.connection,
      hostKeyTypes: HOST_KEY_TYPES.map((type) => ({ value: type, label: HOST_KEY_TYPE_LABELS[type] })),
      alerts,
    });
  };
}
