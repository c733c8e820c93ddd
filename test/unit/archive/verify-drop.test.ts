import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveRunId, recordFileName, rejectedFileName } from '../../../src/archive/drop-layout.js';
import {
  buildManifest,
  hashManifest,
  manifestPathOf,
  parseManifest,
  recordFileEntry,
  rejectedFileEntry,
  serializeManifest,
  type ManifestFile,
  type ManifestLink,
} from '../../../src/archive/manifest.js';
import { planWindows } from '../../../src/archive/plan-windows.js';
import { writeRecordFiles } from '../../../src/archive/record-file-writer.js';
import { RejectedRecordsWriter } from '../../../src/archive/rejected-records-writer.js';
import { verifyDrop, verifyManifestFiles, type DropProblemCode, type DropVerificationReport } from '../../../src/archive/verify-drop.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { TempDirectoryTarget } from './temp-directory-target.js';

const HOUR = 3_600_000;
const TENANT = 'acme';
const format = { encoding: 'json', gzip: true } as const;

let target: TempDirectoryTarget;
let spool: string;

beforeEach(async () => {
  target = await TempDirectoryTarget.create();
  spool = await mkdtemp(join(tmpdir(), 'retention-verify-spool-'));
});
afterEach(async () => {
  await target.destroy();
  await rm(spool, { recursive: true, force: true });
});

function recordsIn(type: RecordType, from: Date, to: Date, count: number, version = 1): Record<string, unknown>[] {
  const step = (to.getTime() - from.getTime()) / count;
  return Array.from({ length: count }, (_, index) => ({
    id: `${type}-${from.getTime()}-${index}`,
    updatedAt: new Date(from.getTime() + Math.floor(index * step) + version - 1).toISOString(),
    payload: (version === 1 ? 'x' : 'y').repeat(50 + (index % 7)),
  }));
}

interface DeliveredRun {
  path: string;
  link: ManifestLink;
  files: string[];
}

/**
 * A miniature export run: plan, encode per slice, upload files, then the manifest chained to `previous`.
 * `legacyNames` names the files as drops did before names carried the run id; `version` changes the records' content.
 */
async function deliverRun(
  now: string,
  checkpoint: Date,
  previous: ManifestLink | null,
  options: { legacyNames?: boolean; version?: number } = {},
): Promise<DeliveredRun> {
  const types: RecordType[] = ['chats', 'contacts'];
  const plan = planWindows({
    now: new Date(now),
    checkpoints: { chats: checkpoint, contacts: checkpoint },
    types,
    settleLagMs: 0,
    initialLookbackMs: HOUR,
    sliceMs: HOUR,
  });
  const runId = deriveRunId(TENANT, plan.windows, previous?.sha256 ?? null);
  const fileRunId = options.legacyNames === true ? null : runId;
  const entries: ManifestFile[] = [];
  for (const { type, slices } of plan.types) {
    for (const slice of slices) {
      const encoded = await writeRecordFiles(recordsIn(type, slice.from, slice.to, type === 'chats' ? 25 : 0, options.version), {
        directory: spool,
        maxRecords: 10,
        ...format,
        fileName: (part) => recordFileName({ type, window: slice, part, ...format, runId: fileRunId }),
      });
      for (const file of encoded) {
        const entry = recordFileEntry(TENANT, fileRunId, type, slice, file, format);
        await target.uploadAtomically(file.localPath, entry.path, { bytes: file.bytes });
        entries.push(entry);
      }
      if (type === 'chats') {
        const writer = new RejectedRecordsWriter({ directory: spool, fileName: rejectedFileName(type, slice, fileRunId) });
        await writer.write({ reason: 'schema', issues: [{ path: 'updatedAt', message: 'Required' }], record: { id: 'bad' } });
        const rejected = await writer.close();
        const entry = rejectedFileEntry(TENANT, fileRunId, type, slice, rejected!);
        await target.uploadAtomically(rejected!.localPath, entry.path, { bytes: rejected!.bytes });
        entries.push(entry);
      }
    }
  }
  const manifest = buildManifest({ tenantId: TENANT, runId, windows: plan.windows, previous, files: entries });
  const bytes = serializeManifest(manifest);
  const local = join(spool, `manifest-${runId}.json`);
  await writeFile(local, bytes);
  const path = manifestPathOf(manifest);
  await target.uploadAtomically(local, path, { bytes: bytes.length });
  return { path, link: { path, sha256: hashManifest(bytes) }, files: entries.map((entry) => entry.path) };
}

async function deliverChain(): Promise<DeliveredRun[]> {
  const first = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null);
  const second = await deliverRun('2026-11-23T23:30:00Z', new Date('2026-11-23T18:00:00Z'), first.link);
  const third = await deliverRun('2026-11-24T01:00:00Z', new Date('2026-11-23T23:30:00Z'), second.link);
  return [first, second, third];
}

const codes = (report: DropVerificationReport): DropProblemCode[] => report.problems.map((problem) => problem.code).sort();

