import { createHash } from 'node:crypto';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRunId } from '../../../src/archive/drop-layout.js';
import { upkeepDropAfterRun } from '../../../src/archive/drop-upkeep.js';
import { buildManifest, hashManifest, manifestPathOf, recordFileEntry, serializeManifest, type ManifestLink } from '../../../src/archive/manifest.js';
import { verifyDrop } from '../../../src/archive/verify-drop.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { parseRecoveryName } from '../../../src/delivery/recovery-names.js';
import type { SftpTarget, UploadStep, UploadStepEvent } from '../../../src/delivery/sftp-target.js';
import { peerTarget } from '../../support/sftp-peers/peer-target.js';
import { uniqueName } from '../../support/redis.js';
import { SFTP_PEERS } from '../../support/sftp-peers/peer-matrix.js';
import type { SftpPeer, SftpPeerDefinition } from '../../support/sftp-peers/sftp-peer.js';
import { readAll } from './target-contract.js';

/**
 * Issue 11.1 on every server of the peer matrix: a replacing upload with the server killed (SIGKILL) between any two of
 * its steps. On a server without `posix-rename@openssh.com` (ProFTPD, `SFTPExtensions -posixRename`) the replace is the
 * safe one, with the delivered file set aside under its recovery name; elsewhere it is one atomic rename. Either way the
 * delivered file exists at every instant under its name or its recovery name; the tenant's next run
 * (`upkeepDropAfterRun`, what finalize does) repairs and tidies, and `retention verify` passes.
 */

const TENANT = 'acme';
const WINDOW = { from: new Date('2026-11-23T10:00:00Z'), to: new Date('2026-11-23T11:00:00Z') };
const logger = pino({ level: 'silent' });
/**
 * Steps after which the server is killed; `recovery-copy-removed` is the end of the upload, nothing is between. A
 * server with an atomic replace never sets the delivered file aside.
 */
function killPoints(definition: SftpPeerDefinition): UploadStep[] {
  return definition.traits.posixRename ? ['part-written', 'part-checked', 'in-place'] : ['part-written', 'part-checked', 'previous-set-aside', 'in-place'];
}

interface KillCase {
  step: UploadStep;
  which: 'records file' | 'manifest';
}

let server: SftpPeer;
let spool: string;

beforeAll(async () => {
  spool = await mkdtemp(join(tmpdir(), 'retention-safe-replace-'));
});

afterAll(async () => {
  if (spool) await rm(spool, { recursive: true, force: true });
});

function targetAt(base: string, onUploadStep?: (event: UploadStepEvent) => Promise<void>): SftpTarget {
  return peerTarget(server, base, onUploadStep ? { onUploadStep } : {});
}

interface MiniDrop {
  recordPath: string;
  recordLocal: string;
  recordBytes: number;
  manifestPath: string;
  manifestLocal: string;
  manifestBytes: number;
  link: ManifestLink;
}

