import type { Chat, ChatMessage } from '../../../src/records/chat-schema.js';

/** A phone number and an address written into chat messages: masked exports must not contain them. */
export const PLANTED_PHONE = '+49 171 2345678';
export const PLANTED_EMAIL = 'jane.doe@example.com';
/** Pieces of the planted values that must not appear anywhere in a masked file. */
export const PLANTED_PIECES = [PLANTED_PHONE, '171 2345678', '2345678', PLANTED_EMAIL, 'jane.doe@'];

/** An unmasked email address (a masked one has `•` next to the `@` and in the domain). */
export const UNMASKED_EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/;
/** An unmasked E.164 number. */
export const UNMASKED_E164 = /\+[1-9]\d{7,14}/;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The text of message `i` of {@link chatWithTranscript}: planted personal data, hostile CSV cells and filler. */
function messageText(i: number, fillerChars: number): string {
  if (i % 50 === 0) return `Call me at ${PLANTED_PHONE} or mail ${PLANTED_EMAIL}, thanks`;
  if (i % 7 === 0) return `=HYPERLINK("http://evil.example/?q=${i}","click"), "quoted"\nsecond line`;
  return `message ${i}: ${'lorem ipsum '.repeat(Math.ceil(fillerChars / 12)).slice(0, fillerChars)}`;
}

/**
 * A closed web chat of `tenantId` with `messages` transcript messages (customer and agent taking turns, `seq`
 * 1, 3, 5… so that order by `seq` is visible), every 50th carrying {@link PLANTED_PHONE} and {@link PLANTED_EMAIL},
 * every 7th a formula-like text with quotes, a comma and a line break; the visitor's name holds the address too.
 */
export function chatWithTranscript(options: { id: string; tenantId: string; tag: string; messages: number; startedAt: string; fillerChars?: number }): Chat {
  const start = Date.parse(options.startedAt);
  const messages: ChatMessage[] = Array.from({ length: options.messages }, (_, i) => ({
    id: `${options.id}-m${i}`,
    seq: i * 2 + 1,
    sentAt: iso(start + 1000 + i * 1000),
    senderId: i % 2 === 0 ? 'p1' : 'p2',
    senderRole: i % 2 === 0 ? 'customer' : 'agent',
    type: 'text',
    text: messageText(i, options.fillerChars ?? 40),
    attachments: [],
  }));
  const end = iso(start + 2000 + options.messages * 1000);
  return {
    id: options.id,
    tenantId: options.tenantId,
    createdAt: options.startedAt,
    updatedAt: end,
    schemaVersion: 1,
    attributes: {},
    channel: 'web',
    status: 'closed',
    visitor: { name: `Jane Doe (${PLANTED_EMAIL})`, locale: 'en-GB' },
    participants: [
      { id: 'p1', role: 'customer', displayName: 'Jane Doe', joinedAt: options.startedAt },
      { id: 'p2', role: 'agent', staffId: 'staff-7', displayName: 'Agent Smith', joinedAt: options.startedAt },
    ],
    startedAt: options.startedAt,
    closedAt: end,
    messages,
    tags: [options.tag],
  };
}

/** A missed chat without any message (still one row of a chats-with-messages CSV). */
export function chatWithoutMessages(options: { id: string; tenantId: string; tag: string; startedAt: string }): Chat {
  return {
    ...chatWithTranscript({ ...options, messages: 0 }),
    status: 'missed',
    participants: [{ id: 'p1', role: 'customer', displayName: `Caller ${PLANTED_PHONE}`, joinedAt: options.startedAt }],
  };
}
