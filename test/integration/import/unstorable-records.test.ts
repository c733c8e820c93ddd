import { UnrecoverableError } from 'bullmq';
import { BSON, MongoInvalidArgumentError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { manifestPath } from '../../../src/archive/drop-layout.js';
import { refusesManifest } from '../../../src/import/import-errors.js';
import { importManifest } from '../../../src/import/import-manifest.js';
import { toJobError } from '../../../src/queue/permanent-failure.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { FULL_ARCHIVE_SCOPE } from '../../../src/store/archive/archive-scope.js';
import { callLogDocument } from '../../../src/store/archive/archive-documents.js';
import { guardedUpsert, MAX_BSON_DOCUMENT_BYTES } from '../../../src/store/archive/archive-writer.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const DAY = 86_400_000;
const T0 = new Date('2026-05-11T00:00:00.000Z');
let harness: ImportHarness;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
});
afterAll(async () => {
  await harness?.close();
});

function demo<T extends RecordType>(tenantId: string, type: T, day: number, count: number) {
  const from = new Date(T0.getTime() + day * DAY);
  return [...generateRecords({ seed: 3, tenantId, type, from, to: new Date(from.getTime() + DAY), ratesPerHour: { [type]: Math.ceil(count / 24) + 1 } })].slice(
    0,
    count,
  );
}
const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });
const access = (tenantId: string) => ({ tenantId, scope: FULL_ARCHIVE_SCOPE });

/** BSON bytes of the update statement the driver builds for a call log's guarded upsert (what it compares with 16 MiB). */
function writeStatementBytes(call: CallLog, src: string): number {
  const parsed = parseRecord('call-logs', JSON.parse(JSON.stringify(call)));
  if (!parsed.ok) throw new Error(parsed.issues[0]?.message);
  const document = callLogDocument(parsed.record, src);
  const { updateOne } = guardedUpsert(document, 'ix.v', document.ix.v) as { updateOne: { filter: object; update: object } };
  return BSON.calculateObjectSize({ q: updateOne.filter, u: updateOne.update, upsert: true });
}
const withBlob = (call: CallLog, length: number): CallLog => ({ ...call, attributes: { ...call.attributes, blob: 'x'.repeat(length) } });
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i += 1) value = { n: value };
  return value;
}

