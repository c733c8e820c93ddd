import { posix } from 'node:path';
import type { Logger } from 'pino';
import { tidyDeliveryLeftovers, type LeftoverTidyReport } from '../delivery/delivery-leftovers.js';
import { restoreFromRecoveryCopy, type RestoreOutcome } from '../delivery/recovery-names.js';
import type { Target } from '../delivery/target.js';
import { RetentionError } from '../errors.js';
import { MAX_MANIFEST_BYTES, hashManifest, parseManifest, type ManifestLink } from './manifest.js';

/** What {@link repairDeliveredManifest} did. */
export interface ManifestRepairReport {
  /** Files (the manifest itself included) put back from a recovery copy with the listed size and SHA-256. */
  restored: Array<{ path: string; from: string }>;
  /** Listed files missing under their names that no recovery copy could replace, with why. */
  unrepaired: Array<{ path: string; reason: string }>;
}

async function readCapped(target: Target, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await target.read(path)) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_MANIFEST_BYTES) throw new RetentionError('ERR_MANIFEST_INVALID', `manifest ${path} is more than the ${MAX_MANIFEST_BYTES} bytes allowed`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Why a missing listed file was not put back, for the report: no copy with `expected` bytes, or the rename failed. */
function whyNotRestored(outcome: Exclude<RestoreOutcome, { status: 'restored' }>, expected: string): string {
  return outcome.status === 'no-copy'
    ? `missing, and no recovery copy has ${expected}`
    : `its recovery copy ${outcome.from} could not be renamed back: ${outcome.error.message}`;
}

/**
 * Puts back what a server that died in the middle of a safe replace left only under a recovery name (see
 * `src/delivery/recovery-names.ts`): the manifest at `link` and every file it lists, each only when a recovery copy
 * has exactly the SHA-256 (and size) the chain records. Reads the manifest (one listing per directory of its files,
 * nothing else when all are there). A lost connection is thrown; what cannot be repaired is reported.
 *
 * @example
 * const report = await repairDeliveredManifest(target, run.previous);
 * for (const { path, from } of report.restored) logger.info({ path, from }, 'restored from its recovery copy');
 */
async function repairDeliveredManifest(target: Target, link: ManifestLink): Promise<ManifestRepairReport> {
  const report: ManifestRepairReport = { restored: [], unrepaired: [] };
  const entry = await target.stat(link.path);
  if (entry?.type !== 'file') {
    const outcome = await restoreFromRecoveryCopy(target, link.path, { sha256: link.sha256 });
    if (outcome.status !== 'restored') {
      report.unrepaired.push({ path: link.path, reason: whyNotRestored(outcome, 'its SHA-256') });
      return report;
    }
    report.restored.push({ path: link.path, from: outcome.from });
  }
  const bytes = await readCapped(target, link.path);
  if (hashManifest(bytes) !== link.sha256) {
    report.unrepaired.push({ path: link.path, reason: `its SHA-256 is not the ${link.sha256} the chain records, so its list of files is not trusted` });
    return report;
  }
  const manifest = parseManifest(bytes);
  const byDirectory = new Map<string, typeof manifest.files>();
  for (const file of manifest.files) {
    const directory = posix.dirname(file.path);
    byDirectory.set(directory, [...(byDirectory.get(directory) ?? []), file]);
  }
  for (const [directory, files] of byDirectory) {
    const entries = await target.list(directory);
    const present = new Set(entries.filter((item) => item.type === 'file').map((item) => `${directory}/${item.name}`));
    for (const file of files) {
      if (present.has(file.path)) continue;
      const outcome = await restoreFromRecoveryCopy(target, file.path, { bytes: file.bytes, sha256: file.sha256 }, entries);
      if (outcome.status === 'restored') report.restored.push({ path: file.path, from: outcome.from });
      else report.unrepaired.push({ path: file.path, reason: whyNotRestored(outcome, 'its size and SHA-256') });
    }
  }
  return report;
}

/** What a finalized run hands to {@link upkeepDropAfterRun}. */
export interface DropUpkeepInput {
  tenantId: string;
  runId: string;
  /** The manifest the run links to (the chain head when it was planned), `null` for a tenant's first run. */
  previous: ManifestLink | null;
  /** Every path the run delivered, its manifest included (`<tenant>/<yyyy>/<mm>/<dd>/…`). */
  delivered: readonly string[];
}

/** What {@link upkeepDropAfterRun} did. */
export interface DropUpkeepReport {
  repair: ManifestRepairReport | undefined;
  tidy: LeftoverTidyReport | undefined;
}

/**
 * The drop upkeep a finalized run does while it still holds the tenant, best effort (a failure is logged, never fails
 * the run):
 *
 * 1. repairs the previous manifest and its files ({@link repairDeliveredManifest}): a delivered file left only under
 *    its recovery name by a server that died in the middle of a replace gets its name back;
 * 2. tidies the day directories the run wrote to, and their subdirectories (`<tenant>/<yyyy>/<mm>/<dd>/` and its
 *    `<type>/` and `rejected/` folders; see `tidyDeliveryLeftovers`): `.part` files of uploads never retried, for
 *    instance by an earlier failed run over the same window, and recovery copies no longer needed.
 *
 * @example
 * await upkeepDropAfterRun(target, { tenantId, runId, previous: run.previous, delivered: [...paths, head.path] }, logger);
 */
export async function upkeepDropAfterRun(target: Target, input: DropUpkeepInput, logger: Logger): Promise<DropUpkeepReport> {
  const context = { tenantId: input.tenantId, runId: input.runId };
  const result: DropUpkeepReport = { repair: undefined, tidy: undefined };
  if (input.previous !== null) {
    try {
      result.repair = await repairDeliveredManifest(target, input.previous);
      for (const restored of result.repair.restored)
        logger.warn({ ...context, ...restored }, 'delivered file restored from its recovery copy (the server had stopped in the middle of replacing it)');
      for (const unrepaired of result.repair.unrepaired)
        logger.warn({ ...context, ...unrepaired }, 'delivered file of the previous run is missing and could not be restored; run retention verify');
    } catch (err) {
      logger.warn(
        { ...context, err: { message: err instanceof Error ? err.message : String(err) } },
        'could not check the previous manifest for files to restore; the next run tries again',
      );
    }
  }
  const days = new Set<string>();
  for (const path of input.delivered) {
    const segments = path.split('/');
    if (segments.length >= 5) days.add(segments.slice(0, 4).join('/'));
  }
  try {
    result.tidy = await tidyDeliveryLeftovers(target, [...days], { subdirectories: true });
    const { removedPartials, removedRecoveryCopies, restored, failed } = result.tidy;
    if (removedPartials.length + removedRecoveryCopies.length + restored.length > 0) {
      logger.info({ ...context, removedPartials, removedRecoveryCopies, restored }, 'leftovers of interrupted deliveries tidied');
    }
    if (failed.length > 0) logger.warn({ ...context, failed }, 'some leftovers of interrupted deliveries could not be tidied; the next run tries again');
  } catch (err) {
    logger.warn(
      { ...context, err: { message: err instanceof Error ? err.message : String(err) } },
      'could not tidy the leftovers of interrupted deliveries; the next run tries again',
    );
  }
  return result;
}
