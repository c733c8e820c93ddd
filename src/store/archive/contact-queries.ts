import type { Document, IndexDescription } from 'mongodb';
import { z } from 'zod';
import { filterTagSchema } from './archive-filters.js';
import { literalPrefixPattern, normalizePhonePrefix } from './phone-prefix.js';

/** Filters of the contact list; `name`, `email` and `phone` match the start (names: of the full name or any word of it). */
export const contactFilterSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  email: z.string().trim().min(1).max(254).optional(),
  phone: z.string().min(2).max(40).optional(),
  tag: filterTagSchema.optional(),
});

/** A contact filter as the caller gives it. */
export type ContactFilter = z.input<typeof contactFilterSchema>;

/** Indexes of `contacts`: one per filter, each ending in the list's sort (`ix.name`, `_id`). */
export const CONTACT_INDEXES: IndexDescription[] = [
  { key: { 'ix.name': 1, _id: 1 }, name: 'name' },
  { key: { 'ix.names': 1, 'ix.name': 1, _id: 1 }, name: 'names_name' },
  { key: { 'ix.emails': 1, 'ix.name': 1, _id: 1 }, name: 'email_name' },
  { key: { 'ix.numbers': 1, 'ix.name': 1, _id: 1 }, name: 'number_name' },
  { key: { tags: 1, 'ix.name': 1, _id: 1 }, name: 'tag_name' },
  { key: { 'ix.updatedAt': 1 }, name: 'updated' },
];

/** The MongoDB conditions of a validated contact filter. */
export function contactConditions(filter: z.output<typeof contactFilterSchema>): Document {
  const lower = (value: string) => value.normalize('NFKC').toLowerCase();
  return {
    ...(filter.name ? { 'ix.names': { $regex: literalPrefixPattern(lower(filter.name)) } } : {}),
    ...(filter.email ? { 'ix.emails': { $regex: literalPrefixPattern(lower(filter.email)) } } : {}),
    ...(filter.phone ? { 'ix.numbers': { $regex: literalPrefixPattern(normalizePhonePrefix(filter.phone, 'phone')) } } : {}),
    ...(filter.tag ? { tags: filter.tag } : {}),
  };
}
