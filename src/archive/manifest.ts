import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import type { TimeWindow } from '../sources/source.js';
import { isTenantId } from '../tenants/tenant-id.js';
import { MAX_PART, assertRelativePath, manifestPath, parseManifestPath, recordFilePath, rejectedFilePath, runWindowEnd } from './drop-layout.js';

/** Value of `format` in every manifest. */
const MANIFEST_FORMAT = 'retention-drop';
/** The manifest format version this code writes and reads. */
const MANIFEST_FORMAT_VERSION = 1;
/** Manifests larger than this are refused without being parsed. */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

const instantSchema = z.iso.datetime({ offset: false, local: false });
const windowSchema = z.strictObject({ from: instantSchema, to: instantSchema });
const countSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const sha256Schema = z.string().regex(SHA256_HEX, 'must be 64 lowercase hex digits');
const relativePathSchema = z.string().refine((value) => {
  try {
    assertRelativePath(value);
    return true;
  } catch {
    return false;
  }
}, 'must be a relative path of safe segments');

const fileSchema = z.strictObject({
  /** Where the file is in the drop, relative to the target root. */
  path: relativePathSchema,
  type: z.enum(RECORD_TYPES),
  kind: z.enum(['records', 'rejected']),
  /** 1-based part of a records file; `null` for a rejected file. */
  part: z.number().int().min(1).max(MAX_PART).nullable(),
  /** Records in the file (rejected records in a rejected file). */
  records: countSchema,
  /** Size of the file as delivered (after gzip, when gzipped). */
  bytes: countSchema,
  /** Lowercase hex SHA-256 of the bytes as delivered. */
  sha256: sha256Schema,
  encoding: z.enum(['json', 'ndjson']),
  gzip: z.boolean(),
  /** Start of the window the file covers (ISO-8601 UTC, inclusive). */
  from: instantSchema,
  /** End of the window the file covers (ISO-8601 UTC, exclusive). */
  to: instantSchema,
});

const totalsSchema = z.strictObject({ records: countSchema, rejected: countSchema, files: countSchema, bytes: countSchema });

const manifestObjectSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  tenantId: z.string().refine(isTenantId, 'must be a valid tenant id'),
  runId: z.string().regex(RUN_ID, 'must be 1 to 128 characters of A-Z, a-z, 0-9, "_" and "-"'),
  windows: z.partialRecord(z.enum(RECORD_TYPES), windowSchema),
  previous: z.strictObject({ path: relativePathSchema, sha256: sha256Schema }).nullable(),
  files: z.array(fileSchema),
  totals: z.partialRecord(z.enum(RECORD_TYPES), totalsSchema),
});

/**
 * One delivered file, as its run's manifest lists it: the only shape of a delivered file. The chunk that uploads a
 * file makes its entry ({@link recordFileEntry}, {@link rejectedFileEntry}); the entry travels unchanged in the chunk's
 * result (`ChunkResult.files`) to the finalize step, which lists it in the manifest; the run store keeps a `Pick` of it.
 */
export type ManifestFile = z.infer<typeof fileSchema>;
/** Per-type totals of a manifest: `records` and `rejected` count records, `files` and `bytes` count all files. */
export type ManifestTotals = z.infer<typeof totalsSchema>;
/** A reference from a manifest to the one before it in the tenant's chain. */
export type ManifestLink = { path: string; sha256: string };

/**
 * A run's manifest: the completion marker of a drop. It lists every file of the run with its size and SHA-256,
 * and carries the SHA-256 of the previous manifest (`previous`, `null` for the first one), which chains the
 * tenant's manifests. Deterministic: no wall-clock field; the same run yields byte-identical manifests.
 */
export type Manifest = z.infer<typeof manifestObjectSchema>;

interface ConsistencyIssue {
  path: (string | number)[];
  message: string;
}

