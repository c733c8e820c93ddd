import { createHash } from 'node:crypto';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES, isRecordType, type RecordType } from '../records/record-type.js';
import type { TimeWindow } from '../sources/source.js';
import { assertTenantId } from '../tenants/tenant-id.js';

/**
 * The SFTP drop layout: where every file of a tenant's drop lives, relative to the target root.
 *
 * ```
 * <tenant>/<yyyy>/<mm>/<dd>/<type>/<type>-<from>-<to>-<runId>-<part>.json[.gz]   (.ndjson[.gz] for NDJSON)
 * <tenant>/<yyyy>/<mm>/<dd>/rejected/<type>-<from>-<to>-<runId>.json
 * <tenant>/<yyyy>/<mm>/<dd>/manifest-<runId>.json
 * ```
 * Dates are UTC: record and rejected files sit under the date of their window's `from`, a manifest under the date
 * of its run's window end. `<from>`/`<to>` are compact UTC instants (`20261123T170000Z`, or
 * `20261123T170000.250Z` when the instant has milliseconds). `<part>` is 1-based, four digits (`0001`).
 *
 * `<runId>` is the id of the run that wrote the file, the same as in its manifest's name, so history is never
 * rewritten: a later run over a window already delivered (a backfill, the next scheduled run after a failed one, a
 * retried plan `<runId>-rN`) writes names of its own and never changes the bytes under a name an earlier manifest
 * lists. Names stay deterministic per (run, type, slice, part): a retried chunk of the same run replaces its own
 * earlier attempt, which no completed manifest lists yet. The part number is always the last field, so a run id
 * containing `-` parses unambiguously (see {@link parseDropFilePath}).
 *
 * Drops written before run ids were part of file names use the legacy forms `<type>-<from>-<to>-<part>.json[.gz]`
 * and `rejected/<type>-<from>-<to>.json`; readers (manifest validation, `retention verify`, the importer) still
 * accept them, writers never produce them.
 */

export { assertTenantId } from '../tenants/tenant-id.js';

/** How records are laid out inside a file: a JSON array (one record per line) or newline-delimited JSON. */
export type RecordEncoding = 'json' | 'ndjson';

/** Highest part number a record file may carry (four digits). */
export const MAX_PART = 9999;

const MAX_SEGMENT_LENGTH = 255;
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const MANIFEST_NAME = /^manifest-([A-Za-z0-9_-]{1,128})\.json$/;

function pathError(message: string): RetentionError {
  return new RetentionError('ERR_PATH_INVALID', message);
}

function describeSegmentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'is empty';
  if (segment.length > MAX_SEGMENT_LENGTH) return `is longer than ${MAX_SEGMENT_LENGTH} characters`;
  if (segment === '.' || segment === '..') return 'is a relative directory reference';
  if (segment.includes('/') || segment.includes('\\')) return 'contains a path separator';
  for (const char of segment) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0) return 'contains a NUL character';
    if (code < 0x20 || code === 0x7f) return 'contains a control character';
    if (code > 0x7e) return `contains the non-ASCII character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  if (segment.startsWith('.')) return 'starts with a dot';
  if (!SAFE_SEGMENT.test(segment)) return 'contains a character other than A-Z, a-z, 0-9, ".", "_" and "-"';
  return undefined;
}

/** True when `segment` is a safe single path segment (see {@link assertPathSegment}). */
export function isSafePathSegment(segment: unknown): segment is string {
  return typeof segment === 'string' && describeSegmentProblem(segment) === undefined;
}

/**
 * Returns `segment` if it is one safe path segment, else throws `ERR_PATH_INVALID`.
 *
 * Safe means: 1 to 255 characters of `A-Z a-z 0-9 . _ -`, not starting with a dot. That refuses `..`, separators
 * (`/`, `\`), NUL and control characters, and every non-ASCII character, including look-alikes such as Cyrillic `а`,
 * fullwidth `／` or U+2215 `∕`.
 *
 * @example
 * assertPathSegment('chats');     // 'chats'
 * assertPathSegment('..');        // throws ERR_PATH_INVALID
 * assertPathSegment('ch\u0430ts'); // throws ERR_PATH_INVALID (Cyrillic a)
 */
export function assertPathSegment(segment: unknown): string {
  if (typeof segment !== 'string') throw pathError(`path segment must be a string, got ${typeof segment}`);
  const problem = describeSegmentProblem(segment);
  if (problem !== undefined) {
    throw pathError(`path segment ${JSON.stringify(segment.slice(0, 80))} ${problem}: use only A-Z, a-z, 0-9, ".", "_" and "-"`);
  }
  return segment;
}

/**
 * Returns `path` if it is a relative POSIX path made of safe segments (see {@link assertPathSegment}),
 * else throws `ERR_PATH_INVALID`. Refuses absolute paths, empty segments (`a//b`) and a trailing `/`.
 *
 * @example
 * assertRelativePath('acme/2026/11/23/chats/x.json'); // returned unchanged
 * assertRelativePath('/etc/passwd');                  // throws ERR_PATH_INVALID
 */
