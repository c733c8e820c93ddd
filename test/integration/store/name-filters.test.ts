import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importManifest } from '../../../src/import/import-manifest.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { FULL_ARCHIVE_SCOPE } from '../../../src/store/archive/archive-scope.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const TENANT = 'name-filters';
const T0 = new Date('2026-03-02T00:00:00.000Z');
const WINDOW = { from: T0, to: new Date(T0.getTime() + 86_400_000) };
const ACCESS = { tenantId: TENANT, scope: FULL_ARCHIVE_SCOPE };

let harness: ImportHarness;
let calls: CallLog[];
let chats: Chat[];

/** A demo call with its agents, queue and caller renamed, to names with accents, hyphens and CJK. */
function renamed(call: CallLog, agent: string, queue: string, caller: string): CallLog {
  return {
    ...call,
    direction: 'inbound',
    from: { e164: call.from.e164, displayName: caller },
    to: { e164: call.to.e164, displayName: queue },
    queue: { ...(call.queue as NonNullable<CallLog['queue']>), name: queue },
    agents: [{ ...(call.agents[0] as CallLog['agents'][number]), name: agent }],
  };
}

async function allCallIds(filter: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages += 1) {
    const page = await harness.store.listCallLogs(ACCESS, filter, { limit: 200, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((call) => call.id));
    if (page.nextCursor === null) return ids.sort();
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}

async function allChatIds(filter: Record<string, string>): Promise<string[]> {
  const page = await harness.store.listChats(ACCESS, filter, { limit: 200 });
  expect(page.nextCursor).toBeNull();
  return page.items.map((chat) => chat.id).sort();
}

const ids = (records: { id: string }[]): string[] => records.map((record) => record.id).sort();
/** Latin-script text folded for the oracle: without accents, lower case, words split at spaces and hyphens. */
const words = (text: string): string[] =>
  text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/Þ|þ/g, 'th')
    .toLowerCase()
    .split(/[\s-]+/)
    .filter((word) => word !== '');
