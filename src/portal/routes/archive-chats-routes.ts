import { Router } from 'express';
import { findInScope } from '../../access/access-errors.js';
import { hasErrorCode } from '../../errors.js';
import { maskPage, maskRecord } from '../../masking/mask-record.js';
import { CHAT_CHANNELS } from '../../records/chat-schema.js';
import type { PortalServices } from '../portal-services.js';
import { archiveListHandler } from './archive-list-page.js';
import { listReturnHref, pagerLinks, parseListQuery } from './archive-list-query.js';
import { archiveStoreOf, auditArchiveRead, authorizedReader } from './archive-reader.js';
import { referencesFrom } from './archive-record-references.js';
import { archiveViewFormat } from './archive-view-format.js';

/** The URL filters (and the time order, `order`: newest or oldest first) of the chat list (the archive store's chat filter). */
export const CHAT_LIST_FIELDS = ['from', 'to', 'channel', 'participant', 'tag', 'text', 'order'] as const;

/**
 * The canonical URL of a chat-list URL that searches with `q` (the name search boxes commonly use): `q` becomes the
 * `text` filter (joined to a `text` already there), every other parameter is kept. `undefined` without `q`.
 *
 * @example
 * chatSearchAliasTarget('/chats?q=%E9%80%80%E6%AC%BE&channel=web'); // '/chats?channel=web&text=%E9%80%80%E6%AC%BE'
 */
export function chatSearchAliasTarget(originalUrl: string): string | undefined {
  const url = new URL(originalUrl, 'http://portal.invalid');
  const aliased = url.searchParams.getAll('q');
  if (aliased.length === 0) return undefined;
  const words = [...url.searchParams.getAll('text'), ...aliased].map((value) => value.trim()).filter((value) => value !== '');
  url.searchParams.delete('q');
  url.searchParams.delete('text');
  if (words.length > 0) url.searchParams.set('text', words.join(' '));
  return `/chats${url.search}`;
}

/** Messages per transcript page. */
export const TRANSCRIPT_PAGE_SIZE = 100;

/**
 * Chats: `/chats` (filters in the URL, newest first, keyset pages; `?q=` redirects to the `text` filter) and `/chats/:id` (the chat as a readable
 * transcript, one page of messages at a time, `?after=` carrying the cursor). Only for readers with the chats scope;
 * an id out of scope, of another tenant or unknown is the same 404. Personal data is masked without
 * `see-unmasked-personal-data`; every search and view (each transcript page) is audited.
 */
export function archiveChatsRoutes(services: PortalServices): Router {
  const router = Router();
  router.get('/chats', (req, res, next) => {
    const target = chatSearchAliasTarget(req.originalUrl);
    if (target === undefined) next();
    else res.redirect(302, target);
  });
  router.get(
    '/chats',
    archiveListHandler(services, {
      routeId: 'chats.list',
      type: 'chats',
      path: '/chats',
      view: 'archive/chats',
      title: 'Chats',
      noun: { one: 'chat', other: 'chats' },
      fields: CHAT_LIST_FIELDS,
      choices: { channel: CHAT_CHANNELS },
      read: async (store, reader, filter, page) => maskPage('chats', await store.listRows(reader.access, 'chats', filter, page), { unmasked: reader.unmasked }),
    }),
  );

  router.get('/chats/:id', async (req, res) => {
    const reader = authorizedReader(res, 'chats.detail');
    const store = archiveStoreOf(services);
    const id = String(req.params.id);
    // `list`: the chat list page to return to (checked by listReturnHref); the rest pages the transcript
    const { list, ...transcriptQuery } = req.query;
    const backHref = listReturnHref('/chats', CHAT_LIST_FIELDS, list);
    const query = parseListQuery(transcriptQuery, []);
    const problems = [...query.problems];
    const cursor = query.position.after;
    const transcriptPage = problems.length === 0 ? { limit: TRANSCRIPT_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) } : undefined;
    // the chat, its transcript page and its contacts' links in one round trip; without the transcript when the
    // page asked for is not one
    const view = await findInScope(async () => {
      try {
        return await store.chatView(reader.access, id, transcriptPage);
      } catch (err) {
        if (!hasErrorCode(err, 'ERR_ARCHIVE_CURSOR_INVALID')) throw err;
        problems.push((err as Error).message);
        return store.chatView(reader.access, id, undefined);
      }
    }, 'chat');
    const { chat, transcript } = view;
    const contacts = referencesFrom(
      reader,
      'contacts',
      chat.participants.map((participant) => participant.contactId),
      view.contactsHeld,
    );
    await auditArchiveRead(services, req, reader, {
      action: 'record.viewed',
      type: 'chats',
      id,
      details: { messages: transcript.items.length, page: query.position.after === undefined ? 1 : query.position.back.length + 2 },
    });
    const masking = { unmasked: reader.unmasked };
    const shown = maskRecord('chats', chat, masking);
    const senders = Object.fromEntries(shown.participants.map((participant) => [participant.id, participant.displayName]));
    const path = archiveViewFormat.link('/chats', id);
    res.status(problems.length === 0 ? 200 : 400).render('archive/chat', {
      title: 'Chat',
      chat: shown,
      messages: maskPage('chat-messages', transcript, masking).items,
      senders,
      problems,
      backHref,
      pager: pagerLinks(path, backHref === '/chats' ? {} : { list: backHref.slice('/chats?'.length) }, query.position, transcript.nextCursor),
      masked: !reader.unmasked,
      contacts,
    });
  });
  return router;
}
