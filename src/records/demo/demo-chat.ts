import type { Chat, ChatMessage, ChatParticipant } from '../chat-schema.js';
import { DEMO_ATTACHMENTS, DEMO_EMOJI, DEMO_TAGS, type DemoLocale } from './demo-locales.js';
import { inventPerson } from './demo-people.js';
import { demoRecordId } from './demo-record-id.js';
import { demoRecordBase, demoUpdateLag, isoAt, referenceDemoContact, withoutUndefined, type DemoRecordContext } from './demo-record-context.js';
import type { SeededRandom } from './seeded-random.js';

/** Bounds of a demo transcript's length. */
export const DEMO_MIN_MESSAGES = 1;
export const DEMO_MAX_MESSAGES = 200;

type Role = ChatParticipant['role'];

/** A participant and a message while the transcript is built, times as offsets from the chat's start. */
type ParticipantFields = Omit<ChatParticipant, 'joinedAt' | 'leftAt'>;
interface DraftParticipant {
  fields: ParticipantFields;
  joinedOffset: number;
  leftOffset?: number;
}
type MessageFields = Omit<ChatMessage, 'sentAt' | 'id' | 'seq'>;
interface DraftMessage {
  offset: number;
  fields: MessageFields;
}

function transcriptLength(random: SeededRandom, status: Chat['status']): number {
  if (status === 'missed') return random.int(1, 3);
  if (status === 'pending') return random.int(1, 4);
  const roll = random.next();
  if (roll < 0.03) return random.int(100, DEMO_MAX_MESSAGES);
  if (roll < 0.2) return random.int(30, 99);
  return random.int(3, 29);
}

function channelFor(random: SeededRandom, locale: DemoLocale): Chat['channel'] {
  const lineCountry = locale.country === 'JP' || locale.country === 'TH' || locale.country === 'TW';
  return random.weighted({
    web: 35,
    whatsapp: locale.country === 'CN' ? 0 : 20,
    app: 12,
    facebook: 8,
    line: lineCountry ? 30 : 1,
    wechat: locale.country === 'CN' ? 45 : 1,
    sms: 10,
    email: 8,
  });
}

function withEmoji(random: SeededRandom, text: string): string {
  return random.chance(0.25) ? `${text} ${random.pick(DEMO_EMOJI)}` : text;
}

/** Builds the transcript forwards, as offsets in ms from the chat's start; stops at exactly `length` messages. */
class TranscriptDraft {
  readonly participants: DraftParticipant[] = [];
  readonly messages: DraftMessage[] = [];
  private clock = 0;

  constructor(
    private readonly random: SeededRandom,
    private readonly length: number,
  ) {}

  get full(): boolean {
    return this.messages.length >= this.length;
  }

  get remaining(): number {
    return this.length - this.messages.length;
  }

  get lastOffset(): number {
    return this.clock;
  }

  join(fields: ParticipantFields): string {
    this.participants.push({ fields, joinedOffset: this.clock });
    return fields.id;
  }

  leave(id: string): void {
    const draft = this.participants.find((entry) => entry.fields.id === id);
    if (draft !== undefined) draft.leftOffset = this.clock;
  }

  say(senderId: string, senderRole: Role, message: Pick<ChatMessage, 'type'> & Partial<ChatMessage>, delayMs: number): void {
    if (this.full) return;
    this.clock += delayMs;
    this.messages.push({
      offset: this.clock,
      fields: {
        senderId,
        senderRole,
        type: message.type,
        text: message.text,
        attachments: message.attachments ?? [],
        event: message.event,
      },
    });
  }

  event(systemId: string, kind: NonNullable<ChatMessage['event']>['kind'], detail?: string): void {
    this.say(systemId, 'system', { type: 'event', event: detail === undefined ? { kind } : { kind, detail } }, this.random.int(500, 2000));
  }
}

/**
 * The demo chat of one slot: a room on a realistic channel for the customer's country, a transcript of 1 to 200
 * messages in the customer's language (unicode, emoji, attachments, joins and transfers), and its participants.
 */