export function assertRelativePath(path: unknown): string {
  if (typeof path !== 'string') throw pathError(`path must be a string, got ${typeof path}`);
  if (path.length === 0) throw pathError('path is empty: give a path relative to the target root');
  if (path.length > 4096) throw pathError('path is longer than 4096 characters');
  if (path.startsWith('/')) throw pathError(`path ${JSON.stringify(path.slice(0, 80))} is absolute: give it relative to the target root`);
  for (const segment of path.split('/')) {
    const problem = describeSegmentProblem(segment);
    if (problem !== undefined) {
      throw pathError(`path ${JSON.stringify(path.slice(0, 160))} has a segment that ${problem}: use only A-Z, a-z, 0-9, ".", "_" and "-" between single "/"`);
    }
  }
  return path;
}

/** Returns `type` if it is a record type, else throws `ERR_RECORD_TYPE_INVALID`. */
export function assertRecordType(type: unknown): RecordType {
  if (isRecordType(type)) return type;
  const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 80)) : typeof type;
  throw new RetentionError('ERR_RECORD_TYPE_INVALID', `record type ${shown} is unknown: use one of ${RECORD_TYPES.join(', ')}`);
}

function assertInstant(value: Date, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new RetentionError('ERR_WINDOW_INVALID', `${what} is not a valid date`);
  }
  const year = value.getUTCFullYear();
  if (year < 1970 || year > 9999) {
    throw new RetentionError('ERR_WINDOW_INVALID', `${what} ${value.toISOString()} is outside the years 1970 to 9999`);
  }
  return value;
}

