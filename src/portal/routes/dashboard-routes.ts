import { Router } from 'express';
import { archiveAccessFor, can, readableTypes } from '../../access/permissions.js';
import { renderDailyRecordsChart } from '../../charts/daily-records-chart.js';
import type { RecordType } from '../../records/record-type.js';
import type { ManifestImport } from '../../store/archive/archive-imports-store.js';
import type { DailyCounts } from '../../store/archive/archive-store.js';
import { authorizedPrincipal } from '../access-gates.js';
import { ARCHIVE_NAVIGATION, DASHBOARD_SHORTCUTS, allowedLinks } from '../navigation.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

/** Days the dashboard's chart covers, today included. */
export const DASHBOARD_DAYS = 30;
const RECENT_RUNS = 5;
const DAY_MS = 86_400_000;
/** Days are UTC days. Spelled `Etc/UTC`: MongoDB knows both names, the wire-compatible test server only this one. */
const CHART_TIME_ZONE = 'Etc/UTC';

const TYPE_LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };

/** A run as the dashboard shows it: only the record counts of the types the reader may read. */
interface RunRow {
  id: string;
  trigger: string;
  status: string;
  createdAt: Date;
  finishedAt: Date | null;
  records: { label: string; count: number }[];
  errors: number;
}

/** The archive's health as the dashboard shows it: the last manifest imported and the last attempt. */
interface ArchiveHealth {
  lastImported: ManifestImport | undefined;
  lastAttempt: ManifestImport | undefined;
  /** Minutes since the last manifest was imported. */
  lagMinutes: number | undefined;
  /** Records of the last imported manifest, per readable type. */
  records: { label: string; count: number }[];
}

function windowOf(now: Date): { from: Date; to: Date; fromDay: string; toDay: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (DASHBOARD_DAYS - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  return { from, to, fromDay: from.toISOString().slice(0, 10), toDay: new Date(today).toISOString().slice(0, 10) };
}

/**
 * The signed-in start page: records per type per day over the last {@link DASHBOARD_DAYS} days as a chart drawn on
 * the server (an SVG embedded as a `data:` image, which the CSP allows and which cannot run script), totals, the
 * last runs and the archive's health. Everything counted is read with the reader's access, so a type outside the
 * user's data scopes appears nowhere on it: not in the chart, a total, a run or an import. The counts come from the
 * per-day counts the archive keeps at import (one small read), the same numbers as counting the records.
 */
export function dashboardRoutes(services: PortalServices): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const principal = authorizedPrincipal(res, 'dashboard');
    const tenantId = portalContext(res).tenant.id;
    const types = readableTypes(principal);
    const now = services.now();
    const window = windowOf(now);
    const { archive, archiveImports, controlPlane } = services.deps;

    let counts: DailyCounts[] = [];
    if (archive !== undefined && types.length > 0)
      counts = await archive.dailyCounts(archiveAccessFor(principal), { from: window.from, to: window.to, timeZone: CHART_TIME_ZONE });
    const totals = types.map((type) => ({ type, label: TYPE_LABELS[type], count: counts.reduce((sum, day) => sum + (day.counts[type] ?? 0), 0) }));
    const svg =
      archive !== undefined && types.length > 0
        ? renderDailyRecordsChart(counts, {
            types,
            range: { from: window.fromDay, to: window.toDay },
            title: `Records per day, last ${DASHBOARD_DAYS} days`,
            emptyMessage: 'No records in the last 30 days. The archive fills after the first online import.',
          })
        : undefined;

    const runs: RunRow[] = (await controlPlane.runs.listByTenant(tenantId, { limit: RECENT_RUNS })).map((run) => ({
      id: run.id,
      trigger: run.trigger,
      status: run.status,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      records: types.filter((type) => run.totals[type] !== undefined).map((type) => ({ label: TYPE_LABELS[type], count: run.totals[type]?.records ?? 0 })),
      errors: run.errors.length,
    }));

    let health: ArchiveHealth | undefined;
    if (archiveImports !== undefined) {
      const imports = await archiveImports.list(tenantId);
      const lastImported = imports.filter((entry) => entry.status === 'imported').at(-1);
      const finishedAt = lastImported?.finishedAt ?? undefined;
      health = {
        lastImported,
        lastAttempt: imports.at(-1),
        lagMinutes: finishedAt === undefined ? undefined : Math.max(0, Math.round((now.getTime() - finishedAt.getTime()) / 60_000)),
        records: types.map((type) => ({ label: TYPE_LABELS[type], count: lastImported?.counts?.types[type]?.records ?? 0 })),
      };
    }

    res.render('dashboard', {
      title: 'Dashboard',
      archiveConfigured: archive !== undefined,
      types: types.map((type) => ({ type, label: TYPE_LABELS[type] })),
      chartDataUri: svg === undefined ? undefined : `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
      chartAlt: `Records per day from ${window.fromDay} to ${window.toDay}: ${totals.map((t) => `${t.label} ${t.count}`).join(', ')}`,
      totals,
      runs,
      health,
      archiveLinks: allowedLinks(principal, ARCHIVE_NAVIGATION),
      shortcuts: allowedLinks(principal, DASHBOARD_SHORTCUTS),
      runsJobs: can(principal, 'run-jobs'),
    });
  });
  return router;
}
