import { z } from 'zod';
import { RetentionError } from '../../errors.js';

/**
 * The lists that page with a keyset cursor; a cursor of one list is refused by another. A list sorted oldest first
 * is a list of its own (`call-logs-oldest`), so a cursor never pages in the other direction.
 */
export const CURSOR_LISTS = ['call-logs', 'call-logs-oldest', 'chats', 'chats-oldest', 'contacts', 'transcript'] as const;
export type CursorList = (typeof CURSOR_LISTS)[number];

/** The position after the last item of a page: its sort key and its `_id`, and for a transcript the chat. */
export interface KeysetPosition {
  list: CursorList;
  key: string | number;
  id: string;
  chatId?: string;
}

const MAX_CURSOR_LENGTH = 1_024;

const payloadSchema = z.strictObject({
  v: z.literal(1),
  l: z.enum(CURSOR_LISTS),
  k: z.union([z.string().max(300), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]),
  i: z.string().min(1).max(300),
  c: z.string().min(1).max(200).optional(),
});

function invalidCursor(reason: string): RetentionError {
  return new RetentionError('ERR_ARCHIVE_CURSOR_INVALID', `the page cursor is invalid (${reason}); start again from the first page`);
}

/**
 * An opaque cursor (base64url JSON) for the position after the last item of a page.
 *
 * @example
 * encodeCursor({ list: 'chats', key: '2026-11-23T17:00:00.000Z', id: 'chat-1' }); // 'eyJ2IjoxLC…'
 */
export function encodeCursor(position: KeysetPosition): string {
  const payload = { v: 1, l: position.list, k: position.key, i: position.id, ...(position.chatId !== undefined ? { c: position.chatId } : {}) };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/**
 * Decodes and validates a cursor for `list`: `ERR_ARCHIVE_CURSOR_INVALID` for anything that is not a cursor this
 * code produced for that list (wrong shape, wrong list, wrong chat, a key of the wrong type).
 */
export function decodeCursor(cursor: unknown, list: CursorList, keyKind: 'instant' | 'string' | 'number', chatId?: string): KeysetPosition {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor('not a cursor string');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not readable');
  }
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) throw invalidCursor('unexpected content');
  const { l, k, i, c } = parsed.data;
  if (l !== list) throw invalidCursor(`it belongs to the ${l} list`);
  if (c !== chatId) throw invalidCursor('it belongs to another chat');
  if (keyKind === 'number' ? typeof k !== 'number' : typeof k !== 'string') throw invalidCursor('its key has the wrong type');
  if (keyKind === 'instant' && (typeof k !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(k) || Number.isNaN(Date.parse(k)))) {
    throw invalidCursor('its key is not an instant');
  }
  return { list: l, key: k, id: i, ...(c !== undefined ? { chatId: c } : {}) };
}
