import { z } from 'zod';
import {
  byteCountSchema,
  checkRecordTimestamps,
  instantMs,
  isoInstantSchema,
  languageTagSchema,
  nameSchema,
  recordBaseShape,
  type RefineContext,
  requireNotBefore,
  shortTextSchema,
  sourceIdSchema,
  tagsSchema,
  uriSchema,
} from './record-fields.js';

export const CHAT_CHANNELS = ['web', 'app', 'whatsapp', 'line', 'facebook', 'wechat', 'sms', 'email'] as const;
/** `pending`: waiting for an agent; `missed`: ended without an agent ever joining. */
export const CHAT_STATUSES = ['open', 'pending', 'closed', 'missed'] as const;
export const PARTICIPANT_ROLES = ['customer', 'agent', 'bot', 'system'] as const;
export const MESSAGE_TYPES = ['text', 'attachment', 'event'] as const;
export const CHAT_EVENT_KINDS = ['participant-joined', 'participant-left', 'transferred', 'closed', 'reopened', 'rated'] as const;

/** Longest transcript a single chat record may carry. */
export const MAX_CHAT_MESSAGES = 10_000;

const CLOSED_STATUSES: ReadonlySet<string> = new Set(['closed', 'missed']);

export const chatVisitorSchema = z.strictObject({
  name: nameSchema.optional(),
  locale: languageTagSchema.optional(),
  location: shortTextSchema.optional(),
});

export const chatParticipantSchema = z
  .strictObject({
    id: sourceIdSchema,
    role: z.enum(PARTICIPANT_ROLES),
    staffId: sourceIdSchema.optional(),
    contactId: sourceIdSchema.optional(),
    displayName: nameSchema,
    joinedAt: isoInstantSchema,
    leftAt: isoInstantSchema.optional(),
  })
  .superRefine((participant, ctx) => {
    if (participant.staffId !== undefined && participant.contactId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['contactId'], message: 'a participant has a staffId or a contactId, not both' });
    }
    requireNotBefore(ctx, { path: ['leftAt'], value: participant.leftAt }, { name: 'joinedAt', value: participant.joinedAt });
  });

export const chatAttachmentSchema = z.strictObject({
  id: sourceIdSchema,
  name: z.string().min(1, 'must not be empty').max(255),
  mimeType: z
    .string()
    .max(255)
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type such as image/png'),
  sizeBytes: byteCountSchema,
  uri: uriSchema,
});

export const chatEventSchema = z.strictObject({
  kind: z.enum(CHAT_EVENT_KINDS),
  detail: shortTextSchema.optional(),
});

export const chatMessageSchema = z
  .strictObject({
    id: sourceIdSchema,
    seq: z.number().int().min(0, 'must be >= 0').max(Number.MAX_SAFE_INTEGER),
    sentAt: isoInstantSchema,
    senderId: sourceIdSchema,
    senderRole: z.enum(PARTICIPANT_ROLES),
    type: z.enum(MESSAGE_TYPES),
    text: z.string().max(20_000).optional(),
    attachments: z.array(chatAttachmentSchema).max(20).default([]),
    event: chatEventSchema.optional(),
  })
  .superRefine((message, ctx) => {
    if (message.type === 'text' && (message.text === undefined || message.text.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'is required for a message of type "text"' });
    }
    if (message.type === 'attachment' && message.attachments.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['attachments'], message: 'needs at least one entry for type "attachment"' });
    }
    if (message.type === 'event' && message.event === undefined) {
      ctx.addIssue({ code: 'custom', path: ['event'], message: 'is required for a message of type "event"' });
    }
    if (message.type !== 'event' && message.event !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['event'], message: `is only allowed for type "event", not "${message.type}"` });
    }
  });

type ChatShape = {
  startedAt: string;
  closedAt?: string | undefined;
  status: string;
  participants: { id: string; role: string }[];
  messages: { id: string; seq: number; sentAt: string; senderId: string; senderRole: string }[];
};

function checkTranscript(chat: ChatShape, ctx: RefineContext): void {
  const roleById = new Map<string, string>();
  chat.participants.forEach((participant, index) => {
    if (roleById.has(participant.id)) {
      ctx.addIssue({ code: 'custom', path: ['participants', index, 'id'], message: `duplicate participant id "${participant.id}"` });
    }
    roleById.set(participant.id, participant.role);
  });
  const messageIds = new Set<string>();
  const started = instantMs(chat.startedAt);
  let previousSeq = -1;
  chat.messages.forEach((message, index) => {
    if (messageIds.has(message.id)) {
      ctx.addIssue({ code: 'custom', path: ['messages', index, 'id'], message: `duplicate message id "${message.id}"` });
    }
    messageIds.add(message.id);
    if (index > 0 && message.seq <= previousSeq) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages', index, 'seq'],
        message: `must be greater than the previous message's seq (${previousSeq})`,
      });
    }
    previousSeq = message.seq;
    const role = roleById.get(message.senderId);
    if (role === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages', index, 'senderId'],
        message: `"${message.senderId}" is not one of the chat's participants`,
      });
    } else if (role !== message.senderRole) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages', index, 'senderRole'],
        message: `must match the sender's participant role "${role}"`,
      });
    }
    if (instantMs(message.sentAt) < started) {
      ctx.addIssue({ code: 'custom', path: ['messages', index, 'sentAt'], message: 'must not be before startedAt' });
    }
  });
}

/**
 * A chat room and its transcript (schema v1), shaped after Genesys conversations, Twilio Conversations and
 * Zendesk chats.
 *
 * Cross-field rules: `updatedAt >= createdAt`; `closedAt` present exactly when `status` is `closed` or `missed`,
 * and not before `startedAt`; participant and message ids unique; message `seq` strictly increasing; every
 * `senderId` names a participant whose role equals `senderRole`; no message before `startedAt`.
 *
 * @example
 * const result = chatSchema.safeParse(raw);
 * if (result.success) console.log(result.data.messages.length);
 */
export const chatSchema = z
  .strictObject({
    ...recordBaseShape,
    channel: z.enum(CHAT_CHANNELS),
    status: z.enum(CHAT_STATUSES),
    visitor: chatVisitorSchema.default({}),
    participants: z.array(chatParticipantSchema).min(1, 'needs at least one participant').max(200),
    startedAt: isoInstantSchema,
    closedAt: isoInstantSchema.optional(),
    messages: z.array(chatMessageSchema).max(MAX_CHAT_MESSAGES).default([]),
    tags: tagsSchema,
    rating: z.number().int().min(1, 'must be 1-5').max(5, 'must be 1-5').optional(),
  })
  .superRefine((chat, ctx) => {
    checkRecordTimestamps(chat, ctx);
    const closes = CLOSED_STATUSES.has(chat.status);
    if (closes && chat.closedAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['closedAt'], message: `is required when status is "${chat.status}"` });
    }
    if (!closes && chat.closedAt !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['closedAt'], message: `is not allowed when status is "${chat.status}"` });
    }
    requireNotBefore(ctx, { path: ['closedAt'], value: chat.closedAt }, { name: 'startedAt', value: chat.startedAt });
    checkTranscript(chat, ctx);
  });

/** A validated chat with its transcript. */
export type Chat = z.output<typeof chatSchema>;
/** One message of a chat transcript. */
export type ChatMessage = Chat['messages'][number];
/** One participant of a chat. */
export type ChatParticipant = Chat['participants'][number];