/** The oracle of a name search (Latin names): the search's words appear in the name in order, the last as a word's start. */
function nameMatches(name: string | undefined, search: string): boolean {
  if (name === undefined) return false;
  const have = words(name);
  const want = words(search);
  return have.some((_, at) => want.every((word, k) => (k === want.length - 1 ? (have[at + k] ?? '').startsWith(word) : have[at + k] === word)));
}

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
  const drop = await harness.setUpTenant(TENANT);
  const demoCalls = [
    ...generateRecords({
      seed: 31,
      tenantId: TENANT,
      type: 'call-logs',
      from: T0,
      to: new Date(T0.getTime() + 8 * 3_600_000),
      ratesPerHour: { 'call-logs': 40 },
    }),
  ];
  const [first, second] = demoCalls.filter((call) => call.queue !== undefined && call.agents.length > 0) as [CallLog, CallLog];
  calls = [
    renamed(first, 'Jean-Luc Núñez', 'Facturación', '王小明'),
    renamed(second, 'Ólafur Þórsson', 'Billing (EU)', 'Zoë Ångström'),
    ...demoCalls.filter((call) => call !== first && call !== second),
  ];
  chats = [
    ...generateRecords({ seed: 31, tenantId: TENANT, type: 'chats', from: T0, to: new Date(T0.getTime() + 4 * 3_600_000), ratesPerHour: { chats: 20 } }),
  ];
  const link = await drop.deliver({ runId: 'r1', window: WINDOW, records: { 'call-logs': calls, chats } });
  await importManifest(harness.deps, TENANT, link.path);
  await harness.store.ensureIndexes(TENANT);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe('list filters by name, with ids still accepted', () => {
  it('finds a call by its agent, queue or caller name: any word, its start, without accents or case', async () => {
    const [jean, olafur] = calls as [CallLog, CallLog];
    for (const agent of ['jean', 'Luc', 'NUNEZ', 'jean-luc nú', 'Jean-Luc Núñez', 'thorsson']) {
      const expected = ids(calls.filter((call) => call.agents.some((one) => nameMatches(one.name, agent))));
      expect(expected).toContain(agent === 'thorsson' ? olafur.id : jean.id);
      expect(await allCallIds({ agent }), agent).toEqual(expected);
    }
    expect(await allCallIds({ agent: 'jean-luc nunez' })).toEqual([jean.id]);
    expect(await allCallIds({ queue: 'facturacion' })).toEqual([jean.id]);
    expect(await allCallIds({ queue: 'billing (eu' })).toEqual([olafur.id]);
    expect(await allCallIds({ contact: '小明' })).toEqual([jean.id]);
    expect(await allCallIds({ contact: 'angstrom' })).toEqual([olafur.id]);
    expect(await allCallIds({ agent: 'jean', queue: 'billing' })).toEqual([]);
    expect(await allCallIds({ agent: 'uc' })).toEqual([]);
  });

  it('finds every demo call whose agent or queue has a word starting with the search', async () => {
    const demo = calls.slice(2);
    const agentName = demo.find((call) => call.agents.length > 0)?.agents[0]?.name as string;
    const firstName = agentName.split(' ')[0] as string;
    const expected = ids(calls.filter((call) => call.agents.some((agent) => nameMatches(agent.name, firstName))));
    expect(expected.length).toBeGreaterThan(0);
    expect(await allCallIds({ agent: firstName })).toEqual(expected);
    const queueName = demo.find((call) => call.queue !== undefined)?.queue?.name as string;
    expect(await allCallIds({ queue: queueName })).toEqual(ids(calls.filter((call) => nameMatches(call.queue?.name, queueName))));
  });

  it('still finds calls by agent, queue and contact id', async () => {
    const withAgent = calls.find((call) => call.agents.length > 0) as CallLog;
    const staffId = withAgent.agents[0]?.staffId as string;
    expect(await allCallIds({ agent: staffId })).toEqual(ids(calls.filter((call) => call.agents.some((agent) => agent.staffId === staffId))));
    const queueId = calls.find((call) => call.queue !== undefined)?.queue?.id as string;
    expect(await allCallIds({ queue: queueId })).toEqual(ids(calls.filter((call) => call.queue?.id === queueId)));
    const contactId = calls.find((call) => call.from.contactId !== undefined || call.to.contactId !== undefined);
    const id = (contactId?.from.contactId ?? contactId?.to.contactId) as string;
    expect(await allCallIds({ contact: id })).toEqual(ids(calls.filter((call) => call.from.contactId === id || call.to.contactId === id)));
  });

  it('does not find the contact center side of a call by the contact filter', async () => {
    const inbound = calls.slice(2).find((call) => call.direction === 'inbound' && call.to.displayName !== undefined) as CallLog;
    const line = inbound.to.displayName as string;
    const found = await allCallIds({ contact: line });
    expect(found).toEqual(ids(calls.filter((call) => [call.from, call.to].some((party) => party.contactId !== undefined && party.displayName === line))));
  });

  it('finds a chat by a participant name or the visitor name, and by participant id', async () => {
    const chat = chats.find((candidate) => candidate.participants.length > 1) as Chat;
    const participant = chat.participants[0] as Chat['participants'][number];
    const word = participant.displayName.split(' ').at(-1) as string;
    const byName = await allChatIds({ participant: word });
    expect(byName).toContain(chat.id);
    for (const id of byName) {
      const found = chats.find((candidate) => candidate.id === id) as Chat;
      const names = [...found.participants.map((p) => p.displayName), found.visitor.name].filter((name): name is string => name !== undefined);
      expect(names.join(' | ').toLowerCase()).toContain(word.toLowerCase());
    }
    expect(await allChatIds({ participant: participant.id })).toEqual(
      ids(chats.filter((c) => c.participants.some((p) => p.id === participant.id || p.staffId === participant.id || p.contactId === participant.id))),
    );
  });
});

describe('result counts', () => {
  it('counts the matches of a filter exactly up to the limit, then says there are more', async () => {
    const inbound = calls.filter((call) => call.direction === 'inbound').length;
    expect(inbound).toBeGreaterThan(5);
    expect(await harness.store.countMatching(ACCESS, 'call-logs', { direction: 'inbound' }, 1_000)).toEqual({ count: inbound, more: false });
    expect(await harness.store.countMatching(ACCESS, 'call-logs', { direction: 'inbound' }, inbound)).toEqual({ count: inbound, more: false });
    expect(await harness.store.countMatching(ACCESS, 'call-logs', { direction: 'inbound' }, 5)).toEqual({ count: 5, more: true });
    expect(await harness.store.countMatching(ACCESS, 'chats', {}, 1_000)).toEqual({ count: chats.length, more: false });
    expect(await harness.store.countMatching(ACCESS, 'call-logs', { agent: 'jean' }, 1_000)).toEqual({ count: 1, more: false });
  });

  it('validates the filter and the limit like the list does, and keeps to the reader scope and tenant', async () => {
    await expect(harness.store.countMatching(ACCESS, 'call-logs', { outcome: { $ne: 'x' } }, 10)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FILTER_INVALID' });
    await expect(harness.store.countMatching(ACCESS, 'call-logs', {}, 100_000)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FILTER_INVALID' });
    await expect(harness.store.countMatching({ tenantId: TENANT, scope: { types: ['chats'] } }, 'call-logs', {}, 10)).rejects.toMatchObject({
      code: 'ERR_ARCHIVE_SCOPE_DENIED',
    });
    expect(await harness.store.countMatching({ tenantId: 'name-filters-other', scope: FULL_ARCHIVE_SCOPE }, 'call-logs', {}, 10)).toEqual({
      count: 0,
      more: false,
    });
  });
});
