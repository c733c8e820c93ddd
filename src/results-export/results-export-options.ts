import { tmpdir } from 'node:os';
import { RetentionError } from '../errors.js';

/** Tunables of results exports; each has a default. */
export interface ResultsExportOptions {
  /**
   * Most records one export may hold. Default 100,000. An export whose results have more **fails** with
   * `ERR_EXPORT_TOO_LARGE` and writes no file: a silently cut file could pass for the complete result, so the user
   * is told to narrow the filter instead.
   */
  maxRecords?: number;
  /**
   * Most bytes of one export file, the same way; the transcripts of an export of chats with their messages count
   * too (`maxRecords` counts the chats). Default 100 MiB.
   */
  maxBytes?: number;
  /** How long a download link works, in seconds (each link also works once). Default 900 (15 minutes). */
  linkLifetimeSeconds?: number;
  /** How long an export and its file are kept, in seconds. Default 86,400 (24 hours). */
  keepSeconds?: number;
  /** Local directory of the spool file while an export is written. Default the OS temp directory. */
  spoolDir?: string;
  /** Records, and messages of a chat's transcript, read per archive page (one round trip each). Default 200, the archive's maximum. */
  pageSize?: number;
}

/** {@link ResultsExportOptions} with every default applied. */
export type ResolvedResultsExportOptions = Required<ResultsExportOptions>;

const RANGES: Record<Exclude<keyof ResultsExportOptions, 'spoolDir'>, [min: number, max: number, fallback: number]> = {
  maxRecords: [1, 10_000_000, 100_000],
  maxBytes: [1024, 10 * 1024 ** 3, 100 * 1024 ** 2],
  linkLifetimeSeconds: [60, 7 * 86_400, 900],
  keepSeconds: [600, 30 * 86_400, 86_400],
  pageSize: [1, 200, 200],
};

/**
 * Applies defaults and checks bounds; `ERR_EXPORT_OPTIONS_INVALID` names the option.
 *
 * @example
 * resolveResultsExportOptions({ maxRecords: 50_000 }).maxBytes; // 104857600
 */
export function resolveResultsExportOptions(options: ResultsExportOptions = {}): ResolvedResultsExportOptions {
  const resolved = { spoolDir: options.spoolDir ?? tmpdir() } as ResolvedResultsExportOptions;
  for (const [name, [min, max, fallback]] of Object.entries(RANGES) as [keyof typeof RANGES, [number, number, number]][]) {
    const value = options[name] ?? fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RetentionError(
        'ERR_EXPORT_OPTIONS_INVALID',
        `results export option ${name} must be a whole number from ${min} to ${max}, not ${String(value)}`,
      );
    }
    resolved[name] = value;
  }
  if (resolved.linkLifetimeSeconds > resolved.keepSeconds) {
    throw new RetentionError('ERR_EXPORT_OPTIONS_INVALID', 'results export option linkLifetimeSeconds must not exceed keepSeconds');
  }
  return resolved;
}
