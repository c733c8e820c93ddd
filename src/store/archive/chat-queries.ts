import type { Document, IndexDescription } from 'mongodb';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import { CHAT_CHANNELS } from '../../records/chat-schema.js';
import { filterIdSchema, filterTagSchema, idOrNameCondition, timeRangeCondition, timeRangeShape } from './archive-filters.js';
import { legacyTextWords, MAX_QUERY_TEXT_TOKENS, searchTextTokens, TEXT_TOKEN_RULE_VERSION } from './text-search-tokens.js';

/**
 * Filters of the chat list. `participant` is a participant id, staff id or contact id, or the start of a participant's
 * or the visitor's name (`name-search-keys.ts`); `text` finds chats whose
 * transcript holds every search token of it (`text-search-tokens.ts`): words by their stem, case and diacritics
 * ignored; in Chinese, Japanese, Korean and Thai any two or more consecutive characters.
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
  { key: { 'ix.participantNames': 1, 'ix.at': -1, _id: -1 }, name: 'participant_name_at' },
  { key: { tags: 1, 'ix.at': -1, _id: -1 }, name: 'tag_at' },
  { key: { 'ix.textTokens': 1, 'ix.at': -1, _id: -1 }, name: 'text_token_at' },
  { key: { 'ix.words': 1, 'ix.at': -1, _id: -1 }, name: 'word_at' },
  { key: { 'ix.contactIds': 1 }, name: 'contact' },
  { key: { 'ix.updatedAt': 1 }, name: 'updated' },
];

/** Indexes of `chatMessages`: a transcript pages by `seq` within its chat. */
export const CHAT_MESSAGE_INDEXES: IndexDescription[] = [{ key: { chatId: 1, seq: 1, _id: 1 }, name: 'chat_seq' }];

/**
 * The condition of a text search: chats whose stored tokens hold every token of `text` by the current rule, and
 * chats imported before search tokens (no `ix.textTokensVersion`) whose words hold every word of it by the old rule.
 * `ERR_ARCHIVE_FILTER_INVALID` for a text without a token, or with more than {@link MAX_QUERY_TEXT_TOKENS}.
 */
function textCondition(text: string): Document {
  const tokens = searchTextTokens(text);
  if (tokens.length === 0) {
    throw new RetentionError(
      'ERR_ARCHIVE_FILTER_INVALID',
      'filter "text" needs at least one word of two letters or digits (in Chinese, Japanese, Korean or Thai: two characters)',
    );
  }
  if (tokens.length > MAX_QUERY_TEXT_TOKENS) {
    throw new RetentionError(
      'ERR_ARCHIVE_FILTER_INVALID',
      `filter "text" asks for ${tokens.length} search terms, more than ${MAX_QUERY_TEXT_TOKENS} (in Chinese, Japanese, Korean and Thai each pair of characters is one): search for fewer words`,
    );
  }
  const current = { 'ix.textTokensVersion': TEXT_TOKEN_RULE_VERSION, 'ix.textTokens': { $all: tokens } };
  const legacy = [...new Set(legacyTextWords(text))].slice(0, 10);
  if (legacy.length === 0) return current;
  return { $or: [current, { 'ix.textTokensVersion': { $exists: false }, 'ix.words': { $all: legacy } }] };
}

/** The MongoDB conditions of a validated chat filter. */
export function chatConditions(filter: z.output<typeof chatFilterSchema>): Document {
  const either = [
    ...(filter.participant ? [idOrNameCondition({ 'ix.participants': filter.participant }, 'ix.participantNames', filter.participant)] : []),
    ...(filter.text !== undefined ? [textCondition(filter.text)] : []),
  ];
  return {
    ...timeRangeCondition(filter),
    ...(filter.channel ? { channel: filter.channel } : {}),
    ...(filter.tag ? { tags: filter.tag } : {}),
    ...(either.length > 0 ? { $and: either } : {}),
  };
}