describe('records the archive cannot store', () => {
  it('are rejected with their reason before the write, and the import goes on and completes', async () => {
    const tenant = 'unstorable';
    const drop = await harness.setUpTenant(tenant);
    const window = windowOf(0);
    const src = manifestPath(tenant, 'r1', window.to);
    const calls = demo(tenant, 'call-logs', 0, 8) as CallLog[];
    const contacts = demo(tenant, 'contacts', 0, 4) as Contact[];
    const room = MAX_BSON_DOCUMENT_BYTES - 1 - writeStatementBytes(withBlob(calls[1] as CallLog, 0), src);
    const justFits = withBlob(calls[1] as CallLog, room);
    const justTooLarge = withBlob(calls[2] as CallLog, MAX_BSON_DOCUMENT_BYTES - writeStatementBytes(withBlob(calls[2] as CallLog, 0), src));
    expect(writeStatementBytes(justFits, src)).toBe(MAX_BSON_DOCUMENT_BYTES - 1);
    expect(writeStatementBytes(justTooLarge, src)).toBe(MAX_BSON_DOCUMENT_BYTES);
    const large = withBlob(calls[3] as CallLog, 17 * 1024 * 1024);
    const nulKey = { ...calls[4], attributes: { 'bad\u0000key': 1 } };
    const deep = { ...contacts[1], attributes: { custom: nested(99) } };
    const withinDepth = { ...contacts[2], attributes: { custom: nested(98) } };

    const link = await drop.deliver({
      runId: 'r1',
      window,
      records: {
        'call-logs': [calls[0], justFits, justTooLarge, large, nulKey, calls[5], calls[6], calls[7]],
        contacts: [contacts[0], deep, withinDepth, contacts[3]],
      },
      gzip: false,
    });
    expect(link.path).toBe(src);

    const outcome = await importManifest(harness.deps, tenant, link.path);
    expect(outcome.status).toBe('imported');
    const record = await harness.deps.imports.get(tenant, link.path);
    expect(record?.status).toBe('imported');
    expect(record?.counts?.types['call-logs']).toMatchObject({ records: 5, inserted: 5 });
    expect(record?.counts?.types.contacts).toMatchObject({ records: 3, inserted: 3 });
    expect(record?.counts?.rejected).toEqual({ 'call-logs': 3, contacts: 1 });
    const callFile = expect.stringContaining('/call-logs/');
    expect(record?.rejections).toEqual([
      {
        type: 'call-logs',
        file: callFile,
        index: 2,
        id: calls[2]?.id,
        reason: 'too-large',
        issues: [{ path: '(record)', message: expect.stringContaining(`at most ${MAX_BSON_DOCUMENT_BYTES} bytes`) }],
      },
      {
        type: 'call-logs',
        file: callFile,
        index: 3,
        id: calls[3]?.id,
        reason: 'too-large',
        issues: [{ path: '(record)', message: expect.stringContaining('callLogs document of') }],
      },
      {
        type: 'call-logs',
        file: callFile,
        index: 4,
        id: calls[4]?.id,
        reason: 'field-name',
        issues: [{ path: '(record)', message: expect.stringContaining('NUL') }],
      },
      {
        type: 'contacts',
        file: expect.stringContaining('/contacts/'),
        index: 1,
        id: contacts[1]?.id,
        reason: 'too-deep',
        issues: [{ path: '(record)', message: expect.stringContaining('100 levels') }],
      },
    ]);

    expect((await harness.store.getCallLog(access(tenant), justFits.id))?.attributes['blob']).toHaveLength(room);
    for (const id of [calls[2]?.id, calls[3]?.id, calls[4]?.id]) expect(await harness.store.getCallLog(access(tenant), id as string)).toBeUndefined();
    expect(await harness.store.getContact(access(tenant), contacts[1]?.id as string)).toBeUndefined();
    expect(await harness.store.getContact(access(tenant), contacts[2]?.id as string)).toBeDefined();
    const audit = (await harness.controlPlane.audit.list(tenant)).find((e) => e.action === 'archive.imported');
    expect(audit?.details).toMatchObject({ records: 8, rejected: 4 });

    const next = await drop.deliver({ runId: 'r2', window: windowOf(1), records: { 'call-logs': demo(tenant, 'call-logs', 1, 3) } });
    expect((await importManifest(harness.deps, tenant, next.path)).status).toBe('imported');
  });

  it('rejects exactly what the driver itself refuses: a write statement of 16 MiB', async () => {
    const tenant = 'unstorable-probe';
    const [call] = demo(tenant, 'call-logs', 0, 1) as [CallLog];
    const src = `${tenant}/2026/05/12/manifest-r1.json`;
    const room = MAX_BSON_DOCUMENT_BYTES - 1 - writeStatementBytes(withBlob(call, 0), src);
    const parse = (c: CallLog) => {
      const parsed = parseRecord('call-logs', JSON.parse(JSON.stringify(c)));
      if (!parsed.ok) throw new Error('invalid');
      return callLogDocument(parsed.record, src);
    };
    const probe = (await harness.archiveDb(tenant)).collection<{ _id: string }>('probe');
    const fits = parse(withBlob(call, room));
    await expect(probe.bulkWrite([guardedUpsert(fits, 'ix.v', fits.ix.v)], { ordered: false })).resolves.toMatchObject({ upsertedCount: 1 });
    const over = parse(withBlob(call, room + 1));
    await expect(probe.bulkWrite([guardedUpsert(over, 'ix.v', over.ix.v)], { ordered: false })).rejects.toBeInstanceOf(MongoInvalidArgumentError);
  });

  it('an unexpected RangeError while writing refuses the manifest permanently instead of retrying it forever', async () => {
    const tenant = 'unstorable-range';
    const drop = await harness.setUpTenant(tenant);
    const link = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': demo(tenant, 'call-logs', 0, 5) } });
    harness.deps.options.onRoundTrip = () => {
      throw new RangeError('The value of "offset" is out of range.');
    };
    let err: unknown;
    try {
      err = await importManifest(harness.deps, tenant, link.path).catch((e: unknown) => e);
    } finally {
      delete harness.deps.options.onRoundTrip;
    }
    expect(err).toMatchObject({ code: 'ERR_IMPORT_UNEXPECTED', message: expect.stringContaining('RangeError') });
    expect(refusesManifest(err)).toBe(true);
    expect(toJobError(err)).toBeInstanceOf(UnrecoverableError);
    const record = await harness.deps.imports.get(tenant, link.path);
    expect(record).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'ERR_IMPORT_UNEXPECTED', permanent: true } });
  });
});