export function buildDemoChat(context: DemoRecordContext): Chat {
  const { random, directory } = context;
  const chatId = demoRecordId(context.seed, 'chats', context.slot);
  const contact = referenceDemoContact(context, context.updatedAtMs);
  const person = contact?.person ?? inventPerson(random);
  const locale = person.locale;
  const status = random.weighted({ closed: 78, missed: 8, open: 8, pending: 6 });
  const channel = channelFor(random, locale);
  const draft = new TranscriptDraft(random, transcriptLength(random, status));
  const closes = status === 'closed' || status === 'missed';

  const customerName = contact !== undefined || random.chance(0.5) ? person.displayName : `Visitor ${random.int(1000, 9999)}`;
  const customerId = draft.join({
    id: 'p1',
    role: 'customer',
    contactId: contact?.id,
    displayName: customerName,
  });
  let systemId: string | undefined;
  const system = (): string => (systemId ??= draft.join({ id: 'p0', role: 'system', displayName: 'System' }));
  const customerLine = (): string => withEmoji(random, random.pick(locale.customerLines).replace('{n}', String(random.int(10_000, 99_999))));

  if (channel !== 'email' && channel !== 'sms' && random.chance(0.5) && draft.remaining >= 2) {
    const botId = draft.join({ id: 'p2', role: 'bot', displayName: 'Virtual assistant 🤖' });
    draft.say(botId, 'bot', { type: 'text', text: locale.botGreeting }, 0);
  }
  draft.say(customerId, 'customer', { type: 'text', text: customerLine() }, random.int(3_000, 60_000));

  const agentJoins = status === 'closed' || status === 'open';
  let transferred = false;
  if (agentJoins) {
    const closingReserve = status === 'closed' && draft.remaining >= 4 ? 2 : 0;
    let agent = random.pick(directory.staff);
    let agentId = draft.join({ id: 'p3', role: 'agent', staffId: agent.staffId, displayName: agent.name });
    draft.event(system(), 'participant-joined', agent.name);
    draft.say(agentId, 'agent', { type: 'text', text: locale.agentGreeting.replace('{agent}', agent.name) }, random.int(2_000, 20_000));
    while (draft.remaining > closingReserve) {
      const roll = random.next();
      if (roll < 0.04) {
        const attachment = random.pick(DEMO_ATTACHMENTS);
        const attachmentId = `${chatId}-a${draft.messages.length + 1}`;
        draft.say(
          customerId,
          'customer',
          {
            type: 'attachment',
            text: random.chance(0.3) ? customerLine() : undefined,
            attachments: [
              {
                id: attachmentId,
                name: attachment.name,
                mimeType: attachment.mimeType,
                sizeBytes: random.skewed(2_000, 8_000_000),
                uri: `https://files.example.com/chats/${chatId}/${attachmentId}/${encodeURIComponent(attachment.name)}`,
              },
            ],
          },
          random.int(10_000, 120_000),
        );
      } else if (roll < 0.05 && !transferred && draft.remaining > closingReserve + 3) {
        transferred = true;
        draft.event(system(), 'transferred', 'q-support');
        draft.leave(agentId);
        agent = random.pick(directory.staff);
        agentId = draft.join({ id: 'p4', role: 'agent', staffId: agent.staffId, displayName: agent.name });
        draft.event(system(), 'participant-joined', agent.name);
      } else if (roll < 0.55) {
        draft.say(customerId, 'customer', { type: 'text', text: customerLine() }, random.int(5_000, 120_000));
      } else {
        draft.say(agentId, 'agent', { type: 'text', text: withEmoji(random, random.pick(locale.agentLines)) }, random.int(5_000, 90_000));
      }
    }
    if (closingReserve > 0) {
      draft.say(agentId, 'agent', { type: 'text', text: locale.agentClosing }, random.int(5_000, 60_000));
      draft.event(system(), 'closed');
    }
  }
  while (!draft.full) {
    draft.say(customerId, 'customer', { type: 'text', text: customerLine() }, random.int(20_000, 300_000));
  }

  const lastIsCloseEvent = draft.messages.at(-1)?.fields.event?.kind === 'closed';
  const closeDelay = closes && !lastIsCloseEvent ? random.int(30_000, 600_000) : 0;
  const endMs = closes ? context.updatedAtMs - demoUpdateLag(context) : context.updatedAtMs;
  const startedAtMs = endMs - draft.lastOffset - closeDelay;
  const closedAtMs = closes ? endMs : undefined;

  const base = demoRecordBase(context, 'chats', startedAtMs);
  const participants: ChatParticipant[] = draft.participants.map((entry) => {
    const leftMs = entry.leftOffset !== undefined ? startedAtMs + entry.leftOffset : closedAtMs;
    return withoutUndefined<ChatParticipant>({
      id: entry.fields.id,
      role: entry.fields.role,
      staffId: entry.fields.staffId,
      contactId: entry.fields.contactId,
      displayName: entry.fields.displayName,
      joinedAt: isoAt(startedAtMs + entry.joinedOffset),
      leftAt: leftMs === undefined ? undefined : isoAt(leftMs),
    });
  });
  const messages: ChatMessage[] = draft.messages.map((entry, index) =>
    withoutUndefined<ChatMessage>({
      id: `${chatId}-m${index + 1}`,
      seq: index + 1,
      sentAt: isoAt(startedAtMs + entry.offset),
      senderId: entry.fields.senderId,
      senderRole: entry.fields.senderRole,
      type: entry.fields.type,
      text: entry.fields.text,
      attachments: entry.fields.attachments,
      event: entry.fields.event,
    }),
  );

  const city = random.pick(locale.cities);
  const tags: string[] = [];
  if (random.chance(0.3)) tags.push(random.pick(DEMO_TAGS));
  if (transferred) tags.push('transferred');
  const rating = status === 'closed' && random.chance(0.4) ? Number(random.weighted({ 5: 45, 4: 25, 3: 12, 2: 8, 1: 10 })) : undefined;

  return withoutUndefined<Chat>({
    ...base,
    attributes: {},
    channel,
    status,
    visitor: withoutUndefined({
      name: customerName === person.displayName ? person.displayName : undefined,
      locale: locale.tag,
      location: `${city.city}, ${locale.country}`,
    }),
    participants,
    startedAt: isoAt(startedAtMs),
    closedAt: closedAtMs === undefined ? undefined : isoAt(closedAtMs),
    messages,
    tags,
    rating,
  });
}
