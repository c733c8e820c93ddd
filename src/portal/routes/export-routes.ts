import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import { can } from '../../access/permissions.js';
import type { Principal } from '../../access/principal.js';
import { RetentionError } from '../../errors.js';
import { RECORD_TYPES, type RecordType } from '../../records/record-type.js';
import type { ResultsExportService } from '../../results-export/results-export-service.js';
import { authorizedPrincipal } from '../access-gates.js';
import { auditClient, formField } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { CALL_LOG_LIST_FIELDS } from './archive-call-logs-routes.js';
import { CHAT_LIST_FIELDS } from './archive-chats-routes.js';
import { CONTACT_LIST_FIELDS } from './archive-contacts-routes.js';
import { parseListQuery, personalDataFilterProblems } from './archive-list-query.js';

/** The filter fields an export request carries per type: the same as the list page it was asked from. */
export const EXPORT_FILTER_FIELDS: { readonly [T in RecordType]: readonly string[] } = {
  'call-logs': CALL_LOG_LIST_FIELDS,
  chats: CHAT_LIST_FIELDS,
  contacts: CONTACT_LIST_FIELDS,
};

/** Form fields of an export request that are not filter fields (a list's sort order does not change what is exported). */
const REQUEST_KEYS = new Set(['type', 'format', 'messages', 'order', '_csrf']);

const isRecordType = (value: string): value is RecordType => (RECORD_TYPES as readonly string[]).includes(value);

/** The portal's results-export service, or `ERR_EXPORTS_UNAVAILABLE` (503) when this portal was built without one. */
function exportsOf(services: PortalServices): ResultsExportService {
  const service = services.deps.resultsExport;
  if (service === undefined) {
    throw new RetentionError(
      'ERR_EXPORTS_UNAVAILABLE',
      'Exports are not configured for this portal. Ask your operator to connect the online archive and the export worker.',
    );
  }
  return service;
}

/**
 * The export request of a form posted from a list page: the type, the format, the list's filter as the list
 * read it from its URL (days become instants the same way), so the file holds what the list shows, and for chats
 * whether their messages are included (`messages`, checked by the service).
 * `ERR_EXPORT_REQUEST_INVALID` (400) for a filter the list would refuse too.
 */
function exportRequestOf(req: Request, principal: Principal): { type: string; format: string; filter: Record<string, string>; messages?: string } {
  const type = formField(req, 'type', 40);
  const format = formField(req, 'format', 10);
  const messages = formField(req, 'messages', 10);
  const choice = messages === '' ? {} : { messages };
  if (!isRecordType(type)) return { type, format, filter: {}, ...choice };
  const body: unknown = req.body;
  const fields =
    typeof body === 'object' && body !== null
      ? Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([key]) => !REQUEST_KEYS.has(key)))
      : {};
  const query = parseListQuery(fields, EXPORT_FILTER_FIELDS[type]);
  const problem = [...query.problems, ...personalDataFilterProblems(query.filter, can(principal, 'see-unmasked-personal-data'))][0];
  if (problem !== undefined) throw new RetentionError('ERR_EXPORT_REQUEST_INVALID', `${problem} Go back to the list, fix the filter and export again.`);
  return { type, format, filter: query.filter, ...choice };
}

/**
 * Exports of list results: `POST /exports` (asks for one from a list page's filter, then shows its status),
 * `GET /exports` (the user's own exports), `GET /exports/:id` (status, progress and, when done, a button for a
 * download link), `POST /exports/:id/link` (a one-time, expiring link) and `GET /exports/:id/download/:token`
 * (the file as an attachment). Every route needs the `export` capability (403); another user's export is 404;
 * a type outside the user's data scope is refused by the service (403, audited).
 *
 * @example
 * app.use(exportRoutes(services));
 */
export function exportRoutes(services: PortalServices): Router {
  const router = Router();

  router.post('/exports', async (req, res) => {
    const principal = authorizedPrincipal(res, 'exports.request');
    const job = await exportsOf(services).request(principal, exportRequestOf(req, principal), auditClient(req));
    res.redirect(303, `/exports/${job.id}`);
  });

  router.get('/exports', async (_req, res) => {
    const principal = authorizedPrincipal(res, 'exports.list');
    const exports = await exportsOf(services).list(principal);
    res.render('exports/list', { title: 'Exports', exports });
  });

  router.get('/exports/:id', async (req, res) => {
    const principal = authorizedPrincipal(res, 'exports.status');
    const job = await exportsOf(services).get(principal, String(req.params.id));
    res.render('exports/status', { title: 'Export', job });
  });

  router.post('/exports/:id/link', async (req, res) => {
    const principal = authorizedPrincipal(res, 'exports.link');
    const service = exportsOf(services);
    const link = await service.createDownloadLink(principal, String(req.params.id));
    const job = await service.get(principal, String(req.params.id));
    res.render('exports/link', { title: 'Download link', job, link });
  });

  router.get('/exports/:id/download/:token', async (req, res) => {
    const principal = authorizedPrincipal(res, 'exports.download');
    const download = await exportsOf(services).openDownload(principal, String(req.params.id), String(req.params.token), auditClient(req));
    res.status(200);
    res.set({
      'Content-Type': download.contentType,
      'Content-Length': String(download.bytes),
      'Content-Disposition': `attachment; filename="${download.fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'Cache-Control': 'no-store',
    });
    try {
      await pipeline(download.stream, res);
    } catch (err) {
      services.deps.logger.error({ err, exportId: req.params.id }, 'an export download broke off');
      res.destroy();
    }
  });

  return router;
}