function assertWindow(window: TimeWindow): TimeWindow {
  assertInstant(window.from, 'window start');
  assertInstant(window.to, 'window end');
  if (window.to.getTime() <= window.from.getTime()) {
    throw new RetentionError(
      'ERR_WINDOW_INVALID',
      `window ${window.from.toISOString()} to ${window.to.toISOString()} is empty: its end must be after its start`,
    );
  }
  return window;
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/**
 * Formats an instant as a compact UTC stamp for file names: `20261123T170000Z`, with milliseconds only when the
 * instant has them (`20261123T170000.250Z`), so distinct instants never share a name.
 *
 * @example
 * formatCompactUtc(new Date('2026-11-23T17:00:00Z')); // '20261123T170000Z'
 */
export function formatCompactUtc(instant: Date): string {
  assertInstant(instant, 'instant');
  const stamp =
    pad(instant.getUTCFullYear(), 4) +
    pad(instant.getUTCMonth() + 1, 2) +
    pad(instant.getUTCDate(), 2) +
    'T' +
    pad(instant.getUTCHours(), 2) +
    pad(instant.getUTCMinutes(), 2) +
    pad(instant.getUTCSeconds(), 2);
  const millis = instant.getUTCMilliseconds();
  return millis === 0 ? `${stamp}Z` : `${stamp}.${pad(millis, 3)}Z`;
}

/** `<yyyy>/<mm>/<dd>` of an instant in UTC. */
function formatUtcDatePath(instant: Date): string {
  assertInstant(instant, 'instant');
  return `${pad(instant.getUTCFullYear(), 4)}/${pad(instant.getUTCMonth() + 1, 2)}/${pad(instant.getUTCDate(), 2)}`;
}

function assertPart(part: number): number {
  if (!Number.isInteger(part) || part < 1 || part > MAX_PART) {
    throw new RetentionError('ERR_PART_INVALID', `part ${String(part)} must be an integer from 1 to ${MAX_PART}`);
  }
  return part;
}

/** File extension of a record file: `.json`, `.ndjson`, plus `.gz` when gzipped. */
function recordFileExtension(encoding: RecordEncoding, gzip: boolean): string {
  if (encoding !== 'json' && encoding !== 'ndjson') {
    throw new RetentionError('ERR_ENCODING_INVALID', `encoding ${JSON.stringify(encoding)} is unknown: use json or ndjson`);
  }
  return `.${encoding}${gzip ? '.gz' : ''}`;
}

/** What names one record file. `window` is the window the file covers (a chunk's slice). */
export interface RecordFileSpec {
  type: RecordType;
  window: TimeWindow;
  /** 1-based part number within the window. */
  part: number;
  encoding: RecordEncoding;
  gzip: boolean;
  /**
   * The run that writes the file (see {@link assertRunId}). `null` gives the legacy name without a run id, which
   * only readers use, to check files of drops delivered before run ids were part of names.
   */
  runId: string | null;
}

function runIdField(runId: string | null): string {
  return runId === null ? '' : `-${assertRunId(runId)}`;
}

/**
 * File name (no directory) of one record file: `<type>-<from>-<to>-<runId>-<part><extension>`, or the legacy
 * `<type>-<from>-<to>-<part><extension>` when `runId` is `null`.
 *
 * @example
 * recordFileName({ type: 'chats', window: { from, to }, part: 1, encoding: 'json', gzip: true,
 *   runId: '20261123T175500Z-3f1a9c0d2b7e4a61' });
 * // 'chats-20261123T170000Z-20261123T180000Z-20261123T175500Z-3f1a9c0d2b7e4a61-0001.json.gz'
 */
export function recordFileName(spec: RecordFileSpec): string {
  const type = assertRecordType(spec.type);
  const window = assertWindow(spec.window);
  const part = pad(assertPart(spec.part), 4);
  const run = runIdField(spec.runId);
  return `${type}-${formatCompactUtc(window.from)}-${formatCompactUtc(window.to)}${run}-${part}${recordFileExtension(spec.encoding, spec.gzip)}`;
}

/**
 * Path of one record file, relative to the target root.
 *
 * @example
 * recordFilePath('acme', { type: 'chats', window: { from: new Date('2026-11-23T17:00:00Z'),
 *   to: new Date('2026-11-23T18:00:00Z') }, part: 1, encoding: 'json', gzip: false, runId: 'r1' });
 * // 'acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0001.json'
 */
export function recordFilePath(tenantId: string, spec: RecordFileSpec): string {
  const tenant = assertTenantId(tenantId);
  const name = recordFileName(spec);
  return `${tenant}/${formatUtcDatePath(spec.window.from)}/${spec.type}/${name}`;
}

/**
 * File name (no directory) of the rejected-records file one run writes for one type and window:
 * `<type>-<from>-<to>-<runId>.json`, or the legacy `<type>-<from>-<to>.json` when `runId` is `null`.
 *
 * @example
 * rejectedFileName('chats', { from, to }, 'r1'); // 'chats-20261123T170000Z-20261123T180000Z-r1.json'
 */
export function rejectedFileName(type: RecordType, window: TimeWindow, runId: string | null): string {
  assertRecordType(type);
  assertWindow(window);
  return `${type}-${formatCompactUtc(window.from)}-${formatCompactUtc(window.to)}${runIdField(runId)}.json`;
}

/**
 * Path of the rejected-records file one run writes for one type and window, relative to the target root.
 *
 * @example
 * rejectedFilePath('acme', 'chats', { from, to }, 'r1'); // 'acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z-r1.json'
 */
export function rejectedFilePath(tenantId: string, type: RecordType, window: TimeWindow, runId: string | null): string {
  const tenant = assertTenantId(tenantId);
  const name = rejectedFileName(type, window, runId);
  return `${tenant}/${formatUtcDatePath(window.from)}/rejected/${name}`;
}

/** A record or rejected file's path taken apart by {@link parseDropFilePath}. `runId` is `null` for a legacy name. */
export type DropFilePathParts =
  | { kind: 'records'; tenantId: string; type: RecordType; window: TimeWindow; runId: string | null; part: number; encoding: RecordEncoding; gzip: boolean }
  | { kind: 'rejected'; tenantId: string; type: RecordType; window: TimeWindow; runId: string | null; part: null; encoding: 'json'; gzip: false };

const STAMP = String.raw`\d{8}T\d{6}(?:\.\d{3})?Z`;
const NAME_START = String.raw`^(?<type>${RECORD_TYPES.join('|')})-(?<from>${STAMP})-(?<to>${STAMP})(?:-(?<runId>[A-Za-z0-9_-]{1,128}))?`;
const RECORD_FILE_NAME = new RegExp(String.raw`${NAME_START}-(?<part>\d{4})\.(?<encoding>json|ndjson)(?<gzip>\.gz)?$`);
const REJECTED_FILE_NAME = new RegExp(String.raw`${NAME_START}\.json$`);
const COMPACT_UTC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z$/;
const DROP_FILE_SHAPE =
  'must look like <tenant>/<yyyy>/<mm>/<dd>/<type>/<type>-<from>-<to>-<runId>-<part>.<json|ndjson>[.gz] or <tenant>/<yyyy>/<mm>/<dd>/rejected/<type>-<from>-<to>-<runId>.json (legacy drops: without -<runId>)';

function parseCompactUtc(stamp: string | undefined): Date {
  const [, year, month, day, hour, minute, second, millis] = COMPACT_UTC.exec(stamp ?? '') ?? [];
  return new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis ?? '000'}Z`);
}

function dropFileParts(tenantId: string, folder: string, name: string): DropFilePathParts | undefined {
  const rejected = folder === 'rejected';
  const groups = (rejected ? REJECTED_FILE_NAME : RECORD_FILE_NAME).exec(name)?.groups;
  if (groups === undefined) return undefined;
  const type = groups.type as RecordType;
  const window = { from: parseCompactUtc(groups.from), to: parseCompactUtc(groups.to) };
  const runId = groups.runId ?? null;
  if (rejected) return { kind: 'rejected', tenantId, type, window, runId, part: null, encoding: 'json', gzip: false };
  return {
    kind: 'records',
    tenantId,
    type,
    window,
    runId,
    part: Number(groups.part),
    encoding: groups.encoding as RecordEncoding,
    gzip: groups.gzip !== undefined,
  };
}

/**
 * Parses the path of a record or rejected file in either form the drop has used: the current one, named with the
 * writing run's id, and the legacy one without (`runId: null`). The path must be exactly what
 * {@link recordFilePath} or {@link rejectedFilePath} builds from the parts it names (canonical stamps, the date
 * folder of the window start, the type's folder, a non-empty window, a part from 1 to 9999); anything else throws
 * `ERR_PATH_INVALID`.
 *
 * @example
 * parseDropFilePath('acme/2026/11/23/chats/chats-20261123T170000Z-20261123T180000Z-r1-0002.json.gz');
 * // { kind: 'records', tenantId: 'acme', type: 'chats', window: { from, to }, runId: 'r1', part: 2, encoding: 'json', gzip: true }
 * parseDropFilePath('acme/2026/11/23/rejected/chats-20261123T170000Z-20261123T180000Z.json');
 * // { kind: 'rejected', …, runId: null, part: null, encoding: 'json', gzip: false }
 */
export function parseDropFilePath(path: string): DropFilePathParts {
  assertRelativePath(path);
  const shown = JSON.stringify(path.slice(0, 160));
  const segments = path.split('/');
  const [tenantId, , , , folder, name] = segments;
  const parts =
    segments.length === 6 && tenantId !== undefined && folder !== undefined && name !== undefined ? dropFileParts(tenantId, folder, name) : undefined;
  if (parts === undefined) throw pathError(`drop file path ${shown} ${DROP_FILE_SHAPE}`);
  let rebuilt: string;
  try {
    rebuilt = parts.kind === 'records' ? recordFilePath(parts.tenantId, parts) : rejectedFilePath(parts.tenantId, parts.type, parts.window, parts.runId);
  } catch (error) {
    throw pathError(`drop file path ${shown} names no file the drop layout writes: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (rebuilt !== path) throw pathError(`drop file path ${shown} names no file the drop layout writes: its parts belong at ${rebuilt}`);
  return parts;
}

