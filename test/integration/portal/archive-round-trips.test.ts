import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { TRANSCRIPT_PAGE_SIZE } from '../../../src/portal/routes/archive-chats-routes.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

// The database round trips of the archive pages (issue 15.2: at most three): the request's context (tenant,
// security settings, user), the page's own read, and the audit entry. Counted with the driver's command monitoring on
// both clients, the control plane's and the archive's.

const FROM = new Date(Date.UTC(2026, 4, 4, 8));
const TO = new Date(FROM.getTime() + 2 * 3_600_000);

let h: PortalHarness;
let mongo: MongoClient;
let archives: ArchiveDatabases;
let tenant: string;
let calls: CallLog[];
let chat: Chat;
let contact: Contact;
let owner: PortalClient;
let chatsOnly: PortalClient;
const commands: { client: 'control plane' | 'archive'; name: string }[] = [];

const gen = <T extends RecordType>(type: T, perHour: number, seed: number) => [
  ...generateRecords({ seed, tenantId: tenant, type, from: FROM, to: TO, ratesPerHour: { [type]: perHour } }),
];

const signedIn = async (input: { role?: 'owner' | 'administrator'; dataTypes?: RecordType[] }): Promise<PortalClient> =>
  (await h.signedIn(tenant, input)).client;

/** The commands one page view sends, after a first view of the same page (which may read the audit chain's head). */
async function roundTrips(client: PortalClient, path: string): Promise<{ names: string[]; html: string }> {
  expect((await client.get(path)).status).toBe(200);
  commands.length = 0;
  const res = await client.get(path);
  expect(res.status).toBe(200);
  return { names: commands.map((command) => `${command.client}: ${command.name}`), html: res.text };
}

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'), { monitorCommands: true });
  mongo.on('commandStarted', (event: CommandStartedEvent) => commands.push({ client: 'archive', name: event.commandName }));
  archives = new ArchiveDatabases({ client: mongo, prefix: `prt${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  h = await startPortalHarness({}, { archive: new ArchiveStore(archives) }, { monitorCommands: true });
  h.mongo.on('commandStarted', (event: CommandStartedEvent) => commands.push({ client: 'control plane', name: event.commandName }));
  tenant = await h.createTenant('trips');
  calls = gen('call-logs', 40, 21);
  const contacts = gen('contacts', 6, 22);
  contact = contacts[0] as Contact;
  const generated = [...gen('chats', 6, 23)].sort((a, b) => b.messages.length - a.messages.length)[0] as Chat;
  // longer than a transcript page (100), so a page must come whole in the first batch, with no getMore
  const last = generated.messages.at(-1) as Chat['messages'][number];
  const extra = Array.from({ length: Math.max(0, 160 - generated.messages.length) }, (_, i) => ({
    ...last,
    id: `${last.id}-more-${i}`,
    seq: last.seq + 1 + i,
    type: 'text' as const,
    text: `Follow-up number ${i}`,
    attachments: [],
    event: undefined,
  }));
  chat = {
    ...generated,
    messages: [...generated.messages, ...extra],
    participants: generated.participants.map((p) =>
      p.role === 'customer' ? { id: p.id, role: p.role, displayName: p.displayName, joinedAt: p.joinedAt, contactId: contact.id } : p,
    ),
  };
  const writer = new ArchiveWriter(await archives.forTenant(tenant), tenant, `${tenant}/manifest-test.json`);
  for (const call of calls) await writer.add('call-logs', call);
  await writer.add('chats', chat);
  for (const item of contacts) await writer.add('contacts', item);
  await writer.finish();
  await new ArchiveStore(archives).ensureIndexes(tenant);
  owner = await signedIn({ role: 'owner' });
  chatsOnly = await signedIn({ dataTypes: ['chats'] });
}, 60_000);

afterAll(async () => {
  if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('database round trips per archive page', () => {
  const expected = ['control plane: aggregate', 'archive: aggregate', 'control plane: insert'];

  it('reads a list page and its count in one round trip: three in all, on the first page and on the next', async () => {
    expect(calls.length).toBeGreaterThan(50);
    const first = await roundTrips(owner, '/call-logs');
    expect(first.names).toEqual(expected);
    expect(first.html).toContain(`${calls.length} call logs in the archive. Showing 1–50.`);
    const next = /href="([^"]+)" rel="next"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&') as string;
    const second = await roundTrips(owner, next);
    expect(second.names).toEqual(expected);
    expect(second.html).toContain(`${calls.length} call logs in the archive. Showing 51–`);
    const filtered = await roundTrips(owner, `/call-logs?outcome=${calls[0]?.outcome ?? 'answered'}`);
    expect(filtered.names).toEqual(expected);
    const wanted = calls.filter((call) => call.outcome === calls[0]?.outcome).length;
    expect(filtered.html).toContain(`${wanted} ${wanted === 1 ? 'call log matches' : 'call logs match'}`);
  });

  it('reads a chat, its transcript page and its contacts’ links in one round trip: three in all', async () => {
    expect(chat.messages.length).toBeGreaterThan(TRANSCRIPT_PAGE_SIZE);
    const page = await roundTrips(owner, `/chats/${encodeURIComponent(chat.id)}`);
    expect(page.names).toEqual(expected);
    expect(page.html.match(/<li class="message /g)).toHaveLength(TRANSCRIPT_PAGE_SIZE);
    const later = /href="([^"]+)" rel="next"/.exec(page.html)?.[1]?.replaceAll('&amp;', '&') as string;
    const next = await roundTrips(owner, later);
    expect(next.names).toEqual(expected);
    expect(next.html.match(/<li class="message /g)).toHaveLength(chat.messages.length - TRANSCRIPT_PAGE_SIZE);
    expect(page.html).toContain(`href="/contacts/${encodeURIComponent(contact.id)}"`);
    for (const message of chat.messages.filter((m) => m.text !== undefined).slice(0, 3)) {
      expect(page.html).toContain((message.text as string).slice(0, 20).replaceAll('&', '&amp;').replaceAll("'", '&#39;').replaceAll('"', '&#34;'));
    }
  });

  it('reads no contacts for a reader without the contacts scope, whose links stay text', async () => {
    const page = await roundTrips(chatsOnly, `/chats/${encodeURIComponent(chat.id)}`);
    expect(page.names).toEqual(expected);
    expect(page.html).not.toContain(`href="/contacts/`);
    expect(page.html).toContain('you have no access to contacts');
  });
});
