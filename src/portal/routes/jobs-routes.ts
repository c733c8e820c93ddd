import { Router, type Request, type Response } from 'express';
import { notFoundError } from '../../access/access-errors.js';
import { readableTypes } from '../../access/permissions.js';
import type { Principal } from '../../access/principal.js';
import { routeAllowed } from '../../access/route-permissions.js';
import { retryRefusal } from '../../queue/run-retry.js';
import { RetentionError } from '../../errors.js';
import { RECORD_TYPES, isRecordType, type RecordType } from '../../records/record-type.js';
import { AlertDispatcher } from '../../alerts/alert-dispatcher.js';
import { schedulePausedAlert } from '../../alerts/schedule-paused-alert.js';
import { failedInARow, pauseAfterFailedRuns, pauseAfterFailuresOf } from '../../queue/auto-pause.js';
import { enqueueBackfill, enqueueRunNow, type ExportQueues } from '../../queue/export-queues.js';
import { syncTenantSchedule } from '../../queue/tenant-schedules.js';
import type { Run } from '../../store/runs-store.js';
import { nextRunTimes } from '../../tenants/retention-settings.js';
import { authorizedPrincipal } from '../access-gates.js';
import { flash, formField, formList, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

const TYPE_LABELS: Record<RecordType, string> = { 'call-logs': 'Call logs', chats: 'Chats', contacts: 'Contacts' };
const PAGE_SIZE = 25;
const DAY_MS = 86_400_000;
/** Longest backfill one request may ask for. */
export const MAX_BACKFILL_DAYS = 366;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Seconds between reloads of a jobs page that shows a running run. */
export const JOBS_REFRESH_SECONDS = 5;

/** Delivered so far, of the types the reader may read. */
interface ProgressView {
  chunks: number;
  records: number;
  rejected: number;
  bytes: number;
}

/** A run as the jobs pages show it: only the types the reader may read. */
interface RunView {
  id: string;
  trigger: string;
  status: string;
  createdAt: Date;
  finishedAt: Date | null;
  chunkCount: number;
  types: Array<{
    type: RecordType;
    label: string;
    from: Date | undefined;
    to: Date | undefined;
    records: number;
    rejected: number;
    files: number;
    bytes: number;
    soFar: ProgressView;
  }>;
  /** Chunks done of all chunks; records and bytes summed over the readable types only. */
  progress: ProgressView & { chunkCount: number; lastChunkAt: Date | null };
  files: Run['files'];
  manifest: Run['manifest'];
  errors: Run['errors'];
}

interface BackfillForm {
  from: string;
  to: string;
  types: string[];
}

/** The validated backfill request: `[from, to)` in UTC and the types. */
export interface BackfillRequest {
  from: Date;
  to: Date;
  types: RecordType[];
}

/**
 * Validates a backfill form: `from` and `to` are UTC days (`YYYY-MM-DD`, both included), `from` not after `to`, `to`
 * not after today, at most {@link MAX_BACKFILL_DAYS} days, and at least one data type among the tenant's configured
 * ones. Returns the request or the problems, one sentence each.
 *
 * @example
 * parseBackfillForm({ from: '2026-01-01', to: '2026-01-31', types: ['chats'] }, ['chats'], new Date());
 */
export function parseBackfillForm(form: BackfillForm, configured: readonly RecordType[], now: Date): BackfillRequest | { problems: string[] } {
  const problems: string[] = [];
  const day = (value: string, name: string): Date | undefined => {
    if (value === '') {
      problems.push(`${name}: enter a date (YYYY-MM-DD).`);
      return undefined;
    }
    const date = new Date(`${value}T00:00:00.000Z`);
    if (!DATE.test(value) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
      problems.push(`${name}: "${value.slice(0, 20)}" is not a date; use YYYY-MM-DD, e.g. 2026-01-31.`);
      return undefined;
    }
    return date;
  };
  const from = day(form.from, 'From');
  const lastDay = day(form.to, 'To');
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (from !== undefined && lastDay !== undefined) {
    if (from.getTime() > lastDay.getTime()) problems.push('To: must be on or after From.');
    else if ((lastDay.getTime() - from.getTime()) / DAY_MS + 1 > MAX_BACKFILL_DAYS)
      problems.push(`To: a backfill covers at most ${MAX_BACKFILL_DAYS} days; split longer ranges.`);
  }
  if (lastDay !== undefined && lastDay.getTime() > today) problems.push('To: must not be in the future.');
  const unknown = form.types.filter((type) => !isRecordType(type));
  if (unknown.length > 0) problems.push(`Data types: unknown type ${unknown.map((t) => `"${t.slice(0, 20)}"`).join(', ')}.`);
  const types = RECORD_TYPES.filter((type) => form.types.includes(type));
  if (form.types.length === 0) problems.push('Data types: choose at least one.');
  const notConfigured = types.filter((type) => !configured.includes(type));
  if (notConfigured.length > 0)
    problems.push(
      `Data types: ${notConfigured.join(', ')} ${notConfigured.length === 1 ? 'is' : 'are'} not archived for this organisation (see the retention settings).`,
    );
  if (problems.length > 0 || from === undefined || lastDay === undefined) return { problems };
  return { from, to: new Date(lastDay.getTime() + DAY_MS), types };
}

function runView(run: Run, types: readonly RecordType[]): RunView {
  const soFar = (type: RecordType): ProgressView => {
    const done = run.progress.types[type];
    return { chunks: done?.chunks ?? 0, records: done?.records ?? 0, rejected: done?.rejected ?? 0, bytes: done?.bytes ?? 0 };
  };
  const readable = types.map(soFar);
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    chunkCount: run.chunkCount,
    types: types
      .filter((type) => run.windows[type] !== undefined || run.totals[type] !== undefined)
      .map((type) => ({
        type,
        label: TYPE_LABELS[type],
        from: run.windows[type]?.from,
        to: run.windows[type]?.to,
        records: run.totals[type]?.records ?? 0,
        rejected: run.totals[type]?.rejected ?? 0,
        files: run.totals[type]?.files ?? 0,
        bytes: run.totals[type]?.bytes ?? 0,
        soFar: soFar(type),
      })),
    progress: {
      chunks: run.progress.chunksDone,
      chunkCount: run.chunkCount,
      records: readable.reduce((sum, p) => sum + p.records, 0),
      rejected: readable.reduce((sum, p) => sum + p.rejected, 0),
      bytes: readable.reduce((sum, p) => sum + p.bytes, 0),
      lastChunkAt: run.progress.lastChunkAt,
    },
    files: run.files.filter((file) => types.includes(file.type)),
    manifest: run.manifest,
    errors: run.errors,
  };
}

