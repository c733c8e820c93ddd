import { z } from 'zod';
import {
  checkRecordTimestamps,
  e164Schema,
  instantMs,
  isoInstantSchema,
  languageTagSchema,
  nameSchema,
  recordBaseShape,
  requireNotBefore,
  shortTextSchema,
  sourceIdSchema,
  tagsSchema,
  timeZoneSchema,
} from './record-fields.js';

export const EMAIL_TYPES = ['work', 'home', 'other'] as const;
export const PHONE_TYPES = ['mobile', 'work', 'home', 'fax', 'other'] as const;
export const SOCIAL_NETWORKS = ['facebook', 'instagram', 'line', 'linkedin', 'twitter', 'wechat', 'whatsapp', 'other'] as const;

/** Most entries `externalIds` and `customFields` may hold. */
export const MAX_MAP_ENTRIES = 100;

const mapKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'keys may use A-Z, a-z, 0-9, "_", ".", ":" and "-"')
  .refine((key) => key !== '__proto__', 'must not be __proto__');

function boundedMap<V extends z.ZodType>(value: V) {
  return z
    .record(mapKeySchema, value)
    .refine((map) => Object.keys(map).length <= MAX_MAP_ENTRIES, `must have at most ${MAX_MAP_ENTRIES} entries`)
    .default({});
}

export const contactEmailSchema = z.strictObject({
  type: z.enum(EMAIL_TYPES),
  value: z.email({ message: 'must be an email address such as ana@example.com' }).max(254),
});

export const contactPhoneSchema = z.strictObject({
  type: z.enum(PHONE_TYPES),
  e164: e164Schema,
});

export const contactAddressSchema = z.strictObject({
  street: shortTextSchema.optional(),
  city: nameSchema.optional(),
  region: nameSchema.optional(),
  postalCode: z.string().min(1, 'must not be empty').max(20).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as JP')
    .optional(),
});

export const contactSocialSchema = z.strictObject({
  network: z.enum(SOCIAL_NETWORKS),
  handle: nameSchema,
});

export const customFieldValueSchema = z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]);

/**
 * A contact (schema v1), shaped after CRM-style exports (Zendesk users, Genesys external contacts).
 *
 * Cross-field rules: `updatedAt >= createdAt`; `deletedAt` not before `createdAt` and not after `updatedAt`
 * (deleting a contact updates it); `mergedInto` names another contact, never itself.
 *
 * @example
 * const result = contactSchema.safeParse(raw);
 * if (result.success) console.log(result.data.emails.map((email) => email.value));
 */
export const contactSchema = z
  .strictObject({
    ...recordBaseShape,
    displayName: nameSchema,
    firstName: nameSchema.optional(),
    lastName: nameSchema.optional(),
    title: nameSchema.optional(),
    organization: nameSchema.optional(),
    emails: z.array(contactEmailSchema).max(20).default([]),
    phones: z.array(contactPhoneSchema).max(20).default([]),
    address: contactAddressSchema.optional(),
    timezone: timeZoneSchema.optional(),
    language: languageTagSchema.optional(),
    social: z.array(contactSocialSchema).max(20).default([]),
    externalIds: boundedMap(z.string().min(1, 'must not be empty').max(200)),
    customFields: boundedMap(customFieldValueSchema),
    tags: tagsSchema,
    ownerStaffId: sourceIdSchema.optional(),
    mergedInto: sourceIdSchema.optional(),
    deletedAt: isoInstantSchema.optional(),
  })
  .superRefine((contact, ctx) => {
    checkRecordTimestamps(contact, ctx);
    requireNotBefore(ctx, { path: ['deletedAt'], value: contact.deletedAt }, { name: 'createdAt', value: contact.createdAt });
    if (contact.deletedAt !== undefined && instantMs(contact.deletedAt) > instantMs(contact.updatedAt)) {
      ctx.addIssue({ code: 'custom', path: ['deletedAt'], message: 'must not be after updatedAt (deleting a contact updates it)' });
    }
    if (contact.mergedInto !== undefined && contact.mergedInto === contact.id) {
      ctx.addIssue({ code: 'custom', path: ['mergedInto'], message: 'must name another contact, not this one' });
    }
  });

/** A validated contact. */
export type Contact = z.output<typeof contactSchema>;
