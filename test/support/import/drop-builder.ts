import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { recordFileName, recordFilePath, type RecordEncoding } from '../../../src/archive/drop-layout.js';
import {
  buildManifest,
  hashManifest,
  manifestPathOf,
  recordFileEntry,
  serializeManifest,
  type ManifestFile,
  type ManifestLink,
} from '../../../src/archive/manifest.js';
import { writeRecordFiles } from '../../../src/archive/record-file-writer.js';
import type { RecordType } from '../../../src/records/record-type.js';
import type { TimeWindow } from '../../../src/sources/source.js';

/** One delivery of {@link DropBuilder.deliver}. */
export interface Delivery {
  runId: string;
  window: TimeWindow;
  records: Partial<Record<RecordType, unknown[]>>;
  encoding?: RecordEncoding;
  gzip?: boolean;
  maxRecords?: number;
  /** Link to use instead of the builder's chain head (to forge a broken chain). */
  previous?: ManifestLink | null;
  /** Record files delivered as these exact bytes (a gzip bomb), listed with their real size and SHA-256. */
  rawFiles?: { type: RecordType; part: number; records: number; bytes: Buffer }[];
  /** Changes the manifest's file entries before the manifest is built (to state a wrong count). */
  alterFiles?: (files: ManifestFile[]) => void;
  /** Names the files in the legacy form without the run id, as drops delivered before names carried it. */
  legacyNames?: boolean;
}

/**
 * Writes real drops into a directory with the archive writers (record files, manifests chained by SHA-256), as the
 * export pipeline does, so import tests control exactly which record versions each manifest carries.
 */
export class DropBuilder {
  head: ManifestLink | null = null;

  constructor(
    readonly root: string,
    readonly tenantId: string,
  ) {}

  /** Delivers one run: its record files, then its manifest linked to the current head. Returns the manifest link. */
  async deliver(delivery: Delivery): Promise<ManifestLink> {
    const encoding = delivery.encoding ?? 'json';
    const gzip = delivery.gzip ?? true;
    const runId = delivery.legacyNames === true ? null : delivery.runId;
    const spool = await mkdtemp(join(tmpdir(), 'drop-builder-'));
    try {
      const files: ManifestFile[] = [];
      const windows: Partial<Record<RecordType, TimeWindow>> = {};
      for (const [type, records] of Object.entries(delivery.records) as [RecordType, unknown[]][]) {
        windows[type] = delivery.window;
        const written = await writeRecordFiles(records, {
          directory: spool,
          encoding,
          gzip,
          maxRecords: delivery.maxRecords ?? 50_000,
          fileName: (part) => recordFileName({ type, window: delivery.window, part, encoding, gzip, runId }),
        });
        for (const file of written) {
          const path = recordFilePath(this.tenantId, { type, window: delivery.window, part: file.part, encoding, gzip, runId });
          await mkdir(dirname(join(this.root, path)), { recursive: true });
          await rename(file.localPath, join(this.root, path));
          files.push(recordFileEntry(this.tenantId, runId, type, delivery.window, file, { encoding, gzip }));
        }
      }
      for (const raw of delivery.rawFiles ?? []) {
        const path = recordFilePath(this.tenantId, { type: raw.type, window: delivery.window, part: raw.part, encoding, gzip, runId });
        windows[raw.type] = delivery.window;
        await mkdir(dirname(join(this.root, path)), { recursive: true });
        await writeFile(join(this.root, path), raw.bytes);
        const facts = { part: raw.part, records: raw.records, bytes: raw.bytes.length, sha256: createHash('sha256').update(raw.bytes).digest('hex') };
        files.push(recordFileEntry(this.tenantId, runId, raw.type, delivery.window, facts, { encoding, gzip }));
      }
      delivery.alterFiles?.(files);
      const manifest = buildManifest({
        tenantId: this.tenantId,
        runId: delivery.runId,
        windows,
        previous: delivery.previous === undefined ? this.head : delivery.previous,
        files,
      });
      const bytes = serializeManifest(manifest);
      const path = manifestPathOf(manifest);
      await mkdir(dirname(join(this.root, path)), { recursive: true });
      await writeFile(join(this.root, path), bytes);
      this.head = { path, sha256: hashManifest(bytes) };
      return this.head;
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }
}