function findInconsistencies(manifest: Manifest): ConsistencyIssue[] {
  const issues: ConsistencyIssue[] = [];
  const typesInWindows = RECORD_TYPES.filter((type) => manifest.windows[type] !== undefined);
  if (typesInWindows.length === 0) {
    issues.push({ path: ['windows'], message: 'must hold at least one window' });
  }
  for (const type of typesInWindows) {
    const window = manifest.windows[type];
    if (window !== undefined && Date.parse(window.to) <= Date.parse(window.from)) {
      issues.push({ path: ['windows', type], message: 'must end after it starts' });
    }
  }
  if (manifest.previous !== null) {
    try {
      const previous = parseManifestPath(manifest.previous.path);
      if (previous.tenantId !== manifest.tenantId) {
        issues.push({ path: ['previous', 'path'], message: 'must be a manifest of the same tenant' });
      } else if (previous.runId === manifest.runId) {
        issues.push({ path: ['previous', 'path'], message: 'must not name the manifest itself' });
      }
    } catch {
      issues.push({ path: ['previous', 'path'], message: 'must be a path <tenant>/<yyyy>/<mm>/<dd>/manifest-<runId>.json' });
    }
  }

  const seen = new Set<string>();
  const totals = new Map<RecordType, ManifestTotals>();
  manifest.files.forEach((file, index) => {
    const at = (field: string): (string | number)[] => ['files', index, field];
    if (seen.has(file.path)) issues.push({ path: at('path'), message: 'is listed twice' });
    seen.add(file.path);
    const window = manifest.windows[file.type];
    if (window === undefined) {
      issues.push({ path: at('type'), message: `has no window in windows.${file.type}` });
      return;
    }
    const fileWindow = { from: new Date(file.from), to: new Date(file.to) };
    if (fileWindow.to <= fileWindow.from || fileWindow.from < new Date(window.from) || fileWindow.to > new Date(window.to)) {
      issues.push({ path: at('from'), message: `must lie within windows.${file.type} and end after it starts` });
      return;
    }
    if (file.kind === 'records' && file.part === null) {
      issues.push({ path: at('part'), message: 'must be a number for a records file' });
      return;
    }
    if (file.kind === 'rejected' && (file.part !== null || file.encoding !== 'json' || file.gzip)) {
      issues.push({ path: at('part'), message: 'a rejected file has part null, encoding json and gzip false' });
      return;
    }
    const pathFor = (runId: string | null): string =>
      file.kind === 'records'
        ? recordFilePath(manifest.tenantId, { type: file.type, window: fileWindow, part: file.part ?? 1, encoding: file.encoding, gzip: file.gzip, runId })
        : rejectedFilePath(manifest.tenantId, file.type, fileWindow, runId);
    let expected: string;
    let legacy: string;
    try {
      expected = pathFor(manifest.runId);
      legacy = pathFor(null);
    } catch (error) {
      issues.push({ path: at('from'), message: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (file.path !== expected && file.path !== legacy) {
      issues.push({
        path: at('path'),
        message: `must be ${expected} for this type, kind, window, part and run (in a drop written before file names carried the run id: ${legacy})`,
      });
    }
    const total = totals.get(file.type) ?? { records: 0, rejected: 0, files: 0, bytes: 0 };
    if (file.kind === 'records') total.records += file.records;
    else total.rejected += file.records;
    total.files += 1;
    total.bytes += file.bytes;
    totals.set(file.type, total);
  });

  for (const type of RECORD_TYPES) {
    const stated = manifest.totals[type];
    if (manifest.windows[type] === undefined) {
      if (stated !== undefined) issues.push({ path: ['totals', type], message: `has no window in windows.${type}` });
      continue;
    }
    const actual = totals.get(type) ?? { records: 0, rejected: 0, files: 0, bytes: 0 };
    if (stated === undefined) {
      issues.push({ path: ['totals', type], message: 'is missing' });
      continue;
    }
    for (const key of ['records', 'rejected', 'files', 'bytes'] as const) {
      if (stated[key] !== actual[key]) {
        issues.push({ path: ['totals', type, key], message: `is ${stated[key]} but the listed files add up to ${actual[key]}` });
      }
    }
  }
  return issues;
}

function manifestError(message: string, cause?: unknown): RetentionError {
  return new RetentionError('ERR_MANIFEST_INVALID', message, cause === undefined ? undefined : { cause });
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const issue = issues[0];
  const field = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problems)` : '';
  return `manifest field "${field}" is invalid: ${issue?.message ?? 'unknown problem'}${more}`;
}

function validateManifest(value: unknown): Manifest {
  const result = manifestObjectSchema.safeParse(value);
  if (!result.success) throw manifestError(describeIssues(result.error.issues), result.error);
  const inconsistencies = findInconsistencies(result.data);
  if (inconsistencies.length > 0) throw manifestError(describeIssues(inconsistencies));
  return result.data;
}

/** What {@link buildManifest} needs. */
export interface ManifestInput {
  tenantId: string;
  runId: string;
  windows: Partial<Record<RecordType, TimeWindow>>;
  previous: ManifestLink | null;
  files: ManifestFile[];
}

/**
 * Builds and validates a run's manifest: files sorted by path, totals per type computed from the files.
 * Throws `ERR_MANIFEST_INVALID` naming the field when the input is inconsistent (a file outside its type's window,
 * a path that does not match its type/window/part and run, a duplicate path, ...). File names carry the run id
 * (`runId`); names of the legacy form without it, as drops delivered before listed them, are accepted too. Each
 * file's `from`/`to` is written as `Date#toISOString()` gives it, so the same instants always give the same bytes.
 *
 * @example
 * const manifest = buildManifest({ tenantId: 'acme', runId, windows: { chats: window }, previous: null,
 *   files: [recordFileEntry('acme', runId, 'chats', window, file, { encoding: 'json', gzip: true })] });
 * const bytes = serializeManifest(manifest);
 * await target.uploadAtomically(localCopyOf(bytes), manifestPathOf(manifest), { bytes: bytes.length });
 */
export function buildManifest(input: ManifestInput): Manifest {
  const windows: Partial<Record<RecordType, { from: string; to: string }>> = {};
  const totals: Partial<Record<RecordType, ManifestTotals>> = {};
  for (const type of RECORD_TYPES) {
    const window = input.windows[type];
    if (window === undefined) continue;
    windows[type] = { from: toIso(window.from, `windows.${type}.from`), to: toIso(window.to, `windows.${type}.to`) };
    totals[type] = { records: 0, rejected: 0, files: 0, bytes: 0 };
  }
  const files: ManifestFile[] = input.files.map((file, index) =>
    canonicalFile({ ...file, from: toIso(new Date(file.from), `files.${index}.from`), to: toIso(new Date(file.to), `files.${index}.to`) }),
  );
  files.sort((a, b) => compareCodeUnits(a.path, b.path));
  for (const file of files) {
    const total = totals[file.type];
    if (total === undefined) continue;
    if (file.kind === 'records') total.records += file.records;
    else total.rejected += file.records;
    total.files += 1;
    total.bytes += file.bytes;
  }
  return validateManifest({
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_FORMAT_VERSION,
    tenantId: input.tenantId,
    runId: input.runId,
    windows,
    previous: input.previous === null ? null : { path: input.previous.path, sha256: input.previous.sha256 },
    files,
    totals,
  });
}

function toIso(value: Date, field: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw manifestError(`manifest field "${field}" is not a valid date`);
  return value.toISOString();
}

/** A manifest file entry with exactly the schema's fields, in the schema's key order (for deterministic bytes). */
function canonicalFile(file: ManifestFile): ManifestFile {
  return {
    path: file.path,
    type: file.type,
    kind: file.kind,
    part: file.part,
    records: file.records,
    bytes: file.bytes,
    sha256: file.sha256,
    encoding: file.encoding,
    gzip: file.gzip,
    from: file.from,
    to: file.to,
  };
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonicalManifest(manifest: Manifest): Manifest {
  const windows: Manifest['windows'] = {};
  const totals: Manifest['totals'] = {};
  for (const type of RECORD_TYPES) {
    const window = manifest.windows[type];
    if (window !== undefined) windows[type] = { from: window.from, to: window.to };
    const total = manifest.totals[type];
    if (total !== undefined) totals[type] = { records: total.records, rejected: total.rejected, files: total.files, bytes: total.bytes };
  }
  const files = manifest.files.map(canonicalFile).sort((a, b) => compareCodeUnits(a.path, b.path));
  return {
    format: manifest.format,
    formatVersion: manifest.formatVersion,
    tenantId: manifest.tenantId,
    runId: manifest.runId,
    windows,
    previous: manifest.previous === null ? null : { path: manifest.previous.path, sha256: manifest.previous.sha256 },
    files,
    totals,
  };
}

/**
 * The canonical bytes of a manifest: UTF-8 JSON, 2-space indent, trailing newline, keys in a fixed order
 * (the order of the {@link Manifest} type; window and totals keys in `RECORD_TYPES` order), files sorted by path.
 * The same manifest always serializes to the same bytes.
 *
 * @example
 * const bytes = serializeManifest(manifest);
 * const link = { path: manifestPathOf(manifest), sha256: hashManifest(bytes) }; // `previous` of the next run
 */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(canonicalManifest(manifest), null, 2)}\n`, 'utf8');
}

/**
 * SHA-256 (lowercase hex) of a manifest's exact bytes, as stored in the next manifest's `previous.sha256`.
 *
 * @example
 * hashManifest(serializeManifest(manifest)); // '9f86d0…'
 */
export function hashManifest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Parses and validates manifest bytes. Throws `ERR_MANIFEST_INVALID` naming the first bad field
 * (`manifest field "files.2.sha256" is invalid: …`), including totals that do not add up and file paths that do
 * not match their type, window, part and the manifest's run (so a manifest can never point a loader outside the
 * tenant's drop, nor at another run's files). Legacy file names without a run id are accepted.
 *
 * @example
 * const manifest = parseManifest(await readAll(await target.read(path)));
 */
export function parseManifest(bytes: Uint8Array | string): Manifest {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  if (size > MAX_MANIFEST_BYTES) throw manifestError(`manifest is ${size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw manifestError('manifest is not valid UTF-8', cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw manifestError(`manifest is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  return validateManifest(value);
}

/**
 * Where a manifest belongs in the drop: `<tenant>/<yyyy>/<mm>/<dd>/manifest-<runId>.json`, dated by its latest
 * window end.
 */
export function manifestPathOf(manifest: Manifest): string {
  const windows: Partial<Record<RecordType, TimeWindow>> = {};
  for (const type of RECORD_TYPES) {
    const window = manifest.windows[type];
    if (window !== undefined) windows[type] = { from: new Date(window.from), to: new Date(window.to) };
  }
  const end = runWindowEnd(windows);
  if (end === undefined) throw manifestError('manifest field "windows" must hold at least one window');
  return manifestPath(manifest.tenantId, manifest.runId, end);
}

/**
 * The manifest entry of one records file written by run `runId`, as the chunk that uploads it makes it: its path
 * computed from the drop layout (`null` gives the legacy name without a run id, for tests of drops delivered before
 * names carried it), its window `window` (the chunk's slice), and what the encoder measured.
 *
 * @example
 * onFile: (file) => upload(file.localPath, recordFileEntry('acme', runId, 'chats', slice, file, { encoding: 'json', gzip: true }));
 */
export function recordFileEntry(
  tenantId: string,
  runId: string | null,
  type: RecordType,
  window: TimeWindow,
  file: Pick<ManifestFile, 'records' | 'bytes' | 'sha256'> & { part: number },
  format: Pick<ManifestFile, 'encoding' | 'gzip'>,
): ManifestFile {
  return {
    path: recordFilePath(tenantId, { type, window, part: file.part, encoding: format.encoding, gzip: format.gzip, runId }),
    type,
    kind: 'records',
    part: file.part,
    records: file.records,
    bytes: file.bytes,
    sha256: file.sha256,
    encoding: format.encoding,
    gzip: format.gzip,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
  };
}

/**
 * The manifest entry of the rejected-records file of run `runId` for one window, as the chunk that uploads it makes
 * it (`null`: the legacy name, see {@link recordFileEntry}).
 *
 * @example
 * const rejected = await writer.close();
 * if (rejected) upload(rejected.localPath, rejectedFileEntry('acme', runId, 'chats', slice, rejected));
 */
export function rejectedFileEntry(
  tenantId: string,
  runId: string | null,
  type: RecordType,
  window: TimeWindow,
  file: Pick<ManifestFile, 'records' | 'bytes' | 'sha256'>,
): ManifestFile {
  return {
    path: rejectedFilePath(tenantId, type, window, runId),
    type,
    kind: 'rejected',
    part: null,
    records: file.records,
    bytes: file.bytes,
    sha256: file.sha256,
    encoding: 'json',
    gzip: false,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
  };
}
