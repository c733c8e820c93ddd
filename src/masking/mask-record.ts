import type { CallLog } from '../records/call-log-schema.js';
import type { Chat, ChatMessage } from '../records/chat-schema.js';
import type { Contact } from '../records/contact-schema.js';
import type { RecordType } from '../records/record-type.js';
import type { ArchivedChat, ArchivedChatMessage } from '../store/archive/archive-documents.js';
import type { Page } from '../store/archive/archive-filters.js';
import { maskEmailAddress, maskHandle } from './mask-email-address.js';
import { maskPhoneNumber } from './mask-phone-number.js';
import { MIN_PHONE_DIGITS, maskText } from './mask-text.js';

/** What {@link maskRecord} masks: the three record types and single transcript messages. */
export type MaskableType = RecordType | 'chat-messages';

/** The record shapes of each {@link MaskableType} (a chat with or without its transcript). */
export interface MaskableByType {
  'call-logs': CallLog;
  chats: Chat | ArchivedChat;
  contacts: Contact;
  'chat-messages': ChatMessage | ArchivedChatMessage;
}

/** Whether the reader may see personal data unmasked (the `see-unmasked-personal-data` capability). */
export interface MaskingOptions {
  unmasked: boolean;
}

type Loose = Record<string, unknown>;

const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null && !Array.isArray(value);
const asList = (value: unknown): Loose[] => (Array.isArray(value) ? value.filter(isObject) : []);

function maskField(target: unknown, key: string, mask: (value: string) => string): void {
  if (isObject(target) && typeof target[key] === 'string') target[key] = mask(target[key]);
}

/** Every string inside `value` (objects and arrays, at any depth) through {@link maskText}; keys stay. */
export function maskStringsDeep(value: unknown): unknown {
  if (typeof value === 'string') return maskText(value);
  if (Array.isArray(value)) return value.map(maskStringsDeep);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskStringsDeep(inner)]));
  return value;
}

/** A social handle or other personal identifier: by its shape an address, a number or a plain handle. */
function maskIdentifier(value: string): string {
  if (value.includes('@') && /@[^@\s]+\.[^@\s]+$/u.test(value)) return maskEmailAddress(value);
  if ((value.match(/\p{Nd}/gu)?.length ?? 0) >= MIN_PHONE_DIGITS) return maskPhoneNumber(value);
  return maskHandle(value);
}

function maskCallLog(call: Loose): void {
  for (const party of [call.from, call.to]) {
    maskField(party, 'e164', maskPhoneNumber);
    maskField(party, 'displayName', maskText);
  }
  maskField(call, 'callerId', maskPhoneNumber);
  maskField(call.transfer, 'toE164', maskPhoneNumber);
  maskField(call, 'notes', maskText);
}

function maskMessage(message: Loose): void {
  maskField(message, 'text', maskText);
  maskField(message.event, 'detail', maskText);
  for (const attachment of asList(message.attachments)) maskField(attachment, 'name', maskText);
}

function maskChat(chat: Loose): void {
  maskField(chat.visitor, 'name', maskText);
  maskField(chat.visitor, 'location', maskText);
  for (const participant of asList(chat.participants)) maskField(participant, 'displayName', maskText);
  for (const message of asList(chat.messages)) maskMessage(message);
}

function maskContact(contact: Loose): void {
  for (const field of ['displayName', 'firstName', 'lastName', 'title', 'organization']) maskField(contact, field, maskText);
  maskField(contact.address, 'street', maskText);
  for (const email of asList(contact.emails)) maskField(email, 'value', maskEmailAddress);
  for (const phone of asList(contact.phones)) maskField(phone, 'e164', maskPhoneNumber);
  for (const social of asList(contact.social)) maskField(social, 'handle', maskIdentifier);
  if (isObject(contact.externalIds)) contact.externalIds = maskStringsDeep(contact.externalIds);
  if (isObject(contact.customFields)) contact.customFields = maskStringsDeep(contact.customFields);
}

const MASKERS: Record<MaskableType, (record: Loose) => void> = {
  'call-logs': maskCallLog,
  chats: maskChat,
  contacts: maskContact,
  'chat-messages': maskMessage,
};

/**
 * A deep copy of `record` with personal data masked; with `unmasked`, the record itself, unchanged and not copied (a
 * copy would protect nothing: the store reads fresh objects for every call, and copying 50 records was a tenth of a
 * list page's CPU time). The input is never changed either way. Masked:
 *
 * - call logs: the numbers of both parties, the caller id and the transfer target (number masks), party display
 *   names and notes (free-text masks);
 * - chats: visitor name and location, participant display names, and per message the text, event detail and
 *   attachment names (free-text masks);
 * - contacts: email addresses and phone numbers (address and number masks), social handles (by shape), names,
 *   title, organisation, street, external ids and custom fields (free-text masks);
 * - every record: every string under `attributes` (free-text masks).
 *
 * Ids, timestamps, enums, tags, staff and queue names, and the URIs of recordings and attachments (references the
 * portal links to) stay as they are.
 * Free-text masking has the limits documented on {@link maskText}. Part of a record (a list row, see
 * `LIST_ROW_FIELDS`) is masked the same way; what it lacks stays out.
 *
 * @example
 * const shown = maskRecord('call-logs', call, { unmasked: can(principal, 'see-unmasked-personal-data') });
 */
export function maskRecord<T extends MaskableType, R extends Partial<MaskableByType[T]>>(type: T, record: R, options: MaskingOptions): R {
  if (options.unmasked) return record;
  const copy = structuredClone(record);
  const loose = copy as unknown as Loose;
  MASKERS[type](loose);
  if (isObject(loose.attributes)) loose.attributes = maskStringsDeep(loose.attributes);
  return copy;
}

/**
 * A page of list or search results with every item masked (see {@link maskRecord}); the cursor is kept.
 *
 * @example
 * res.render('call-logs', { page: maskPage('call-logs', await archive.listCallLogs(access, filter), masking) });
 */
export function maskPage<T extends MaskableType, R extends Partial<MaskableByType[T]>>(type: T, page: Page<R>, options: MaskingOptions): Page<R> {
  return { ...page, items: page.items.map((item) => maskRecord(type, item, options)) };
}