describe('verifyDrop', () => {
  it('reports ok on an intact three-manifest chain, in chain order', async () => {
    const runs = await deliverChain();
    const report = await verifyDrop(target, TENANT);
    expect(report.problems).toEqual([]);
    expect(report.verdict).toBe('ok');
    expect(report.manifests.map((manifest) => manifest.path)).toEqual(runs.map((run) => run.path));
    expect(report.manifests[0]?.previous).toBeNull();
    expect(report.manifests[2]?.previous).toEqual(runs[1]?.link);
    expect(report.filesChecked).toBe(runs.reduce((sum, run) => sum + run.files.length, 0));
    expect(report.manifests[0]).toMatchObject({ records: 50, rejected: 2 });
    expect(runs[1]!.path.startsWith('acme/2026/11/23/')).toBe(true);
    expect(runs[2]!.path.startsWith('acme/2026/11/24/')).toBe(true);
  });

  it('catches a flipped byte', async () => {
    const runs = await deliverChain();
    const victim = runs[1]!.files[2]!;
    const bytes = await readFile(target.resolve(victim));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(target.resolve(victim), bytes);
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('failed');
    expect(codes(report)).toEqual(['FILE_CHECKSUM_MISMATCH']);
    expect(report.problems[0]).toMatchObject({ path: victim, manifest: runs[1]!.path, severity: 'error' });
  });

  it('catches a truncated file', async () => {
    const runs = await deliverChain();
    const victim = runs[0]!.files[0]!;
    await truncate(target.resolve(victim), 10);
    const report = await verifyDrop(target, TENANT);
    expect(codes(report)).toEqual(['FILE_SIZE_MISMATCH']);
    expect(report.problems[0]?.path).toBe(victim);
  });

  it('catches a deleted file', async () => {
    const runs = await deliverChain();
    const victim = runs[2]!.files.at(-1)!;
    await unlink(target.resolve(victim));
    const report = await verifyDrop(target, TENANT);
    expect(codes(report)).toEqual(['FILE_MISSING']);
    expect(report.problems[0]).toMatchObject({ path: victim, manifest: runs[2]!.path });
  });

  it('catches a manifest removed from the middle of the chain, and reports its files as unlisted', async () => {
    const runs = await deliverChain();
    await unlink(target.resolve(runs[1]!.path));
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('failed');
    const errors = report.problems.filter((problem) => problem.severity === 'error');
    expect(errors).toEqual([expect.objectContaining({ code: 'CHAIN_PREVIOUS_MISSING', path: runs[1]!.path, manifest: runs[2]!.path })]);
    const unlisted = report.problems.filter((problem) => problem.code === 'FILE_UNLISTED').map((problem) => problem.path);
    expect(unlisted.sort()).toEqual([...runs[1]!.files].sort());
    expect(report.manifests.map((manifest) => manifest.path)).toEqual([runs[0]!.path, runs[2]!.path]);
  });

  it('catches an altered previous manifest, even one that is still valid', async () => {
    const runs = await deliverChain();
    const path = target.resolve(runs[0]!.path);
    const manifest = parseManifest(await readFile(path));
    const forgedFiles = manifest.files.map((file, index) => (index === 0 ? { ...file, sha256: 'f'.repeat(64) } : file));
    const forged = serializeManifest({ ...manifest, files: forgedFiles });
    expect(() => parseManifest(forged)).not.toThrow();
    await writeFile(path, forged);
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('failed');
    expect(codes(report)).toEqual(['CHAIN_PREVIOUS_ALTERED', 'FILE_CHECKSUM_MISMATCH']);
    expect(report.problems.find((problem) => problem.code === 'CHAIN_PREVIOUS_ALTERED')).toMatchObject({ path: runs[0]!.path, manifest: runs[1]!.path });
  });

  it('catches a re-serialized previous manifest whose bytes changed by one space', async () => {
    const runs = await deliverChain();
    const path = target.resolve(runs[1]!.path);
    await writeFile(path, `${(await readFile(path, 'utf8')).trimEnd()} \n`);
    const report = await verifyDrop(target, TENANT);
    expect(codes(report)).toEqual(['CHAIN_PREVIOUS_ALTERED']);
  });

  it('reports a corrupt manifest as invalid', async () => {
    const runs = await deliverChain();
    await writeFile(target.resolve(runs[2]!.path), '{"format": "retention-drop"');
    const report = await verifyDrop(target, TENANT);
    expect(report.problems.filter((problem) => problem.severity === 'error').map((problem) => problem.code)).toEqual(['MANIFEST_INVALID']);
  });

  it('reports a fork when two manifests claim the same previous', async () => {
    const first = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null);
    await deliverRun('2026-11-23T20:00:00Z', new Date('2026-11-23T18:00:00Z'), first.link);
    await deliverRun('2026-11-23T21:00:00Z', new Date('2026-11-23T18:00:00Z'), first.link);
    const report = await verifyDrop(target, TENANT);
    expect(codes(report)).toContain('CHAIN_FORK');
    expect(report.verdict).toBe('failed');
  });

  it('reports a second genesis', async () => {
    await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null);
    await deliverRun('2026-11-23T20:00:00Z', new Date('2026-11-23T18:00:00Z'), null);
    expect(codes(await verifyDrop(target, TENANT))).toEqual(['CHAIN_GENESIS_DUPLICATE']);
  });

  it('keeps every manifest verifying when a later run delivers the same window again with changed records', async () => {
    const first = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null);
    const digests = async (paths: string[]) =>
      Promise.all(
        paths.map(async (path) =>
          createHash('sha256')
            .update(await readFile(target.resolve(path)))
            .digest('hex'),
        ),
      );
    const before = await digests(first.files);
    const again = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), first.link, { version: 2 });
    expect(again.path).not.toBe(first.path);
    expect(again.files.filter((path) => first.files.includes(path))).toEqual([]);
    expect(await digests(first.files)).toEqual(before);
    const report = await verifyDrop(target, TENANT, { expectedHead: again.link });
    expect(report.problems).toEqual([]);
    expect(report.manifests.map((manifest) => manifest.path)).toEqual([first.path, again.path]);
  });

  it('verifies a chain whose first manifests list legacy file names without a run id', async () => {
    const first = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null, { legacyNames: true });
    const second = await deliverRun('2026-11-23T23:30:00Z', new Date('2026-11-23T18:00:00Z'), first.link);
    const again = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), second.link, { version: 2 });
    expect(first.files[0]).toMatch(/\/chats\/chats-\d{8}T\d{6}Z-\d{8}T\d{6}Z-0001\.json\.gz$/);
    expect(again.files[0]).toContain(parseManifest(await readFile(target.resolve(again.path))).runId);
    const report = await verifyDrop(target, TENANT, { expectedHead: again.link });
    expect(report.problems).toEqual([]);
    expect(report.manifests.map((manifest) => manifest.path)).toEqual([first.path, second.path, again.path]);
    expect(report.filesChecked).toBe(first.files.length + second.files.length + again.files.length);
  });

  it('warns about unlisted files left by a crashed run without failing', async () => {
    await deliverChain();
    const leftover = 'acme/2026/11/24/chats/chats-20261124T010000Z-20261124T020000Z-0001.json.gz';
    const local = join(spool, 'leftover');
    await writeFile(local, 'partial');
    await target.uploadAtomically(local, leftover, { bytes: 7 });
    await target.uploadAtomically(local, `${leftover}.part`, { bytes: 7 });
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('ok');
    expect(report.problems.map((problem) => [problem.code, problem.path])).toEqual([
      ['FILE_UNLISTED', leftover],
      ['FILE_LEFTOVER', `${leftover}.part`],
    ]);
  });

  it('names the run an unlisted file was written by, when its name carries one', async () => {
    await deliverChain();
    const orphan = 'acme/2026/11/24/chats/chats-20261124T010000Z-20261124T020000Z-20261124T020000Z-0123456789abcdef-r1-0001.json.gz';
    const local = join(spool, 'orphan');
    await writeFile(local, 'x');
    await target.uploadAtomically(local, orphan, { bytes: 1 });
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('ok');
    expect(report.problems).toEqual([
      expect.objectContaining({
        code: 'FILE_UNLISTED',
        path: orphan,
        message: expect.stringContaining('left by run 20261124T020000Z-0123456789abcdef-r1, which has no manifest'),
      }),
    ]);
  });

  it('checks the expected head, which no successor protects', async () => {
    const runs = await deliverChain();
    const head = runs[2]!.link;
    expect((await verifyDrop(target, TENANT, { expectedHead: head })).verdict).toBe('ok');
    const path = target.resolve(head.path);
    await writeFile(path, `${(await readFile(path, 'utf8')).trimEnd()} \n`);
    expect(codes(await verifyDrop(target, TENANT))).toEqual([]);
    expect(codes(await verifyDrop(target, TENANT, { expectedHead: head }))).toEqual(['CHAIN_HEAD_MISMATCH']);
  });

  it('warns on an empty drop and refuses a bad tenant id', async () => {
    const report = await verifyDrop(target, TENANT);
    expect(report.verdict).toBe('ok');
    expect(codes(report)).toEqual(['DROP_EMPTY']);
    await expect(verifyDrop(target, '../etc')).rejects.toMatchObject({ code: 'ERR_TENANT_ID_INVALID' });
  });
});

describe('verifyManifestFiles', () => {
  it('passes an intact manifest and names each damaged file', async () => {
    const run = await deliverRun('2026-11-23T18:00:00Z', new Date('2026-11-23T16:00:00Z'), null);
    const manifest = parseManifest(await readFile(target.resolve(run.path)));
    expect(await verifyManifestFiles(target, manifest)).toEqual([]);
    await unlink(target.resolve(manifest.files[0]!.path));
    await truncate(target.resolve(manifest.files[1]!.path), 5);
    const problems = await verifyManifestFiles(target, manifest, { concurrency: 4 });
    expect(problems.map((problem) => [problem.code, problem.path])).toEqual([
      ['FILE_MISSING', manifest.files[0]!.path],
      ['FILE_SIZE_MISMATCH', manifest.files[1]!.path],
    ]);
  });
});
