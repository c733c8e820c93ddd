import { Router } from 'express';
import { findInScope } from '../../access/access-errors.js';
import { archiveAccessFor, canRead } from '../../access/permissions.js';
import { maskPage, maskRecord } from '../../masking/mask-record.js';
import type { CallLog } from '../../records/call-log-schema.js';
import type { Contact } from '../../records/contact-schema.js';
import type { ArchivedChat } from '../../store/archive/archive-documents.js';
import type { Page } from '../../store/archive/archive-filters.js';
import type { ArchiveStore } from '../../store/archive/archive-store.js';
import type { PortalServices } from '../portal-services.js';
import { archiveListHandler } from './archive-list-page.js';
import { listReturnHref } from './archive-list-query.js';
import { archiveStoreOf, auditArchiveRead, authorizedReader, type ArchiveReader } from './archive-reader.js';
import { recordReferences } from './archive-record-references.js';

/** The URL filters of the contact list (the archive store's contact filter). */
export const CONTACT_LIST_FIELDS = ['name', 'email', 'phone', 'tag'] as const;

/** Most related calls and chats shown on a contact's page; the page links to the full lists beyond that. */
export const RELATED_LIMIT = 20;

/** The newest calls and chats a contact took part in, each list read only when the reader holds its scope. */
interface RelatedRecords {
  calls: Page<CallLog>;
  chats: Page<ArchivedChat>;
}

const NONE = { items: [], nextCursor: null };

/**
 * The calls the source linked to the contact (either end of the call), read with an access narrowed to call logs,
 * and the chats it took part in as a participant, read with an access narrowed to chats: newest first, at most
 * {@link RELATED_LIMIT} each. A type outside the reader's scopes is not read at all.
 */
async function relatedRecords(store: ArchiveStore, reader: ArchiveReader, contact: Contact): Promise<RelatedRecords> {
  const page = { limit: RELATED_LIMIT };
  const [calls, chats] = await Promise.all([
    canRead(reader.principal, 'call-logs') ? store.listCallLogs(archiveAccessFor(reader.principal, ['call-logs']), { contact: contact.id }, page) : NONE,
    canRead(reader.principal, 'chats') ? store.listChats(archiveAccessFor(reader.principal, ['chats']), { participant: contact.id }, page) : NONE,
  ]);
  return { calls, chats };
}

/**
 * Contacts: `/contacts` (filters in the URL, by name, keyset pages) and `/contacts/:id` (one contact with the calls
 * and chats it is part of, each only within the reader's scopes). Only for readers with the contacts scope; an id
 * out of scope, of another tenant or unknown is the same 404. Personal data is masked without
 * `see-unmasked-personal-data`; every search and view is audited.
 */
export function archiveContactsRoutes(services: PortalServices): Router {
  const router = Router();
  router.get(
    '/contacts',
    archiveListHandler(services, {
      routeId: 'contacts.list',
      type: 'contacts',
      path: '/contacts',
      view: 'archive/contacts',
      title: 'Contacts',
      noun: { one: 'contact', other: 'contacts' },
      fields: CONTACT_LIST_FIELDS,
      read: async (store, reader, filter, page) =>
        maskPage('contacts', await store.listRows(reader.access, 'contacts', filter, page), { unmasked: reader.unmasked }),
    }),
  );

  router.get('/contacts/:id', async (req, res) => {
    const reader = authorizedReader(res, 'contacts.detail');
    const store = archiveStoreOf(services);
    const id = String(req.params.id);
    const contact = await findInScope(() => store.getContact(reader.access, id), 'contact');
    const [{ calls, chats }, contacts] = await Promise.all([
      relatedRecords(store, reader, contact),
      recordReferences(store, reader, 'contacts', [contact.mergedInto]),
    ]);
    await auditArchiveRead(services, req, reader, {
      action: 'record.viewed',
      type: 'contacts',
      id,
      details: { relatedCalls: calls.items.length, relatedChats: chats.items.length },
    });
    const masking = { unmasked: reader.unmasked };
    res.render('archive/contact', {
      title: 'Contact',
      backHref: listReturnHref('/contacts', CONTACT_LIST_FIELDS, req.query.list),
      contact: maskRecord('contacts', contact, masking),
      contacts,
      calls: maskPage('call-logs', calls, masking).items,
      chats: maskPage('chats', chats, masking).items,
      moreCalls: calls.nextCursor === null ? undefined : `/call-logs?${new URLSearchParams({ contact: contact.id }).toString()}`,
      moreChats: chats.nextCursor === null ? undefined : `/chats?${new URLSearchParams({ participant: contact.id }).toString()}`,
      callsReadable: canRead(reader.principal, 'call-logs'),
      chatsReadable: canRead(reader.principal, 'chats'),
      masked: !reader.unmasked,
    });
  });
  return router;
}
