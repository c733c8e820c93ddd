import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { SftpTarget } from '../../../src/delivery/sftp-target.js';
import { HostSemaphore } from '../../../src/queue/host-semaphore.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { Source, SourcePage } from '../../../src/sources/source.js';
import { fileSettingsSchema } from '../../../src/tenants/retention-settings.js';
import { exportSlice } from '../../../worker/processors/chunk-processor.js';
import { testDestinations } from '../../support/destinations.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

/** A slice's record file is uploaded to a real sshd while it is encoded: its `.part` grows before the source ends. */
const shared = inject('sftp');
const window = { from: new Date('2026-11-23T10:00:00.000Z'), to: new Date('2026-11-23T12:00:00.000Z') };

/** Demo call logs in pages; after `holdAfterPages` pages it waits for `release()` (or fails, if told to). */
class GatedSource implements Source {
  readonly kind = 'gated';
  pagesServed = 0;
  private opened: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => {
    this.opened = resolve;
  });

  constructor(
    private readonly holdAfterPages: number,
    private readonly failAtGate = false,
  ) {}

  release(): void {
    this.opened();
  }

  async *read(): AsyncGenerator<SourcePage> {
    const records = [...generateRecords({ seed: 5, tenantId: 'acme', type: 'call-logs', ...window })];
    for (let start = 0; start < records.length; start += 50) {
      await nextTurn();
      if (this.pagesServed === this.holdAfterPages) {
        await this.gate;
        if (this.failAtGate) throw new Error('the export API went away');
      }
      this.pagesServed += 1;
      yield { records: records.slice(start, start + 50) };
    }
  }
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

describe('exportSlice to SFTP uploads a record file while it is written', () => {
  const redis = createTestRedis();
  const prefix = uniqueName('growing');
  const semaphore = new HostSemaphore(redis, { prefix, limit: 2, leaseMs: 5_000 });
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'retention-growing-slice-'));
  });
  afterEach(async () => {
    await cleanupPrefix(redis, prefix);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await redis.quit();
  });

  async function start(source: GatedSource) {
    const name = uniqueName('drop');
    const rootOnDisk = join(shared.root, name);
    await mkdir(rootOnDisk);
    const spool = await mkdtemp(join(dir, 'spool-'));
    const hostKey = uniqueName('host');
    const target = new SftpTarget({
      host: shared.host,
      port: shared.port,
      username: shared.username,
      privateKey: shared.clientPrivateKey,
      hostKeyFingerprint: shared.hostKeyFingerprint,
      root: `/${name}`,
      connectTimeoutMs: 5_000,
      operationTimeoutMs: 10_000,
      closeTimeoutMs: 1_000,
      network: testDestinations().network,
    });
    const slice = exportSlice(
      {
        job: { tenantId: 'acme', runId: 'run-1', type: 'call-logs', index: 0, from: window.from.toISOString(), to: window.to.toISOString() },
        source,
        target,
        hostKey,
        hostSemaphore: semaphore,
        files: fileSettingsSchema.parse({}),
        spool,
      },
      async () => undefined,
    );
    slice.catch(() => undefined);
    return { target, rootOnDisk, spool, hostKey, slice };
  }

  it('the .part is on the server before the source has ended, and the delivered file is the encoded one', async () => {
    const source = new GatedSource(4);
    const { target, rootOnDisk, slice } = await start(source);
    try {
      await vi.waitFor(async () => expect((await filesUnder(rootOnDisk)).some((path) => path.endsWith('.part'))).toBe(true), { timeout: 10_000 });
      expect(source.pagesServed).toBe(4);
      source.release();
      const result = await slice;
      expect(result.files).toHaveLength(1);
      const [file] = result.files;
      expect(await filesUnder(rootOnDisk)).toEqual([file?.path]);
      const delivered = await readFile(join(rootOnDisk, file?.path ?? ''));
      expect(delivered.length).toBe(file?.bytes);
      const text = (file?.path.endsWith('.gz') === true ? gunzipSync(delivered) : delivered).toString('utf8');
      expect((JSON.parse(text) as unknown[]).length).toBe(result.records);
    } finally {
      await target.close();
    }
  });

  it('a source failing mid-file: the slice rejects with its error, the server keeps neither a file nor a .part, the lease is given back', async () => {
    const source = new GatedSource(4, true);
    const { target, rootOnDisk, spool, hostKey, slice } = await start(source);
    try {
      await vi.waitFor(async () => expect((await filesUnder(rootOnDisk)).some((path) => path.endsWith('.part'))).toBe(true), { timeout: 10_000 });
      source.release();
      await expect(slice).rejects.toThrow('the export API went away');
      expect(await filesUnder(rootOnDisk)).toEqual([]);
      expect(await filesUnder(spool).catch(() => [])).toEqual([]);
      await vi.waitFor(async () => expect(await semaphore.held(hostKey)).toBe(0));
    } finally {
      await target.close();
    }
  });
});
