import { z } from 'zod';
import {
  byteCountSchema,
  checkRecordTimestamps,
  e164Schema,
  instantMs,
  isoInstantSchema,
  nameSchema,
  recordBaseShape,
  requireNotBefore,
  secondsSchema,
  sha256Schema,
  sourceIdSchema,
  tagsSchema,
  uriSchema,
} from './record-fields.js';

export const CALL_DIRECTIONS = ['inbound', 'outbound', 'internal'] as const;
export const CALL_INITIATIONS = ['inbound', 'outbound', 'transfer', 'callback', 'api'] as const;
export const CALL_OUTCOMES = ['answered', 'missed', 'abandoned', 'voicemail', 'failed'] as const;
export const DISCONNECT_REASONS = [
  'customer-disconnect',
  'agent-disconnect',
  'third-party-disconnect',
  'transferred',
  'telecom-problem',
  'flow-disconnect',
  'expired',
  'other',
] as const;
export const TRANSFER_TYPES = ['blind', 'warm', 'conference'] as const;

/** One end of a call: a number, and who it belongs to when known (a contact or a staff member, never both). */
export const callPartySchema = z
  .strictObject({
    e164: e164Schema,
    displayName: nameSchema.optional(),
    contactId: sourceIdSchema.optional(),
    staffId: sourceIdSchema.optional(),
  })
  .superRefine((party, ctx) => {
    if (party.contactId !== undefined && party.staffId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['staffId'], message: 'a party has a contactId or a staffId, not both' });
    }
  });

export const callQueueSchema = z.strictObject({
  id: sourceIdSchema,
  name: nameSchema,
  waitSec: secondsSchema,
});

export const callAgentSchema = z.strictObject({
  staffId: sourceIdSchema,
  name: nameSchema,
  talkSec: secondsSchema,
  holdSec: secondsSchema,
  wrapUpSec: secondsSchema,
});

export const callTransferSchema = z
  .strictObject({
    toE164: e164Schema.optional(),
    toQueueId: sourceIdSchema.optional(),
    type: z.enum(TRANSFER_TYPES),
  })
  .superRefine((transfer, ctx) => {
    if (transfer.toE164 === undefined && transfer.toQueueId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['toE164'], message: 'a transfer needs toE164 or toQueueId' });
    }
  });

/** A reference to a call recording kept elsewhere; the archive never carries audio. */
export const callRecordingSchema = z.strictObject({
  id: sourceIdSchema,
  uri: uriSchema,
  durationSec: secondsSchema,
  sizeBytes: byteCountSchema,
  sha256: sha256Schema,
});

/**
 * A call log (schema v1), shaped after contact-center exports such as Amazon Connect contact records.
 *
 * Cross-field rules: `updatedAt >= createdAt`, `endedAt >= startedAt`, `answeredAt` present exactly when
 * `outcome` is `answered` and then between `startedAt` and `endedAt`.
 *
 * @example
 * const result = callLogSchema.safeParse(raw);
 * if (result.success) console.log(result.data.outcome);
 */
export const callLogSchema = z
  .strictObject({
    ...recordBaseShape,
    direction: z.enum(CALL_DIRECTIONS),
    initiation: z.enum(CALL_INITIATIONS),
    from: callPartySchema,
    to: callPartySchema,
    callerId: e164Schema,
    queue: callQueueSchema.optional(),
    agents: z.array(callAgentSchema).max(50).default([]),
    startedAt: isoInstantSchema,
    answeredAt: isoInstantSchema.optional(),
    endedAt: isoInstantSchema,
    durationSec: secondsSchema,
    ringSec: secondsSchema,
    outcome: z.enum(CALL_OUTCOMES),
    disconnectReason: z.enum(DISCONNECT_REASONS),
    transfer: callTransferSchema.optional(),
    wrapUpCode: z.string().min(1, 'must not be empty').max(100).optional(),
    recordings: z.array(callRecordingSchema).max(50).default([]),
    tags: tagsSchema,
    notes: z.string().max(10_000).optional(),
  })
  .superRefine((call, ctx) => {
    checkRecordTimestamps(call, ctx);
    requireNotBefore(ctx, { path: ['endedAt'], value: call.endedAt }, { name: 'startedAt', value: call.startedAt });
    if (call.outcome === 'answered' && call.answeredAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['answeredAt'], message: 'is required when outcome is "answered"' });
    }
    if (call.outcome !== 'answered' && call.answeredAt !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['answeredAt'],
        message: `is only allowed when outcome is "answered", not "${call.outcome}"`,
      });
    }
    if (call.answeredAt !== undefined) {
      const answered = instantMs(call.answeredAt);
      if (answered < instantMs(call.startedAt) || answered > instantMs(call.endedAt)) {
        ctx.addIssue({ code: 'custom', path: ['answeredAt'], message: 'must lie between startedAt and endedAt' });
      }
    }
  });

/** A validated call log. */
export type CallLog = z.output<typeof callLogSchema>;