/** One records file and the manifest listing it, delivered through `target`. */
async function deliverMiniDrop(target: SftpTarget): Promise<MiniDrop> {
  const runId = deriveRunId(TENANT, { chats: WINDOW });
  const content = Buffer.from(`[\n${JSON.stringify({ id: 'c1', tenantId: TENANT, updatedAt: '2026-11-23T10:30:00.000Z' })}\n]\n`);
  const recordLocal = join(spool, `${uniqueName('records')}.json`);
  await writeFile(recordLocal, content);
  const entry = recordFileEntry(
    TENANT,
    runId,
    'chats',
    WINDOW,
    { part: 1, records: 1, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') },
    { encoding: 'json', gzip: false },
  );
  await target.uploadAtomically(recordLocal, entry.path, { bytes: content.length });
  const manifest = buildManifest({ tenantId: TENANT, runId, windows: { chats: WINDOW }, previous: null, files: [entry] });
  const bytes = serializeManifest(manifest);
  const manifestLocal = join(spool, `${uniqueName('manifest')}.json`);
  await writeFile(manifestLocal, bytes);
  const manifestPath = manifestPathOf(manifest);
  await target.uploadAtomically(manifestLocal, manifestPath, { bytes: bytes.length });
  return {
    recordPath: entry.path,
    recordLocal,
    recordBytes: content.length,
    manifestPath,
    manifestLocal,
    manifestBytes: bytes.length,
    link: { path: manifestPath, sha256: hashManifest(bytes) },
  };
}

/** A directory below the peer's root owned like the root (some peers log in as a throwaway user). */
async function makeBase(base: string): Promise<string> {
  const local = join(server.localRoot, base);
  await mkdir(local);
  const owner = await stat(server.localRoot);
  await chown(local, owner.uid, owner.gid);
  return local;
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe.each(SFTP_PEERS.map((definition) => [definition.id, definition] as const))(
  '%s: a replace with the server killed between two steps',
  (_id, definition) => {
    beforeAll(async () => {
      server = await definition.start();
    });

    afterAll(async () => {
      await server?.destroy();
    });

    // The manifest takes another repair path (read back from its recovery copy) only once it has been set aside; before
    // that, and on a server with an atomic replace, replacing it is replacing any file.
    const cases = killPoints(definition).flatMap((step): KillCase[] =>
      definition.traits.posixRename || step !== 'previous-set-aside'
        ? [{ step, which: 'records file' }]
        : [
            { step, which: 'records file' },
            { step, which: 'manifest' },
          ],
    );

    it.each(cases)(
      'killed after "$step" while replacing the $which: nothing is lost, the next run repairs, verify passes',
      async ({ step, which }) => {
        const base = uniqueName('replace');
        const local = await makeBase(base);
        const delivering = targetAt(base);
        let drop: MiniDrop;
        try {
          drop = await deliverMiniDrop(delivering);
        } finally {
          await delivering.close();
        }
        const [path, localFile, bytes] =
          which === 'manifest' ? [drop.manifestPath, drop.manifestLocal, drop.manifestBytes] : [drop.recordPath, drop.recordLocal, drop.recordBytes];
        const original = await readFile(join(local, path));

        const seen: UploadStep[] = [];
        let killed = false;
        const replacing = targetAt(base, async (event) => {
          seen.push(event.step);
          if (event.step === step && !killed) {
            killed = true;
            await server.kill();
          }
        });
        let outcome: string | undefined;
        try {
          outcome = await replacing.uploadAtomically(localFile, path, { bytes }).then(
            () => 'resolved',
            (err: unknown) => (err as { code?: string }).code,
          );
        } finally {
          await replacing.close();
          await server.restart();
        }
        expect(killed).toBe(true);
        // Killed once the new bytes are in place, only the removal of the recovery copy is lost: the upload succeeded.
        expect(outcome).toBe(step === 'in-place' ? 'resolved' : 'ERR_TARGET_UNREACHABLE');

        const leftNames = (await filesBelow(local)).map((name) => name.split('/').at(-1) ?? name);
        const underItsName = leftNames.includes(path.split('/').at(-1) ?? path);
        const underRecoveryName = leftNames.some((name) => parseRecoveryName(name)?.original === path.split('/').at(-1));
        expect(underItsName || underRecoveryName).toBe(true);

        const checking = new LocalDirectoryTarget({ root: local });
        const before = await verifyDrop(checking, TENANT, { expectedHead: drop.link });
        if (step === 'previous-set-aside') {
          expect(before.problems.filter((problem) => problem.severity === 'error')).toEqual([
            expect.objectContaining({ code: 'FILE_RECOVERABLE', path, message: expect.stringContaining('nothing is lost') }),
          ]);
        } else {
          expect(before.verdict).toBe('ok');
        }

        const nextRun = targetAt(base);
        try {
          const report = await upkeepDropAfterRun(
            nextRun,
            { tenantId: TENANT, runId: 'next-run', previous: drop.link, delivered: [drop.recordPath, drop.manifestPath] },
            logger,
          );
          if (step === 'previous-set-aside') expect(report.repair?.restored).toEqual([{ path, from: expect.stringContaining('.replaced-') }]);
          expect(report.tidy?.failed).toEqual([]);
          expect(await readAll(await nextRun.read(path))).toEqual(original);
        } finally {
          await nextRun.close();
        }

        const after = await verifyDrop(checking, TENANT, { expectedHead: drop.link });
        expect(after.problems).toEqual([]);
        expect(after.verdict).toBe('ok');
        expect(await filesBelow(local)).toEqual([drop.manifestPath, drop.recordPath].sort());
      },
      60_000,
    );

    it('a replace that finishes cleanly leaves no trace (atomic rename, or set aside, rename into place, recovery copy removed)', async () => {
      const base = uniqueName('replace');
      const local = await makeBase(base);
      const steps: UploadStepEvent[] = [];
      const target = targetAt(base, async (event) => {
        steps.push(event);
      });
      try {
        const first = join(spool, `${uniqueName('v1')}.json`);
        const second = join(spool, `${uniqueName('v2')}.json`);
        await writeFile(first, '"v1"');
        await writeFile(second, '"version 2"');
        await target.uploadAtomically(first, 'acme/file.json', { bytes: 4 });
        await target.uploadAtomically(second, 'acme/file.json', { bytes: 11 });
        expect(await readFile(join(local, 'acme/file.json'), 'utf8')).toBe('"version 2"');
        expect(await readdir(join(local, 'acme'))).toEqual(['file.json']);
      } finally {
        await target.close();
      }
      const firstUpload: UploadStep[] = ['part-written', 'part-checked', 'in-place'];
      if (definition.traits.posixRename) {
        expect(steps.map((event) => event.step)).toEqual([...firstUpload, ...firstUpload]);
      } else {
        expect(steps.map((event) => event.step)).toEqual([
          ...firstUpload,
          'part-written',
          'part-checked',
          'previous-set-aside',
          'in-place',
          'recovery-copy-removed',
        ]);
        expect(steps[5]?.recoveryPath).toMatch(/^acme\/file\.json\.replaced-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
      }
    });
  },
);
