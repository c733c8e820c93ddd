import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import type { UploadExpectation } from '../../../src/delivery/target.js';
import { HostSemaphore } from '../../../src/queue/host-semaphore.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { Source, SourcePage } from '../../../src/sources/source.js';
import { fileSettingsSchema } from '../../../src/tenants/retention-settings.js';
import { exportSlice } from '../../../worker/processors/chunk-processor.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const window = { from: new Date('2026-11-23T10:00:00.000Z'), to: new Date('2026-11-23T12:00:00.000Z') };

/** Demo call logs of the window in pages, each page after a turn of the event loop (as a network source gives them). */
class PagedSource implements Source {
  readonly kind = 'paged';
  pagesServed = 0;
  finished = false;

  constructor(private readonly failAfterPages?: number) {}

  async *read(): AsyncGenerator<SourcePage> {
    const records = [...generateRecords({ seed: 3, tenantId: 'acme', type: 'call-logs', ...window })];
    for (let start = 0; start < records.length; start += 50) {
      await nextTurn();
      if (this.pagesServed === this.failAfterPages) throw new Error('the export API went away');
      this.pagesServed += 1;
      yield { records: records.slice(start, start + 50) };
    }
    this.finished = true;
  }
}

/** A local target with a warm-up that notes when it ran and whether it held a lease of the host's semaphore. */
class PreparedTarget extends LocalDirectoryTarget {
  readonly prepared: { pagesServed: number; sourceFinished: boolean; leasesHeld: number; uploadsBefore: number }[] = [];
  uploads = 0;

  constructor(
    root: string,
    private readonly source: PagedSource,
    private readonly semaphore: HostSemaphore,
    private readonly hostKey: string,
  ) {
    super({ root });
  }

  async prepare(): Promise<void> {
    this.prepared.push({
      pagesServed: this.source.pagesServed,
      sourceFinished: this.source.finished,
      leasesHeld: await this.semaphore.held(this.hostKey),
      uploadsBefore: this.uploads,
    });
  }

  override async uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void> {
    this.uploads += 1;
    await super.uploadAtomically(localPath, remotePath, expected);
  }
}

describe('exportSlice warm-up of the target', () => {
  const redis = createTestRedis();
  const prefix = uniqueName('warm-up');
  const semaphore = new HostSemaphore(redis, { prefix, limit: 2, leaseMs: 5_000 });
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'retention-warm-up-'));
  });

  afterEach(async () => {
    await cleanupPrefix(redis, prefix);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await redis.quit();
  });

  async function run(source: PagedSource, hostKey: string) {
    const root = await mkdtemp(join(dir, 'drop-'));
    const spool = await mkdtemp(join(dir, 'spool-'));
    const target = new PreparedTarget(root, source, semaphore, hostKey);
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
    return { target, root, slice };
  }

  it('opens the connection under a lease of the host while the source is still being read, before the first upload', async () => {
    const source = new PagedSource();
    const hostKey = uniqueName('host');
    const { target, root, slice } = await run(source, hostKey);
    const result = await slice;
    expect(result.records).toBeGreaterThan(100);
    expect(target.prepared).toHaveLength(1);
    expect(target.prepared[0]).toMatchObject({ sourceFinished: false, leasesHeld: 1, uploadsBefore: 0 });
    expect(target.prepared[0]?.pagesServed).toBeLessThan(source.pagesServed);
    const delivered = await readdir(root, { recursive: true });
    for (const file of result.files) expect(delivered).toContain(file.path);
    await vi.waitFor(async () => expect(await semaphore.held(hostKey)).toBe(0));
  });

  it('a slice that fails before its first upload gives the warm-up lease back and rejects with its own error', async () => {
    const source = new PagedSource(0);
    const hostKey = uniqueName('host');
    const { slice } = await run(source, hostKey);
    await expect(slice).rejects.toThrow('the export API went away');
    await vi.waitFor(async () => expect(await semaphore.held(hostKey)).toBe(0));
  });
});
