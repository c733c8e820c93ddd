import { Router, type Request, type Response } from 'express';
import type { AuditEntry } from '../../audit/audit-entry.js';
import type { AuditListOptions } from '../../audit/audit-log.js';
import { formatCefEntry } from '../../audit/cef.js';
import { csvLine } from '../../results-export/csv-encoding.js';
import { requireRoute } from '../access-gates.js';
import { portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

const ACTION_FILTER = /^[a-z0-9][a-z0-9.-]{0,63}$/;
const ACTOR_FILTER = /^[A-Za-z0-9._@:+-]{1,200}$/;
const DATE_FILTER = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d{1,3})?Z)?$/;
const PAGE_LIMIT = 200;
const DOWNLOAD_LIMIT = 10_000;

/** The audit filter as it appears in the URL (strings, so the form can show exactly what was asked). */
interface AuditQuery {
  action: string;
  user: string;
  from: string;
  to: string;
}

/** Reads the filter from the query string; every value is checked against a narrow pattern, problems are listed. */
function parseAuditQuery(query: unknown): { shown: AuditQuery; options: AuditListOptions; problems: string[] } {
  const raw = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const text = (name: string): string => (typeof raw[name] === 'string' ? (raw[name] as string).trim() : '');
  const shown: AuditQuery = { action: text('action'), user: text('user'), from: text('from'), to: text('to') };
  const options: AuditListOptions = {};
  const problems: string[] = [];
  for (const name of ['action', 'user', 'from', 'to'] as const) {
    if (raw[name] !== undefined && typeof raw[name] !== 'string') problems.push(`${name}: give it once, as text`);
  }
  if (shown.action) {
    if (ACTION_FILTER.test(shown.action)) options.action = shown.action;
    else problems.push('action: letters, digits, "." and "-" only, e.g. auth.login');
  }
  if (shown.user) {
    if (ACTOR_FILTER.test(shown.user)) options.actorId = shown.user;
    else problems.push('user: a user id as shown in the Actor column');
  }
  for (const bound of ['from', 'to'] as const) {
    const value = shown[bound];
    if (!value) continue;
    const date = DATE_FILTER.test(value) ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value) : undefined;
    // Date turns 2026-02-30 into 2026-03-02 and T24:00 into the next day: a real day and time reads back as given
    if (date && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value.replace(/Z$/, ''))) options[bound] = date;
    else problems.push(`${bound}: a UTC date such as 2026-11-01 or 2026-11-01T08:30:00Z`);
  }
  if (options.from && options.to && options.to <= options.from) problems.push('to: must be after from');
  return { shown, options, problems };
}

const queryString = (q: AuditQuery): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(q)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
};

const detailsText = (entry: AuditEntry): string =>
  entry.details
    ? Object.entries(entry.details)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')
    : '';

/**
 * The tenant's audit log, for users who may read it: entries filtered by user, action and time (the filter lives in
 * the URL, so a view can be bookmarked), the hash chain's state, and downloads of the same selection as CSV, JSON
 * or CEF lines for a SIEM. Every download is itself audited.
 */
export function auditRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  router.get('/audit', requireRoute('audit.list'), async (req, res) => {
    const tenantId = portalContext(res).tenant.id;
    const { shown, options, problems } = parseAuditQuery(req.query);
    const [entries, chain] = await Promise.all([
      problems.length > 0 ? Promise.resolve([]) : controlPlane.audit.list(tenantId, { ...options, limit: PAGE_LIMIT }),
      controlPlane.audit.verifyChain(tenantId),
    ]);
    res.status(problems.length > 0 ? 400 : 200).render('audit', {
      title: 'Audit log',
      entries,
      query: shown,
      problems,
      chain,
      downloadQuery: queryString(shown),
      limit: PAGE_LIMIT,
      filtered: Object.keys(options).length > 0,
    });
  });

  const download = (format: 'cef' | 'csv' | 'json') => async (req: Request, res: Response) => {
    const tenantId = portalContext(res).tenant.id;
    const { options, problems } = parseAuditQuery(req.query);
    if (problems.length > 0) {
      res
        .status(400)
        .type('text/plain')
        .send(`Invalid audit filter: ${problems.join('; ')}\n`);
      return;
    }
    const entries = await controlPlane.audit.list(tenantId, { ...options, limit: DOWNLOAD_LIMIT });
    await services.audit(req, tenantId, {
      actor: { type: 'user', id: signedInUser(res).id },
      action: 'audit.exported',
      outcome: 'success',
      details: {
        format,
        entries: entries.length,
        action: options.action ?? null,
        user: options.actorId ?? null,
        from: options.from?.toISOString() ?? null,
        to: options.to?.toISOString() ?? null,
      },
    });
    res.set('Content-Disposition', `attachment; filename="audit-${tenantId}.${format}"`);
    if (format === 'cef') {
      res.type('text/plain').send(`${entries.map((entry) => formatCefEntry(entry, { version: services.options.version, host: req.hostname })).join('\n')}\n`);
    } else if (format === 'json') {
      res.type('application/json').send(
        `${JSON.stringify(
          entries.map((e) => ({ ...e, at: e.at.toISOString() })),
          null,
          2,
        )}\n`,
      );
    } else {
      const header = csvLine(['seq', 'at', 'action', 'outcome', 'actorType', 'actorId', 'target', 'ip', 'userAgent', 'details', 'prevHash', 'hash']);
      const rows = entries.map((e) =>
        csvLine([e.seq, e.at.toISOString(), e.action, e.outcome, e.actor.type, e.actor.id, e.target, e.ip, e.userAgent, detailsText(e), e.prevHash, e.hash]),
      );
      res.type('text/csv').send(`\uFEFF${header}${rows.join('')}`);
    }
  };
  router.get('/audit.cef', requireRoute('audit.download.cef'), download('cef'));
  router.get('/audit.csv', requireRoute('audit.download.csv'), download('csv'));
  router.get('/audit.json', requireRoute('audit.download.json'), download('json'));
  return router;
}
