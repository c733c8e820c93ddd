import { Router } from 'express';
import { findInScope } from '../../access/access-errors.js';
import { archiveAccessFor, canRead } from '../../access/permissions.js';
import { maskPage, maskRecord } from '../../masking/mask-record.js';
import type { CallLog } from '../../records/call-log-schema.js';
import type { Contact } from '../../records/contact-schema.js';
import type { ArchivedChat } from '../../store/archive/archive-documents.js';
import type { ArchiveStore } from '../../store/archive/archive-store.js';
import type { PortalServices } from '../portal-services.js';
import { archiveListHandler } from './archive-list-page.js';
import { archiveStoreOf, auditArchiveRead, authorizedReader, type ArchiveReader } from './archive-reader.js';
import { archiveViewFormat } from './archive-view-format.js';

/** The URL filters of the contact list (the archive store's contact filter). */
export const CONTACT_LIST_FIELDS = ['name', 'email', 'phone', 'tag'] as const;

/** Most related calls and chats shown on a contact's page. */
export const RELATED_LIMIT = 20;
const MAX_PHONES_SEARCHED = 5;

/**
 * The calls a contact took part in, newest first: calls with one of the contact's numbers (at most
 * {@link MAX_PHONES_SEARCHED} numbers), read with an access narrowed to call logs. Empty without that scope.
 */
async function relatedCalls(store: ArchiveStore, reader: ArchiveReader, contact: Contact): Promise<CallLog[]> {
  if (!canRead(reader.principal, 'call-logs')) return [];
  const access = archiveAccessFor(reader.principal, ['call-logs']);
  const found = new Map<string, CallLog>();
  for (const phone of contact.phones.slice(0, MAX_PHONES_SEARCHED)) {
    const page = await store.listCallLogs(access, { number: phone.e164 }, { limit: RELATED_LIMIT });
    for (const call of page.items) {
      const numbers = [call.from.e164, call.to.e164, call.callerId, call.transfer?.toE164];
      if (numbers.includes(phone.e164) || call.from.contactId === contact.id || call.to.contactId === contact.id) found.set(call.id, call);
    }
  }
  return [...found.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1)).slice(0, RELATED_LIMIT);
}

/** The chats a contact took part in (as a participant), newest first. Empty without the chats scope. */
async function relatedChats(store: ArchiveStore, reader: ArchiveReader, contact: Contact): Promise<ArchivedChat[]> {
  if (!canRead(reader.principal, 'chats')) return [];
  return (await store.listChats(archiveAccessFor(reader.principal, ['chats']), { participant: contact.id }, { limit: RELATED_LIMIT })).items;
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
      fields: CONTACT_LIST_FIELDS,
      read: async (store, reader, filter, page) => maskPage('contacts', await store.listContacts(reader.access, filter, page), { unmasked: reader.unmasked }),
    }),
  );

  router.get('/contacts/:id', async (req, res) => {
    const reader = authorizedReader(res, 'contacts.detail');
    const store = archiveStoreOf(services);
    const id = String(req.params.id);
    const contact = await findInScope(() => store.getContact(reader.access, id), 'contact');
    const [calls, chats] = await Promise.all([relatedCalls(store, reader, contact), relatedChats(store, reader, contact)]);
    await auditArchiveRead(services, req, reader, { action: 'record.viewed', type: 'contacts', id, details: { relatedCalls: calls.length, relatedChats: chats.length } });
    const masking = { unmasked: reader.unmasked };
    res.render('archive/contact', {
      title: 'Contact',
      contact: maskRecord('contacts', contact, masking),
      calls: maskPage('call-logs', { items: calls, nextCursor: null }, masking).items,
      chats: maskPage('chats', { items: chats, nextCursor: null }, masking).items,
      callsReadable: canRead(reader.principal, 'call-logs'),
      chatsReadable: canRead(reader.principal, 'chats'),
      masked: !reader.unmasked,
      fmt: archiveViewFormat,
    });
  });
  return router;
}
