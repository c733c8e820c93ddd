import type { Document, IndexDescription } from 'mongodb';
import { z } from 'zod';
import { CALL_DIRECTIONS, CALL_OUTCOMES } from '../../records/call-log-schema.js';
import { filterIdSchema, filterTagSchema, idOrNameCondition, timeRangeCondition, timeRangeShape } from './archive-filters.js';
import { literalPrefixPattern, normalizePhonePrefix } from './phone-prefix.js';

/**
 * Filters of the call-log list. `number` matches the start of any number of the call (from, to, caller id, transfer);
 * `agent` and `queue` are an id or the start of a name (`name-search-keys.ts`); `contact` is the id of a contact the
 * source linked to either end of the call, or the start of the name shown for a party that is not staff.
 */
export const callLogFilterSchema = z.strictObject({
  ...timeRangeShape,
  direction: z.enum(CALL_DIRECTIONS).optional(),
  outcome: z.enum(CALL_OUTCOMES).optional(),
  agent: filterIdSchema.optional(),
  queue: filterIdSchema.optional(),
  number: z.string().min(2).max(40).optional(),
  contact: filterIdSchema.optional(),
  tag: filterTagSchema.optional(),
});

/** A call-log filter as the caller gives it. */
export type CallLogFilter = z.input<typeof callLogFilterSchema>;

/** Indexes of `callLogs`: one per filter, each ending in the list's sort (`ix.at` desc, `_id` desc). */
export const CALL_LOG_INDEXES: IndexDescription[] = [
  { key: { 'ix.at': -1, _id: -1 }, name: 'at' },
  { key: { direction: 1, 'ix.at': -1, _id: -1 }, name: 'direction_at' },
  { key: { outcome: 1, 'ix.at': -1, _id: -1 }, name: 'outcome_at' },
  { key: { 'agents.staffId': 1, 'ix.at': -1, _id: -1 }, name: 'agent_at' },
  { key: { 'queue.id': 1, 'ix.at': -1, _id: -1 }, name: 'queue_at' },
  { key: { 'ix.numbers': 1, 'ix.at': -1, _id: -1 }, name: 'number_at' },
  { key: { tags: 1, 'ix.at': -1, _id: -1 }, name: 'tag_at' },
  { key: { 'ix.contactIds': 1, 'ix.at': -1, _id: -1 }, name: 'contact_at' },
  { key: { 'ix.agentNames': 1, 'ix.at': -1, _id: -1 }, name: 'agent_name_at' },
  { key: { 'ix.queueNames': 1, 'ix.at': -1, _id: -1 }, name: 'queue_name_at' },
  { key: { 'ix.contactNames': 1, 'ix.at': -1, _id: -1 }, name: 'contact_name_at' },
  { key: { 'ix.updatedAt': 1 }, name: 'updated' },
];

/** The MongoDB conditions of a validated call-log filter. */
export function callLogConditions(filter: z.output<typeof callLogFilterSchema>): Document {
  const either = [
    ...(filter.agent ? [idOrNameCondition({ 'agents.staffId': filter.agent }, 'ix.agentNames', filter.agent)] : []),
    ...(filter.queue ? [idOrNameCondition({ 'queue.id': filter.queue }, 'ix.queueNames', filter.queue)] : []),
    ...(filter.contact ? [idOrNameCondition({ 'ix.contactIds': filter.contact }, 'ix.contactNames', filter.contact)] : []),
  ];
  return {
    ...timeRangeCondition(filter),
    ...(filter.direction ? { direction: filter.direction } : {}),
    ...(filter.outcome ? { outcome: filter.outcome } : {}),
    ...(filter.number ? { 'ix.numbers': { $regex: literalPrefixPattern(normalizePhonePrefix(filter.number)) } } : {}),
    ...(filter.tag ? { tags: filter.tag } : {}),
    ...(either.length > 0 ? { $and: either } : {}),
  };
}
