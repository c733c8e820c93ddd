import { Router } from 'express';
import { findInScope } from '../../access/access-errors.js';
import { maskPage, maskRecord } from '../../masking/mask-record.js';
import { CALL_DIRECTIONS, CALL_OUTCOMES } from '../../records/call-log-schema.js';
import type { PortalServices } from '../portal-services.js';
import { archiveListHandler } from './archive-list-page.js';
import { listReturnHref } from './archive-list-query.js';
import { archiveStoreOf, auditArchiveRead, authorizedReader } from './archive-reader.js';
import { recordReferences } from './archive-record-references.js';

/** The URL filters (and the time order, `order`: newest or oldest first) of the call-log list (the archive store's call-log filter). */
export const CALL_LOG_LIST_FIELDS = ['from', 'to', 'direction', 'outcome', 'agent', 'queue', 'number', 'contact', 'tag', 'order'] as const;

/**
 * Call logs: `/call-logs` (filters in the URL, newest first, keyset pages) and `/call-logs/:id` (one call with its
 * agents, queue, timings and recording references; its contacts linked only where the reader may open them and the
 * archive holds them). Only for readers with the call-logs scope; an id out of scope,
 * of another tenant or unknown is the same 404. Personal data is masked without `see-unmasked-personal-data`;
 * every search and view is audited.
 */
export function archiveCallLogsRoutes(services: PortalServices): Router {
  const router = Router();
  router.get(
    '/call-logs',
    archiveListHandler(services, {
      routeId: 'call-logs.list',
      type: 'call-logs',
      path: '/call-logs',
      view: 'archive/call-logs',
      title: 'Call logs',
      noun: { one: 'call log', other: 'call logs' },
      fields: CALL_LOG_LIST_FIELDS,
      choices: { direction: CALL_DIRECTIONS, outcome: CALL_OUTCOMES },
      read: async (store, reader, filter, page) =>
        maskPage('call-logs', await store.listRows(reader.access, 'call-logs', filter, page), { unmasked: reader.unmasked }),
    }),
  );

  router.get('/call-logs/:id', async (req, res) => {
    const reader = authorizedReader(res, 'call-logs.detail');
    const store = archiveStoreOf(services);
    const id = String(req.params.id);
    const call = await findInScope(() => store.getCallLog(reader.access, id), 'call');
    const contacts = await recordReferences(store, reader, 'contacts', [call.from.contactId, call.to.contactId]);
    await auditArchiveRead(services, req, reader, { action: 'record.viewed', type: 'call-logs', id });
    res.render('archive/call-log', {
      title: 'Call',
      backHref: listReturnHref('/call-logs', CALL_LOG_LIST_FIELDS, req.query.list),
      call: maskRecord('call-logs', call, { unmasked: reader.unmasked }),
      masked: !reader.unmasked,
      contacts,
    });
  });
  return router;
}