/** Whether a jobs page reloads itself, and the link that switches it. */
interface RefreshView {
  /** The page shows a running run. */
  running: boolean;
  /** Reloading, unless the reader turned it off with `?refresh=off`. */
  on: boolean;
  seconds: number;
  /** The same page with reloading switched the other way. */
  toggleLink: string;
}

/**
 * Reloading of a jobs page: on while it shows a running run, unless `?refresh=off` (so a backfill form being filled
 * in is not reset). `query` holds the page's other parameters, kept in the toggle link.
 */
function refreshView(req: Request, path: string, running: boolean, query: Record<string, string> = {}): RefreshView {
  const off = req.query.refresh === 'off';
  const toggle = new URLSearchParams(query);
  if (!off) toggle.set('refresh', 'off');
  const search = toggle.toString();
  return { running, on: running && !off, seconds: JOBS_REFRESH_SECONDS, toggleLink: search === '' ? path : `${path}?${search}` };
}

/**
 * The jobs pages: the tenant's runs (status, trigger, windows, counts and bytes of the types the reader may read,
 * errors, manifest), a run's detail, and for users who may run jobs: run now, backfill a date range, retry a failed
 * run, pause and resume the schedule. A streak of failed runs (the tenant's `schedule.pauseAfterFailures`) shows an alert
 * (the worker pauses the schedule then; the page makes sure of it too, and a pause it makes raises the tenant's
 * `schedule-paused` alert like the worker's). Every trigger is audited.
 */
