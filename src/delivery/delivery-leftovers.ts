import { RetentionError } from '../errors.js';
import { partialUploadOriginal, recoveryCopiesIn, type RecoveryCopy } from './recovery-names.js';
import { isTargetConnectionError } from './target-errors.js';
import type { Target, TargetEntry } from './target.js';

/** What {@link tidyDeliveryLeftovers} did, paths relative to the target root. */
export interface LeftoverTidyReport {
  /** `<name>.part` files of uploads that were never finished. */
  removedPartials: string[];
  /** Recovery copies of files that exist again (the replace finished, or a retry delivered the file). */
  removedRecoveryCopies: string[];
  /** Files that were missing and were put back from their newest recovery copy. */
  restored: Array<{ path: string; from: string }>;
  /** Leftovers the server would not let go of, with why; they are tried again by the next run. */
  failed: Array<{ path: string; message: string }>;
}

/** Options of {@link tidyDeliveryLeftovers}. */
export interface LeftoverTidyOptions {
  /** Also tidy the immediate subdirectories of each directory. Default: false. */
  subdirectories?: boolean;
}

/**
 * Removes what interrupted deliveries left in `directories` (relative to the target root; missing ones are fine):
 *
 * - every `<name>.part`: an upload that failed and was never retried (a retried upload reuses and renames its own);
 * - recovery copies (`<name>.replaced-…`, see `recovery-names.ts`) whose `<name>` exists: a safe replace that finished
 *   but could not delete the copy, or whose file a retry delivered again;
 * - where `<name>` is missing, its newest recovery copy is renamed back (the server stopped between the two renames of a
 *   safe replace), and older copies are then removed.
 *
 * Only for directories nobody is writing to: the export calls it when a run is finalized, after all of its chunks
 * finished, in the directories that run wrote to, while it still holds the tenant (at most one run per tenant is
 * active). What another writer could still be doing there cannot lose data: a late chunk of an earlier, failed attempt
 * writes names of its own run, which no manifest lists, and at worst its upload fails; a duplicate of one of this
 * run's own chunks (a lapsed job lock) writes the bytes already delivered, and a rename that never replaces cannot
 * clobber a file put back meanwhile.
 *
 * A lost connection is thrown; a refused removal or rename is reported in `failed` and tidying goes on.
 *
 * @example
 * const report = await tidyDeliveryLeftovers(target, ['acme/2026/11/23'], { subdirectories: true });
 */
export async function tidyDeliveryLeftovers(target: Target, directories: readonly string[], options: LeftoverTidyOptions = {}): Promise<LeftoverTidyReport> {
  const report: LeftoverTidyReport = { removedPartials: [], removedRecoveryCopies: [], restored: [], failed: [] };
  const attempt = async (path: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      if (isTargetConnectionError(err) || !(err instanceof RetentionError)) throw err;
      report.failed.push({ path, message: `${err.code}: ${err.message}` });
    }
  };
  const seen = new Set<string>();
  const tidy = async (directory: string, descend: boolean): Promise<void> => {
    if (seen.has(directory)) return;
    seen.add(directory);
    const entries = await target.list(directory);
    await tidyEntries(target, directory, entries, report, attempt);
    if (!descend) return;
    for (const entry of entries) if (entry.type === 'directory') await tidy(joinPath(directory, entry.name), false);
  };
  for (const directory of [...new Set(directories)].sort()) await tidy(directory, options.subdirectories === true);
  return report;
}

function joinPath(directory: string, name: string): string {
  return directory === '' || directory === '.' ? name : `${directory}/${name}`;
}

async function tidyEntries(
  target: Target,
  directory: string,
  entries: readonly TargetEntry[],
  report: LeftoverTidyReport,
  attempt: (path: string, work: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const files = new Set(entries.filter((entry) => entry.type === 'file').map((entry) => joinPath(directory, entry.name)));
  for (const entry of entries) {
    if (entry.type !== 'file' || partialUploadOriginal(entry.name) === undefined) continue;
    const path = joinPath(directory, entry.name);
    await attempt(path, async () => {
      await target.remove(path);
      report.removedPartials.push(path);
    });
  }
  const byOriginal = new Map<string, RecoveryCopy[]>();
  for (const copy of recoveryCopiesIn(directory, entries)) byOriginal.set(copy.originalPath, [...(byOriginal.get(copy.originalPath) ?? []), copy]);
  for (const [original, copies] of byOriginal) {
    let present = files.has(original);
    for (const copy of copies) {
      if (!present) {
        await attempt(copy.path, async () => {
          try {
            await target.rename(copy.path, original);
          } catch (err) {
            present = err instanceof RetentionError && err.code === 'ERR_TARGET_EXISTS';
            throw err;
          }
          report.restored.push({ path: original, from: copy.path });
          present = true;
        });
        continue;
      }
      await attempt(copy.path, async () => {
        await target.remove(copy.path);
        report.removedRecoveryCopies.push(copy.path);
      });
    }
  }
}
