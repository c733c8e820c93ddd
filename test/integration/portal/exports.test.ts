import { maskPhoneNumber } from '../../../src/masking/mask-phone-number.js';
import { randomBytes } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { maskRecord } from '../../../src/masking/mask-record.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { ChatMessage } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { chatMessageHeader, exportCells, exportHeader } from '../../../src/results-export/export-columns.js';
import { ResultExportsStore, type ResultExport } from '../../../src/results-export/result-exports-store.js';
import { createResultsExportQueue, createResultsExportWorker, type ResultsExportJobData } from '../../../src/results-export/results-export-queue.js';
import { ResultsExportService } from '../../../src/results-export/results-export-service.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { ArchiveStore } from '../../../src/store/archive/archive-store.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import { uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { parseCsv } from '../../unit/results-export/rfc4180-parser.js';
import { chatWithoutMessages, chatWithTranscript, PLANTED_PIECES, UNMASKED_E164, UNMASKED_EMAIL } from '../results-export/chat-fixtures.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const DAY_MS = 86_400_000;
const FROM = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 8 * 3_600_000);
const TO = new Date(FROM.getTime() + 2 * 3_600_000);
const DAY = FROM.toISOString().slice(0, 10);

let h: PortalHarness;
let mongo: MongoClient;
let archives: ArchiveDatabases;
let archiveStore: ArchiveStore;
let exportsStore: ResultExportsStore;
const exportsDbName = uniqueDbName('portal_exports');
let queueRedis: Redis;
let queue: Queue<ResultsExportJobData>;
let worker: Worker;
const prefix = uniqueName('px');
let clockOffsetMs = 0;
const now = (): Date => new Date(Date.now() + clockOffsetMs);
let tenant: string;
let calls: CallLog[];
const clients: Record<'unmasked' | 'masked' | 'reader' | 'chatsExporter', PortalClient> = {} as never;
const userIds = new Map<PortalClient, string>();

async function signedIn(tenantId: string, dataTypes: RecordType[], capabilities: UserCapability[]): Promise<PortalClient> {
  const { client, user } = await h.signedIn(tenantId, { displayName: 'Exporter', dataTypes, capabilities });
  await client.get('/');
  userIds.set(client, user.id);
  return client;
}