export function jobsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  const alerts = new AlertDispatcher({ controlPlane, mail: services.mail, logger: services.deps.logger });

  const queues = (): ExportQueues => {
    const q = services.deps.exportQueues;
    if (q === undefined)
      throw new RetentionError(
        'ERR_QUEUES_UNAVAILABLE',
        'The job queues are not configured for this portal; start it with Redis configured (REDIS_URL) and try again.',
      );
    return q;
  };
  const actor = (res: Response) => ({ type: 'user' as const, id: signedInUser(res).id });
  /** The ids of the runs of a page (newest first) that can still be retried, knowing every run created after them. */
  const retryableRunIds = async (tenantId: string, runs: readonly Run[]): Promise<string[]> => {
    const newest = runs[0];
    if (newest === undefined || !runs.some((run) => run.status === 'failed')) return [];
    const newer = await controlPlane.runs.listCreatedAfter(tenantId, newest.createdAt);
    const all = [...newer, ...runs];
    return runs.filter((run) => retryRefusal(run, all) === undefined).map((run) => run.id);
  };

  const renderList = async (
    req: Request,
    res: Response,
    principal: Principal,
    state: { backfill?: BackfillForm; problems?: string[] } = {},
    status = 200,
  ): Promise<void> => {
    const tenantId = portalContext(res).tenant.id;
    const types = readableTypes(principal);
    const beforeText = typeof req.query.before === 'string' ? req.query.before : '';
    const before = beforeText === '' ? undefined : new Date(beforeText);
    if (before !== undefined && Number.isNaN(before.getTime())) throw new RetentionError('ERR_QUERY_INVALID', 'before: not a time; use the "Older runs" link.');
    const runs = await controlPlane.runs.listByTenant(tenantId, { limit: PAGE_SIZE, ...(before ? { before } : {}) });
    const stored = (await controlPlane.settings.getRetention(tenantId))?.value;
    const pauseAfter = pauseAfterFailuresOf(stored);
    const latest =
      before === undefined && runs.length >= pauseAfter ? runs : await controlPlane.runs.listByTenant(tenantId, { limit: Math.max(pauseAfter, 1) });
    const streak = failedInARow(latest, pauseAfter);
    if (streak && services.deps.exportQueues !== undefined) {
      const paused = await pauseAfterFailedRuns(controlPlane, services.deps.exportQueues.runs, tenantId, pauseAfter, services.now);
      if (paused.outcome === 'paused') await alerts.raise(schedulePausedAlert(tenantId, paused.pause));
    }
    const settings = streak ? (await controlPlane.settings.getRetention(tenantId))?.value : stored;
    const last = runs.at(-1);
    // A page answering a form (its problems shown) does not reload: that would drop what was typed.
    const refresh = refreshView(req, '/jobs', req.method === 'GET' && runs.some((run) => run.status === 'running'), before ? { before: beforeText } : {});
    res.status(status).render('jobs/list', {
      title: 'Jobs',
      ...(refresh.on ? { refreshSeconds: refresh.seconds } : {}),
      refresh,
      runs: runs.map((run) => runView(run, types)),
      retryable: await retryableRunIds(tenantId, runs),
      olderLink: runs.length === PAGE_SIZE && last ? `/jobs?before=${encodeURIComponent(last.createdAt.toISOString())}` : undefined,
      newestLink: before === undefined ? undefined : '/jobs',
      failureStreak: streak ? pauseAfter : 0,
      schedule: settings ? { ...settings.schedule, next: settings.schedule.paused ? [] : nextRunTimes(settings.schedule, 1, services.now()) } : undefined,
      dataTypes: (settings?.dataTypes ?? []).map((type) => ({ type, label: TYPE_LABELS[type] })),
      backfill: state.backfill ?? { from: '', to: '', types: settings?.dataTypes ?? [] },
      problems: state.problems ?? [],
      queuesConfigured: services.deps.exportQueues !== undefined,
      canRun: routeAllowed(principal, 'jobs.run-now'),
      canConfigure: routeAllowed(principal, 'settings.retention.view'),
    });
  };

  router.get('/jobs', async (req, res) => {
    await renderList(req, res, authorizedPrincipal(res, 'jobs.list'));
  });

  router.post('/jobs/run-now', async (req, res) => {
    authorizedPrincipal(res, 'jobs.run-now');
    const tenantId = portalContext(res).tenant.id;
    if ((await controlPlane.settings.getRetention(tenantId)) === undefined) {
      flash(req, 'error', 'Retention is not configured yet: save the retention settings first, then run.');
      return res.redirect(303, '/jobs');
    }
    const jobId = await enqueueRunNow(queues(), tenantId, services.now());
    await services.audit(req, tenantId, { actor: actor(res), action: 'job.run-now', outcome: 'success', target: jobId });
    flash(req, 'success', 'A run was queued; it appears below once a worker has planned it.');
    res.redirect(303, '/jobs');
  });

  router.post('/jobs/backfill', async (req, res) => {
    const principal = authorizedPrincipal(res, 'jobs.backfill');
    const tenantId = portalContext(res).tenant.id;
    const form: BackfillForm = { from: formField(req, 'from', 40).trim(), to: formField(req, 'to', 40).trim(), types: formList(req, 'types') };
    const settings = (await controlPlane.settings.getRetention(tenantId))?.value;
    if (settings === undefined) {
      return renderList(req, res, principal, { backfill: form, problems: ['Retention is not configured yet: save the retention settings first.'] }, 409);
    }
    const parsed = parseBackfillForm(form, settings.dataTypes, services.now());
    if ('problems' in parsed) return renderList(req, res, principal, { backfill: form, problems: parsed.problems }, 400);
    const jobId = await enqueueBackfill(queues(), tenantId, parsed, services.now());
    await services.audit(req, tenantId, {
      actor: actor(res),
      action: 'job.backfill',
      outcome: 'success',
      target: jobId,
      details: { from: parsed.from.toISOString(), to: parsed.to.toISOString(), types: parsed.types.join(',') },
    });
    flash(req, 'success', `A backfill of ${form.from} to ${form.to} (${parsed.types.join(', ')}) was queued.`);
    res.redirect(303, '/jobs');
  });

  const setPaused = (paused: boolean) => async (req: Request, res: Response) => {
    authorizedPrincipal(res, paused ? 'jobs.pause' : 'jobs.resume');
    const tenantId = portalContext(res).tenant.id;
    const runsQueue = queues().runs;
    const stored = await controlPlane.settings.getRetention(tenantId);
    if (stored === undefined) {
      flash(req, 'error', 'Retention is not configured yet: there is no schedule to pause or resume.');
      return res.redirect(303, '/jobs');
    }
    const value = { ...stored.value, schedule: { ...stored.value.schedule, paused } };
    const saved = await controlPlane.settings.putRetention(tenantId, value, {
      actor: signedInUser(res).id,
      expectedVersion: stored.version,
      now: services.now(),
    });
    await syncTenantSchedule(runsQueue, tenantId, saved.value);
    await services.audit(req, tenantId, {
      actor: actor(res),
      action: paused ? 'schedule.paused' : 'schedule.resumed',
      outcome: 'success',
      target: 'retention',
      details: { version: saved.version },
    });
    flash(req, 'success', paused ? 'The schedule is paused: no scheduled runs start until you resume it.' : 'The schedule is running again.');
    res.redirect(303, '/jobs');
  };
  router.post('/jobs/pause', setPaused(true));
  router.post('/jobs/resume', setPaused(false));

  router.get('/jobs/:runId', async (req, res) => {
    const principal = authorizedPrincipal(res, 'jobs.detail');
    const run = await controlPlane.runs.get(portalContext(res).tenant.id, String(req.params.runId).slice(0, 300));
    if (run === undefined) throw notFoundError('run');
    const refresh = refreshView(req, `/jobs/${encodeURIComponent(run.id)}`, run.status === 'running');
    res.render('jobs/detail', {
      title: `Run ${run.id}`,
      ...(refresh.on ? { refreshSeconds: refresh.seconds } : {}),
      refresh,
      run: runView(run, readableTypes(principal)),
      canRun: routeAllowed(principal, 'jobs.retry'),
      retryRefusal: retryRefusal(run, await controlPlane.runs.listCreatedAfter(portalContext(res).tenant.id, run.createdAt)),
    });
  });

  router.post('/jobs/:runId/retry', async (req, res) => {
    authorizedPrincipal(res, 'jobs.retry');
    const tenantId = portalContext(res).tenant.id;
    const run = await controlPlane.runs.get(tenantId, String(req.params.runId).slice(0, 300));
    if (run === undefined) throw notFoundError('run');
    const refusal = retryRefusal(run, await controlPlane.runs.listCreatedAfter(tenantId, run.createdAt));
    if (refusal !== undefined) {
      flash(req, 'error', refusal);
      return res.redirect(303, `/jobs/${encodeURIComponent(run.id)}`);
    }
    let jobId: string;
    const windows = Object.entries(run.windows).filter((entry): entry is [RecordType, { from: Date; to: Date }] => entry[1] !== undefined);
    if (run.trigger === 'backfill' && windows.length > 0) {
      const from = new Date(Math.min(...windows.map(([, w]) => w.from.getTime())));
      const to = new Date(Math.max(...windows.map(([, w]) => w.to.getTime())));
      jobId = await enqueueBackfill(queues(), tenantId, { from, to, types: windows.map(([type]) => type) }, services.now());
    } else {
      jobId = await enqueueRunNow(queues(), tenantId, services.now());
    }
    await services.audit(req, tenantId, {
      actor: actor(res),
      action: 'job.retried',
      outcome: 'success',
      target: run.id,
      details: { jobId, trigger: run.trigger },
    });
    flash(
      req,
      'success',
      run.trigger === 'backfill'
        ? 'The backfill was queued again for the same range.'
        : "A new run was queued; it covers the failed run's windows again from the unchanged checkpoints.",
    );
    res.redirect(303, '/jobs');
  });

  return router;
}
