import type { Document, IndexDescription } from 'mongodb';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import { CHAT_CHANNELS } from '../../records/chat-schema.js';
import { textWords } from './archive-documents.js';
import { filterIdSchema, filterTagSchema, timeRangeCondition, timeRangeShape } from './archive-filters.js';

/**
 * Filters of the chat list. `participant` is a participant id, staff id or contact id; `text` finds chats whose
 * transcript contains every word of it (whole words, case-insensitive).
 */
export const chatFilterSchema = z.strictObject({
  ...timeRangeShape,
  channel: z.enum(CHAT_CHANNELS).optional(),
  participant: filterIdSchema.optional(),
  tag: filterTagSchema.optional(),
  text: z.string().min(2).max(200).optional(),
});

/** A chat filter as the caller gives it. */
export type ChatFilter = z.input<typeof chatFilterSchema>;

/** Indexes of `chats`: one per filter, each ending in the list's sort (`ix.at` desc, `_id` desc). */
export const CHAT_INDEXES: IndexDescription[] = [
  { key: { 'ix.at': -1, _id: -1 }, name: 'at' },
  { key: { channel: 1, 'ix.at': -1, _id: -1 }, name: 'channel_at' },
  { key: { 'ix.participants': 1, 'ix.at': -1, _id: -1 }, name: 'participant_at' },
  { key: { tags: 1, 'ix.at': -1, _id: -1 }, name: 'tag_at' },
  { key: { 'ix.words': 1, 'ix.at': -1, _id: -1 }, name: 'word_at' },
  { key: { 'ix.contactIds': 1 }, name: 'contact' },
  { key: { 'ix.updatedAt': 1 }, name: 'updated' },
];

/** Indexes of `chatMessages`: a transcript pages by `seq` within its chat. */
export const CHAT_MESSAGE_INDEXES: IndexDescription[] = [{ key: { chatId: 1, seq: 1, _id: 1 }, name: 'chat_seq' }];

/** The MongoDB conditions of a validated chat filter. */
export function chatConditions(filter: z.output<typeof chatFilterSchema>): Document {
  let words: string[] = [];
  if (filter.text !== undefined) {
    words = [...new Set(textWords(filter.text))].slice(0, 10);
    if (words.length === 0) throw new RetentionError('ERR_ARCHIVE_FILTER_INVALID', 'filter "text" needs at least one word of two letters or digits');
  }
  return {
    ...timeRangeCondition(filter),
    ...(filter.channel ? { channel: filter.channel } : {}),
    ...(filter.participant ? { 'ix.participants': filter.participant } : {}),
    ...(filter.tag ? { tags: filter.tag } : {}),
    ...(words.length > 0 ? { 'ix.words': { $all: words } } : {}),
  };
}