/** The calls the list shows for `outcome=missed` on {@link DAY}, every page, as the archive store returns them. */
async function missedCallsOfDay(): Promise<CallLog[]> {
  const nextDay = new Date(Date.parse(`${DAY}T00:00:00Z`) + DAY_MS).toISOString().replace('.000Z', 'Z');
  const items: CallLog[] = [];
  let cursor: string | undefined;
  do {
    const page = await archiveStore.listCallLogs(
      { tenantId: tenant, scope: { types: ['call-logs'] } },
      { outcome: 'missed', from: `${DAY}T00:00:00Z`, to: nextDay },
      { limit: 7, ...(cursor ? { cursor } : {}) },
    );
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** A call's CSV cells as a spreadsheet reads them back (text that looks like a formula gets a leading quote). */
const csvCellsOf = (call: CallLog): string[] =>
  exportCells('call-logs', call).map((cell) => {
    const text = cell === undefined || cell === null ? '' : String(cell);
    // Formula protection, except phone numbers: they stay valid E.164 (or masked) strings.
    const phoneNumbers = /^\+[0-9][0-9 •;+]*[0-9]$/u;
    return typeof cell === 'string' && /^[=+\-@\t\r]/.test(cell) && !phoneNumbers.test(cell) ? `'${text}` : text;
  });

async function finished(id: string): Promise<ResultExport> {
  for (let i = 0; i < 400; i += 1) {
    const job = await exportsStore.get(tenant, id, now());
    if (job && (job.status === 'done' || job.status === 'failed')) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`export ${id} did not finish`);
}

/** Asks for an export of the missed calls of {@link DAY} from the list page and waits until the worker is done. */
async function exportMissedCalls(client: PortalClient, format: 'csv' | 'json'): Promise<string> {
  await client.get(`/call-logs?outcome=missed&from=${DAY}&to=${DAY}`);
  const res = await client.post('/exports', { type: 'call-logs', format, outcome: 'missed', from: DAY, to: DAY });
  expect(res.status).toBe(303);
  const id = /^\/exports\/([0-9a-f]{24})$/.exec(String(res.headers.location))?.[1] as string;
  expect(id).toBeDefined();
  expect((await finished(id)).status).toBe('done');
  return id;
}

/** Creates a download link on the export's page and returns its path. */
async function linkOf(client: PortalClient, id: string): Promise<string> {
  const status = await client.get(`/exports/${id}`);
  expect(status.status).toBe(200);
  expect(status.text).toContain('Create download link');
  const res = await client.post(`/exports/${id}/link`, {});
  expect(res.status).toBe(200);
  const path = new RegExp(`href="(/exports/${id}/download/[A-Za-z0-9_-]+)"`).exec(res.text)?.[1];
  expect(path).toBeDefined();
  return path as string;
}

beforeAll(async () => {
  mongo = await MongoClient.connect(inject('mongoUrl'));
  archives = new ArchiveDatabases({ client: mongo, prefix: `px${randomBytes(4).toString('hex')}_`, settings: async () => undefined });
  archiveStore = new ArchiveStore(archives);
  exportsStore = new ResultExportsStore(mongo.db(exportsDbName));
  await exportsStore.ensureIndexes();
  queueRedis = createTestRedis();
  queue = createResultsExportQueue(queueRedis, prefix);
  const service = new ResultsExportService({
    exports: exportsStore,
    queue,
    audit: { append: (tenantId, event, at) => h.controlPlane.audit.append(tenantId, event, at) },
    now,
  });
  h = await startPortalHarness({}, { archive: archiveStore, resultsExport: service });
  worker = createResultsExportWorker(createTestRedis(), prefix, { archive: archiveStore, exports: exportsStore, options: { pageSize: 13 }, now });
  tenant = await h.createTenant('exp');
  calls = [...generateRecords({ seed: 31, tenantId: tenant, type: 'call-logs', from: FROM, to: TO, ratesPerHour: { 'call-logs': 60 } })];
  const writer = new ArchiveWriter(await archives.forTenant(tenant), tenant, `${tenant}/manifest-test.json`);
  for (const call of calls) await writer.add('call-logs', call);
  for (const chat of generateRecords({ seed: 31, tenantId: tenant, type: 'chats', from: FROM, to: TO, ratesPerHour: { chats: 6 } }))
    await writer.add('chats', chat);
  await writer.add(
    'chats',
    chatWithTranscript({ id: 'chat-long', tenantId: tenant, tag: 'transcript', messages: 120, startedAt: new Date(FROM.getTime() + 60_000).toISOString() }),
  );
  await writer.add(
    'chats',
    chatWithoutMessages({ id: 'chat-empty', tenantId: tenant, tag: 'transcript', startedAt: new Date(FROM.getTime() + 30_000).toISOString() }),
  );
  await writer.finish();
  await archiveStore.ensureIndexes(tenant);
  clients.unmasked = await signedIn(tenant, ['call-logs'], ['export', 'see-unmasked-personal-data']);
  clients.masked = await signedIn(tenant, ['call-logs'], ['export']);
  clients.reader = await signedIn(tenant, ['call-logs', 'chats'], []);
  clients.chatsExporter = await signedIn(tenant, ['chats'], ['export']);
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await (worker?.opts.connection as Redis | undefined)?.quit();
  await queue?.close();
  if (queueRedis) {
    await cleanupPrefix(queueRedis, prefix);
    await queueRedis.quit();
  }
  if (tenant) await (await archives.forTenant(tenant)).dropDatabase();
  await mongo?.db(exportsDbName).dropDatabase();
  await archives?.close();
  await mongo?.close();
  await h?.close();
});

describe('exporting list results', () => {
  it('offers the export form on the list only to users who may export, carrying the filter', async () => {
    const list = await clients.masked.get('/call-logs?outcome=missed&direction=inbound');
    expect(list.status).toBe(200);
    expect(list.text).toContain('action="/exports"');
    expect(list.text).toContain('<input type="hidden" name="type" value="call-logs">');
    expect(list.text).toContain('<input type="hidden" name="outcome" value="missed">');
    expect(list.text).toContain('<input type="hidden" name="direction" value="inbound">');
    const withoutExport = await clients.reader.get('/call-logs?outcome=missed');
    expect(withoutExport.status).toBe(200);
    expect(withoutExport.text).not.toContain('action="/exports"');
  });

  it('downloads CSV and JSON of a filtered call-log list that match the archive query, unmasked when allowed', async () => {
    const expected = await missedCallsOfDay();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(calls.length);

    const csvId = await exportMissedCalls(clients.unmasked, 'csv');
    const csv = await clients.unmasked.get(await linkOf(clients.unmasked, csvId));
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="call-logs-\d{8}-\d{6}-unmasked\.csv"$/);
    expect(Number(csv.headers['content-length'])).toBe(Buffer.byteLength(csv.text));
    const [header, ...rows] = parseCsv(csv.text.slice(1));
    expect(header).toEqual(exportHeader('call-logs'));
    expect(rows.map((row) => row[0])).toEqual(expected.map((call) => call.id));
    expect(rows).toEqual(expected.map(csvCellsOf));
    const fromColumn = exportHeader('call-logs').indexOf('from');
    expect(
      rows.map((row) => row[fromColumn]).every((cell) => /^\+[1-9][0-9]{1,14}$/.test(cell ?? '')),
      'E.164 as it is, no leading quote',
    ).toBe(true);

    const jsonId = await exportMissedCalls(clients.unmasked, 'json');
    const json = await clients.unmasked.get(await linkOf(clients.unmasked, jsonId));
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.headers['content-disposition']).toMatch(/^attachment; filename="call-logs-.*\.json"$/);
    expect(Number(json.headers['content-length'])).toBe(Buffer.byteLength(json.text));
    expect(JSON.parse(json.text)).toEqual(JSON.parse(JSON.stringify(expected)));

    const list = await clients.unmasked.get('/exports');
    expect(list.status).toBe(200);
    for (const id of [csvId, jsonId]) expect(list.text).toContain(`href="/exports/${id}"`);
    expect(list.text).toContain('done');
  });

  it('masks personal data in the files of a user without see-unmasked-personal-data', async () => {
    const expected = await missedCallsOfDay();
    const jsonId = await exportMissedCalls(clients.masked, 'json');
    const json = await clients.masked.get(await linkOf(clients.masked, jsonId));
    expect(json.status).toBe(200);
    expect(json.headers['content-disposition']).not.toContain('unmasked');
    const masked = expected.map((call) => maskRecord('call-logs', call, { unmasked: false }));
    expect(JSON.parse(json.text)).toEqual(JSON.parse(JSON.stringify(masked)));
    expect(masked[0]?.from.e164).not.toBe(expected[0]?.from.e164);

    const csvId = await exportMissedCalls(clients.masked, 'csv');
    const csv = await clients.masked.get(await linkOf(clients.masked, csvId));
    const [, ...rows] = parseCsv(csv.text.slice(1));
    expect(rows).toEqual(expected.map((call) => csvCellsOf(maskRecord('call-logs', call, { unmasked: false }))));
    for (const call of expected) expect(csv.text).not.toContain(call.from.e164);
  });

  it('serves a download link once, and not after it expired', async () => {
    const id = await exportMissedCalls(clients.masked, 'csv');
    const path = await linkOf(clients.masked, id);
    expect((await clients.masked.get(path)).status).toBe(200);
    const again = await clients.masked.get(path);
    expect(again.status).toBe(404);
    expect(again.headers['content-disposition']).toBeUndefined();

    const fresh = await linkOf(clients.masked, id);
    clockOffsetMs = 16 * 60_000;
    try {
      const expired = await clients.masked.get(fresh);
      expect(expired.status).toBe(410);
      expect(expired.text).toContain('expired');
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('refuses every export route with 403 to a user without the export capability', async () => {
    const id = await exportMissedCalls(clients.masked, 'json');
    const refused = [
      await clients.reader.get('/exports'),
      await clients.reader.get(`/exports/${id}`),
      await clients.reader.get(`/exports/${id}/download/${'A'.repeat(43)}`),
      await clients.reader.post('/exports', { type: 'call-logs', format: 'csv', outcome: 'missed' }),
      await clients.reader.post(`/exports/${id}/link`, {}),
    ];
    expect(refused.map((res) => res.status)).toEqual([403, 403, 403, 403, 403]);
  });

  it('refuses an export of a type outside the data scope and audits the denial', async () => {
    await clients.chatsExporter.get('/chats');
    const res = await clients.chatsExporter.post('/exports', { type: 'call-logs', format: 'csv' });
    expect(res.status).toBe(403);
    const denied = await h.db.collection('audit').find({ tenantId: tenant, action: 'export.requested', outcome: 'denied' }).toArray();
    expect(denied.length).toBeGreaterThan(0);
    expect((await clients.chatsExporter.get('/exports')).text).toContain('You have no exports yet');
  });

  it.each([
    ['an unknown format', { type: 'call-logs', format: 'xlsx' }],
    ['an unknown type', { type: 'recordings', format: 'csv' }],
    ['an invalid day', { type: 'call-logs', format: 'csv', from: '2026-02-30' }],
    ['a field the list does not have', { type: 'call-logs', format: 'csv', channel: 'web' }],
  ])('refuses a request with %s as 400', async (_name, form) => {
    await clients.masked.get('/exports');
    const res = await clients.masked.post('/exports', form);
    expect(res.status).toBe(400);
  });

  it("answers 404 for another user's export, its link and its download", async () => {
    const id = await exportMissedCalls(clients.unmasked, 'csv');
    const path = await linkOf(clients.unmasked, id);
    const other = clients.masked;
    await other.get('/exports');
    expect((await other.get(`/exports/${id}`)).status).toBe(404);
    expect((await other.post(`/exports/${id}/link`, {})).status).toBe(404);
    expect((await other.get(path)).status).toBe(404);
    expect((await other.get('/exports')).text).not.toContain(id);
    expect((await clients.unmasked.get(path)).status).toBe(200);
  });

  it('shows a queued and a failed export with their state and offers no link for them', async () => {
    const userId = userIds.get(clients.masked) as string;
    const base = {
      tenantId: tenant,
      userId,
      type: 'call-logs' as const,
      format: 'csv' as const,
      filter: { outcome: 'missed' },
      masked: true,
      limits: { maxRecords: 5, maxBytes: 4096 },
      createdAt: now(),
      expiresAt: new Date(now().getTime() + DAY_MS),
    };
    const queued = await exportsStore.create({ ...base, id: randomBytes(12).toString('hex') });
    const failed = await exportsStore.create({ ...base, id: randomBytes(12).toString('hex') });
    await exportsStore.markFailed(tenant, failed.id, {
      code: 'ERR_EXPORT_TOO_LARGE',
      message: 'the results have more than 5 records, the export limit: narrow the filter',
    });
    const queuedPage = await clients.masked.get(`/exports/${queued.id}`);
    expect(queuedPage.status).toBe(200);
    expect(queuedPage.text).toContain('This export is queued.');
    expect(queuedPage.text).not.toContain('Create download link');
    const failedPage = await clients.masked.get(`/exports/${failed.id}`);
    expect(failedPage.text).toContain('the results have more than 5 records');
    expect((await clients.masked.post(`/exports/${failed.id}/link`, {})).status).toBe(409);
    expect((await clients.masked.post(`/exports/${queued.id}/link`, {})).status).toBe(409);
    const list = await clients.masked.get('/exports');
    expect(list.text).toContain('badge-export-failed');
    expect(list.text).toContain('badge-export-queued');
  });

  it('refuses a request or a link without the CSRF token', async () => {
    const id = await exportMissedCalls(clients.masked, 'csv');
    const before = (await exportsStore.listForUser(tenant, userIds.get(clients.masked) as string, now(), 100)).length;
    const request = await clients.masked.post('/exports', { type: 'call-logs', format: 'csv' }, { csrf: false });
    expect(request.status).toBe(403);
    const link = await clients.masked.post(`/exports/${id}/link`, {}, { csrf: false });
    expect(link.status).toBe(403);
    expect(link.text).not.toContain('/download/');
    expect((await exportsStore.listForUser(tenant, userIds.get(clients.masked) as string, now(), 100)).length).toBe(before);
  });
});

describe('exports: searching by personal data', () => {
  it('refuses an export filtered by phone number to a user who sees numbers masked, and accepts it unmasked', async () => {
    const refused = await clients.masked.post('/exports', { type: 'call-logs', format: 'csv', number: '+49' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('needs the permission to see personal data unmasked');
    const accepted = await clients.unmasked.post('/exports', { type: 'call-logs', format: 'csv', number: '+4930123456712' });
    expect(accepted.status).toBe(303);
    const [requested] = await h.db
      .collection('audit')
      .find({ tenantId: tenant, action: 'export.requested', outcome: 'success' })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    expect(JSON.parse(String(requested?.details?.filter))).toEqual({ number: maskPhoneNumber('+4930123456712') });
    expect(JSON.stringify(requested)).not.toContain('30123456712');
  });
});

describe('exports of chats with their messages', () => {
  /** Asks for an export of the chats tagged `transcript` from the chat list and waits until the worker is done. */
  async function exportTranscriptChats(client: PortalClient, form: Record<string, string>): Promise<string> {
    await client.get('/chats?tag=transcript');
    const res = await client.post('/exports', { type: 'chats', tag: 'transcript', ...form });
    expect(res.status).toBe(303);
    const id = /^\/exports\/([0-9a-f]{24})$/.exec(String(res.headers.location))?.[1] as string;
    expect((await finished(id)).status).toBe('done');
    return id;
  }

  it('offers the choice between chats with their messages and chats only on the chat list only', async () => {
    const chats = await clients.chatsExporter.get('/chats?tag=transcript');
    expect(chats.status).toBe(200);
    expect(chats.text).toContain(
      '<select name="messages"><option value="include">Chats with their messages (CSV: one row per message)</option><option value="omit">Chats only (CSV: one row per chat)</option></select>',
    );
    expect(chats.text).toContain('<input type="hidden" name="tag" value="transcript">');
    expect((await clients.masked.get('/call-logs')).text).not.toContain('name="messages"');
  });

  it('downloads the chats as JSON with their messages in order, masked for a user without unmasked access', async () => {
    const id = await exportTranscriptChats(clients.chatsExporter, { format: 'json', messages: 'include' });
    const status = await clients.chatsExporter.get(`/exports/${id}`);
    expect(status.text).toContain('<dt>Contents</dt><dd>chats with their messages</dd>');
    expect(status.text).toContain('<dt>Messages</dt><dd>120</dd>');
    const json = await clients.chatsExporter.get(await linkOf(clients.chatsExporter, id));
    expect(json.status).toBe(200);
    expect(json.headers['content-disposition']).toMatch(/^attachment; filename="chats-with-messages-\d{8}-\d{6}\.json"$/);
    const exported = JSON.parse(json.text) as { id: string; messageCount: number; messages: ChatMessage[] }[];
    expect(exported.map((chat) => chat.id)).toEqual(['chat-long', 'chat-empty']);
    const [long, empty] = exported;
    expect(long?.messages.map((message) => message.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i * 2 + 1));
    expect(long?.messages[50]?.text).toBe('Call me at +49 ••• ••• ••78 or mail j•••@e•••.com, thanks');
    expect(empty?.messages).toEqual([]);
    for (const piece of PLANTED_PIECES) expect(json.text).not.toContain(piece);
    expect(json.text).not.toMatch(UNMASKED_E164);
    expect(json.text).not.toMatch(UNMASKED_EMAIL);
    const audited = await h.db.collection('audit').findOne({ tenantId: tenant, action: 'export.downloaded', outcome: 'success', target: `export:${id}` });
    expect(audited?.details).toMatchObject({ type: 'chats', records: 2, messages: 120, masked: true });
  });

  it('downloads the chats as CSV with one row per message, or one row per chat when messages are left out', async () => {
    const withMessages = await exportTranscriptChats(clients.chatsExporter, { format: 'csv', messages: 'include' });
    const csv = await clients.chatsExporter.get(await linkOf(clients.chatsExporter, withMessages));
    const [header, ...rows] = parseCsv(csv.text.slice(1));
    expect(header).toEqual(chatMessageHeader());
    const seq = header?.indexOf('messageSeq') ?? -1;
    expect(rows.map((row) => [row[0], row[seq]])).toEqual([...Array.from({ length: 120 }, (_, i) => ['chat-long', String(i * 2 + 1)]), ['chat-empty', '']]);
    for (const piece of PLANTED_PIECES) expect(csv.text).not.toContain(piece);
    expect(csv.text).not.toMatch(UNMASKED_EMAIL);

    const chatsOnly = await exportTranscriptChats(clients.chatsExporter, { format: 'csv', messages: 'omit' });
    expect((await clients.chatsExporter.get(`/exports/${chatsOnly}`)).text).toContain('<dt>Contents</dt><dd>chats only, without messages</dd>');
    const flat = await clients.chatsExporter.get(await linkOf(clients.chatsExporter, chatsOnly));
    const [flatHeader, ...flatRows] = parseCsv(flat.text.slice(1));
    expect(flatHeader).toEqual(exportHeader('chats'));
    expect(flatRows.map((row) => row[0])).toEqual(['chat-long', 'chat-empty']);
  });

  it.each([
    ['a messages choice for call logs', { type: 'call-logs', format: 'csv', messages: 'include' }],
    ['an unknown messages choice', { type: 'chats', format: 'csv', messages: 'everything' }],
  ])('refuses %s as 400', async (_name, form) => {
    const client = form.type === 'chats' ? clients.chatsExporter : clients.masked;
    await client.get('/exports');
    expect((await client.post('/exports', form)).status).toBe(400);
  });
});