/** Returns `runId` if it is a valid run id (1 to 128 characters of `A-Z a-z 0-9 _ -`), else throws `ERR_RUN_ID_INVALID`. */
export function assertRunId(runId: unknown): string {
  if (typeof runId === 'string' && RUN_ID_PATTERN.test(runId)) return runId;
  const shown = typeof runId === 'string' ? JSON.stringify(runId.slice(0, 80)) : typeof runId;
  throw new RetentionError('ERR_RUN_ID_INVALID', `run id ${shown} is invalid: use 1 to 128 characters of A-Z, a-z, 0-9, "_" and "-"`);
}

/** File name of a run's manifest: `manifest-<runId>.json`. */
function manifestFileName(runId: string): string {
  return `manifest-${assertRunId(runId)}.json`;
}

/** True when a directory entry name is a manifest file name (`manifest-<runId>.json`). */
export function isManifestFileName(name: string): boolean {
  return MANIFEST_NAME.test(name);
}

/**
 * Path of a run's manifest, relative to the target root, under the UTC date of the run's window end
 * (see {@link runWindowEnd}).
 *
 * @example
 * manifestPath('acme', '20261123T175500Z-3f1a9c0d2b7e4a61', new Date('2026-11-23T17:55:00Z'));
 * // 'acme/2026/11/23/manifest-20261123T175500Z-3f1a9c0d2b7e4a61.json'
 */
