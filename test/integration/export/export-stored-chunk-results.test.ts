import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseManifest } from '../../../src/archive/manifest.js';
import type { ChunkResult } from '../../../src/queue/job-payloads.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';
import { finalizeRun } from '../../../worker/processors/finalize-processor.js';
import { createExportHarness, type ExportHarness } from '../../support/export-harness.js';

/**
 * A deploy can meet finalize jobs whose chunks ran on the previous code: BullMQ hands the finalize job its children's
 * return values as that code stored them in Redis (JSON). These are such values, byte for byte as the code before the
 * delivered file had one shape (`ChunkResult.files` of `RunFile & { part, encoding, gzip, from, to }`) returned them.
 */
const TENANT = 'finalize-stored-results';
const RUN_ID = '20261123T100000Z-00c0ffee00c0ffee';
const STORED_CHUNK_RESULTS = [
  '{"type":"chats","index":0,"records":10,"rejected":1,"bytes":2050,"files":[' +
    `{"path":"${TENANT}/2026/11/23/chats/chats-20261123T080000Z-20261123T090000Z-${RUN_ID}-0001.json.gz","type":"chats","kind":"records","part":1,"records":7,"bytes":1200,"sha256":"${'1'.repeat(64)}","encoding":"json","gzip":true,"from":"2026-11-23T08:00:00.000Z","to":"2026-11-23T09:00:00.000Z"},` +
    `{"path":"${TENANT}/2026/11/23/chats/chats-20261123T080000Z-20261123T090000Z-${RUN_ID}-0002.json.gz","type":"chats","kind":"records","part":2,"records":3,"bytes":640,"sha256":"${'2'.repeat(64)}","encoding":"json","gzip":true,"from":"2026-11-23T08:00:00.000Z","to":"2026-11-23T09:00:00.000Z"},` +
    `{"path":"${TENANT}/2026/11/23/rejected/chats-20261123T080000Z-20261123T090000Z-${RUN_ID}.json","type":"chats","kind":"rejected","part":null,"records":1,"bytes":210,"sha256":"${'3'.repeat(64)}","encoding":"json","gzip":false,"from":"2026-11-23T08:00:00.000Z","to":"2026-11-23T09:00:00.000Z"}]}`,
  '{"type":"chats","index":1,"records":0,"rejected":0,"bytes":23,"files":[' +
    `{"path":"${TENANT}/2026/11/23/chats/chats-20261123T090000Z-20261123T100000Z-${RUN_ID}-0001.json.gz","type":"chats","kind":"records","part":1,"records":0,"bytes":23,"sha256":"${'4'.repeat(64)}","encoding":"json","gzip":true,"from":"2026-11-23T09:00:00.000Z","to":"2026-11-23T10:00:00.000Z"}]}`,
  '{"type":"call-logs","index":0,"records":5,"rejected":0,"bytes":980,"files":[' +
    `{"path":"${TENANT}/2026/11/23/call-logs/call-logs-20261123T080000Z-20261123T100000Z-${RUN_ID}-0001.json.gz","type":"call-logs","kind":"records","part":1,"records":5,"bytes":980,"sha256":"${'5'.repeat(64)}","encoding":"json","gzip":true,"from":"2026-11-23T08:00:00.000Z","to":"2026-11-23T10:00:00.000Z"}]}`,
];
/** SHA-256 of the manifest the previous code's finalize wrote from {@link STORED_CHUNK_RESULTS}. */
const MANIFEST_SHA256 = '6ef4522b05a6a24a5e48693395b649498c1ade7960c810af308b851ef2da9552';

let harness: ExportHarness;
let drop: string;

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), { now: () => new Date('2026-11-23T10:30:00.000Z') });
  drop = await mkdtemp(join(tmpdir(), 'retention-stored-results-'));
});

afterAll(async () => {
  await harness?.close();
  await rm(drop, { recursive: true, force: true });
});

describe('chunk results stored by the previous code', () => {
  it('finalize to the manifest that code wrote, byte for byte, and the run records the same files', async () => {
    await harness.controlPlane.tenants.create({ id: TENANT, displayName: TENANT });
    await harness.controlPlane.settings.putRetention(
      TENANT,
      {
        mode: 'offline',
        dataTypes: [...RECORD_TYPES],
        schedule: { cron: '0 2 * * *' },
        source: { kind: 'demo', seed: 1, recordsPerHour: 1 },
        target: { kind: 'local', directory: drop },
      },
      { actor: 'test' },
    );
    const window = { from: new Date('2026-11-23T08:00:00.000Z'), to: new Date('2026-11-23T10:00:00.000Z') };
    expect(await harness.controlPlane.checkpoints.claimRun(TENANT, RUN_ID)).toBe(true);
    await harness.controlPlane.runs.createIfAbsent({
      id: RUN_ID,
      tenantId: TENANT,
      trigger: 'manual',
      windows: { 'call-logs': window, chats: window },
      previous: null,
      chunkCount: 3,
      createdAt: window.to,
    });

    const stored = STORED_CHUNK_RESULTS.map((json) => JSON.parse(json) as ChunkResult);
    const result = await finalizeRun(harness.deps, { tenantId: TENANT, runId: RUN_ID }, stored);

    expect(result.manifest.path).toBe(`${TENANT}/2026/11/23/manifest-${RUN_ID}.json`);
    const bytes = await readFile(join(drop, result.manifest.path));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.manifest.sha256);
    const listed = stored.flatMap((chunk) => chunk.files).sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(parseManifest(bytes).files).toEqual(listed);
    expect(result.manifest.sha256).toBe(MANIFEST_SHA256);

    const document = await harness.db.collection('runs').findOne({ _id: RUN_ID as never });
    expect(document?.files).toEqual(listed.map(({ path, type, kind, records, bytes: size, sha256 }) => ({ path, type, kind, records, bytes: size, sha256 })));
    expect((await harness.controlPlane.runs.get(TENANT, RUN_ID))?.files.map((file) => file.path)).toEqual(listed.map((file) => file.path));
  });
});