export function manifestPath(tenantId: string, runId: string, windowEnd: Date): string {
  const tenant = assertTenantId(tenantId);
  return `${tenant}/${formatUtcDatePath(windowEnd)}/${manifestFileName(runId)}`;
}

/** A manifest path taken apart by {@link parseManifestPath}. */
export interface ManifestPathParts {
  tenantId: string;
  year: number;
  month: number;
  day: number;
  runId: string;
}

/**
 * Parses `<tenant>/<yyyy>/<mm>/<dd>/manifest-<runId>.json`; throws `ERR_PATH_INVALID` for anything else.
 *
 * @example
 * parseManifestPath('acme/2026/11/23/manifest-r1.json');
 * // { tenantId: 'acme', year: 2026, month: 11, day: 23, runId: 'r1' }
 */
export function parseManifestPath(path: string): ManifestPathParts {
  assertRelativePath(path);
  const segments = path.split('/');
  const [tenantId, yyyy, mm, dd, name] = segments;
  if (segments.length !== 5 || tenantId === undefined || yyyy === undefined || mm === undefined || dd === undefined || name === undefined) {
    throw pathError(`manifest path ${JSON.stringify(path)} must look like <tenant>/<yyyy>/<mm>/<dd>/manifest-<runId>.json`);
  }
  assertTenantId(tenantId);
  if (!/^\d{4}$/.test(yyyy) || !/^\d{2}$/.test(mm) || !/^\d{2}$/.test(dd)) {
    throw pathError(`manifest path ${JSON.stringify(path)} must have a <yyyy>/<mm>/<dd> date`);
  }
  const year = Number(yyyy);
  const month = Number(mm);
  const day = Number(dd);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw pathError(`manifest path ${JSON.stringify(path)} has a date that does not exist`);
  }
  const match = MANIFEST_NAME.exec(name);
  if (match?.[1] === undefined) {
    throw pathError(`manifest path ${JSON.stringify(path)} must end in manifest-<runId>.json`);
  }
  return { tenantId, year, month, day, runId: match[1] };
}

/** The latest window end of a run's windows; undefined when the run has no window. */
export function runWindowEnd(windows: Partial<Record<RecordType, TimeWindow>>): Date | undefined {
  let end: Date | undefined;
  for (const type of RECORD_TYPES) {
    const window = windows[type];
    if (window !== undefined && (end === undefined || window.to.getTime() > end.getTime())) end = window.to;
  }
  return end;
}

/**
 * A run id that depends only on the tenant, its planned windows and its place in the manifest chain (the SHA-256 of
 * the manifest it will link to, `null` for a tenant's first): the same plan always gives the same id, so a retried run
 * maps onto the same BullMQ job ids, file names and manifest path, while the same windows delivered again later (a
 * repeated backfill) get a new id and never overwrite a manifest of the chain or a file it lists. Shape:
 * `<compact window end>-<16 hex>` (`[A-Za-z0-9_-]` only; no `:`, which BullMQ job ids forbid). Throws
 * `ERR_WINDOW_INVALID` when there is no window.
 *
 * @example
 * deriveRunId('acme', { chats: { from: new Date('2026-11-23T16:00:00Z'), to: new Date('2026-11-23T17:55:00Z') } });
 * // '20261123T175500Z-…' (16 hex digits of a SHA-256 over tenant and windows)
 */
export function deriveRunId(tenantId: string, windows: Partial<Record<RecordType, TimeWindow>>, previousManifestSha256: string | null = null): string {
  const tenant = assertTenantId(tenantId);
  const canonical: string[] = [`tenant=${tenant}`];
  if (previousManifestSha256 !== null) canonical.push(`previous=${previousManifestSha256}`);
  for (const type of RECORD_TYPES) {
    const window = windows[type];
    if (window === undefined) continue;
    assertWindow(window);
    canonical.push(`${type}=${window.from.toISOString()}/${window.to.toISOString()}`);
  }
  const end = runWindowEnd(windows);
  if (end === undefined) {
    throw new RetentionError('ERR_WINDOW_INVALID', 'a run needs at least one window to derive its id');
  }
  const digest = createHash('sha256').update(canonical.join('\n')).digest('hex').slice(0, 16);
  const endStamp = formatCompactUtc(new Date(Math.floor(end.getTime() / 1000) * 1000));
  return `${endStamp}-${digest}`;
}
