import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { findRecoveryCopy, parseRecoveryName, partialUploadOriginal } from '../delivery/recovery-names.js';
import type { Target, TargetEntry } from '../delivery/target.js';
import { RetentionError } from '../errors.js';
import { assertTenantId, isManifestFileName, isSafePathSegment, parseDropFilePath } from './drop-layout.js';
import { MAX_MANIFEST_BYTES, hashManifest, manifestPathOf, parseManifest, type Manifest, type ManifestFile, type ManifestLink } from './manifest.js';

/**
 * Stable codes of the problems {@link verifyDrop} reports.
 *
 * Errors: `MANIFEST_UNREADABLE`, `MANIFEST_INVALID` (does not parse or validate), `MANIFEST_MISPLACED` (its content
 * says it belongs at another path), `CHAIN_PREVIOUS_MISSING`, `CHAIN_PREVIOUS_ALTERED` (the previous manifest's bytes
 * no longer hash to the recorded SHA-256), `CHAIN_FORK` (two manifests claim the same previous),
 * `CHAIN_GENESIS_DUPLICATE` (more than one manifest starts a chain), `CHAIN_HEAD_MISMATCH` (the expected last
 * manifest is missing or altered), `FILE_MISSING`, `FILE_SIZE_MISMATCH`, `FILE_CHECKSUM_MISMATCH`, `FILE_UNREADABLE`,
 * `FILE_RECOVERABLE` (missing under its name, but its recovery copy, left by a server that stopped in the middle of
 * replacing it, has the listed bytes: nothing is lost, and the tenant's next run or the importer renames it back).
 * Warnings: `FILE_UNLISTED` (no manifest lists it, e.g. left by a crashed run), `FILE_LEFTOVER` (a `.part` of an
 * upload never finished, or a recovery copy no longer needed; the tenant's next run removes it), `PATH_UNEXPECTED` (a
 * name the drop layout never produces, not inspected), `DROP_EMPTY` (no manifest at all).
 */
export type DropProblemCode =
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_MISPLACED'
  | 'CHAIN_PREVIOUS_MISSING'
  | 'CHAIN_PREVIOUS_ALTERED'
  | 'CHAIN_FORK'
  | 'CHAIN_GENESIS_DUPLICATE'
  | 'CHAIN_HEAD_MISMATCH'
  | 'FILE_MISSING'
  | 'FILE_SIZE_MISMATCH'
  | 'FILE_CHECKSUM_MISMATCH'
  | 'FILE_UNREADABLE'
  | 'FILE_RECOVERABLE'
  | 'FILE_UNLISTED'
  | 'FILE_LEFTOVER'
  | 'PATH_UNEXPECTED'
  | 'DROP_EMPTY';

/** One finding of a verification. `path` is the file concerned; `manifest` the manifest that lists or links it. */
export interface DropProblem {
  code: DropProblemCode;
  severity: 'error' | 'warning';
  path: string;
  manifest?: string;
  message: string;
}

/** A manifest found in the drop, in chain order. */
export interface VerifiedManifest {
  path: string;
  runId: string;
  /** SHA-256 of the manifest's bytes as stored. */
  sha256: string;
  previous: ManifestLink | null;
  files: number;
  records: number;
  rejected: number;
  bytes: number;
}

/** What `retention verify` prints. `verdict` is `failed` when there is at least one error; warnings do not fail it. */
export interface DropVerificationReport {
  tenantId: string;
  verdict: 'ok' | 'failed';
  /** Valid manifests, genesis first, each followed by its successor. */
  manifests: VerifiedManifest[];
  /** Number of listed files whose bytes were checked. */
  filesChecked: number;
  /** Errors first, then warnings. */
  problems: DropProblem[];
}

/** Options of {@link verifyDrop} and {@link verifyManifestFiles}. */
export interface VerifyOptions {
  /** Files read at the same time. Default 2. */
  concurrency?: number;
  /**
   * The manifest the caller believes is the newest (e.g. kept with the checkpoints). Without it, replacing the
   * newest manifest goes unnoticed, since no successor records its hash.
   */
  expectedHead?: ManifestLink;
}

/** Size and SHA-256 of a stream's bytes. */
export interface StreamDigest {
  bytes: number;
  sha256: string;
}

/**
 * Reads a stream to its end and returns its byte count and SHA-256, in constant memory.
 *
 * @example
 * const { bytes, sha256 } = await digestStream(await target.read(path));
 */
export async function digestStream(stream: Readable): Promise<StreamDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function describe(error: unknown): string {
  if (error instanceof RetentionError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks one listed file against the target: present, same size, same SHA-256 (streamed). Returns the problem, or
 * `undefined` when the file is intact.
 *
 * @example
 * const problem = await verifyListedFile(target, manifest.files[0], manifestPath);
 */
export async function verifyListedFile(target: Target, file: ManifestFile, manifest?: string): Promise<DropProblem | undefined> {
  const problem = (code: DropProblemCode, message: string): DropProblem => ({
    code,
    severity: 'error',
    path: file.path,
    ...(manifest === undefined ? {} : { manifest }),
    message,
  });
  try {
    const entry = await target.stat(file.path);
    if (entry === undefined || entry.type !== 'file') {
      const copy = await findRecoveryCopy(target, file.path, { bytes: file.bytes, sha256: file.sha256 });
      if (copy !== undefined) return problem('FILE_RECOVERABLE', recoverableMessage(file.path, copy.path, 'has the listed size and SHA-256'));
      return problem('FILE_MISSING', `${file.path} is listed but missing: rerun the export for ${file.from} to ${file.to}`);
    }
    if (entry.size !== file.bytes) {
      return problem('FILE_SIZE_MISMATCH', `${file.path} is ${entry.size} bytes, the manifest says ${file.bytes}`);
    }
    const digest = await digestStream(await target.read(file.path));
    if (digest.bytes !== file.bytes) {
      return problem('FILE_SIZE_MISMATCH', `${file.path} read as ${digest.bytes} bytes, the manifest says ${file.bytes}`);
    }
    if (digest.sha256 !== file.sha256) {
      return problem('FILE_CHECKSUM_MISMATCH', `${file.path} has SHA-256 ${digest.sha256}, the manifest says ${file.sha256}: the file was altered`);
    }
    return undefined;
  } catch (error) {
    return problem('FILE_UNREADABLE', `${file.path} could not be read: ${describe(error)}`);
  }
}

function recoverableMessage(path: string, copyPath: string, match: string): string {
  return `${path} is missing under its name, but its recovery copy ${copyPath} ${match}: the server stopped in the middle of replacing it, and nothing is lost. The tenant's next export run (or the next import) renames it back; to repair it at once, rename ${copyPath} to ${path} on the server`;
}

async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Verifies every file one manifest lists (presence, size, SHA-256). The importer calls this before loading a drop.
 * Problems come back in the manifest's file order.
 *
 * @example
 * const problems = await verifyManifestFiles(target, manifest);
 * if (problems.length > 0) throw new UnrecoverableError(problems[0].message);
 */
export async function verifyManifestFiles(target: Target, manifest: Manifest, options: VerifyOptions = {}): Promise<DropProblem[]> {
  const path = manifestPathOf(manifest);
  const results: (DropProblem | undefined)[] = new Array<DropProblem | undefined>(manifest.files.length);
  const indexed = manifest.files.map((file, index) => ({ file, index }));
  await runPool(indexed, options.concurrency ?? 2, async ({ file, index }) => {
    results[index] = await verifyListedFile(target, file, path);
  });
  return results.filter((problem): problem is DropProblem => problem !== undefined);
}

interface ListedFile {
  path: string;
  name: string;
  size: number;
  /** Where its bytes are read from when it exists only as a recovery copy. */
  readFrom?: string;
}

async function listTree(target: Target, dir: string, files: ListedFile[], warnings: DropProblem[]): Promise<void> {
  const entries: TargetEntry[] = await target.list(dir);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (!isSafePathSegment(entry.name)) {
      warnings.push({
        code: 'PATH_UNEXPECTED',
        severity: 'warning',
        path,
        message: `${JSON.stringify(path)} has a name the drop layout never produces; it was not inspected`,
      });
      continue;
    }
    if (entry.type === 'directory') await listTree(target, path, files, warnings);
    else if (entry.type === 'file') files.push({ path, name: entry.name, size: entry.size });
    else warnings.push({ code: 'PATH_UNEXPECTED', severity: 'warning', path, message: `${path} is neither a file nor a directory; it was not inspected` });
  }
}

async function readManifestBytes(target: Target, file: ListedFile): Promise<Buffer> {
  if (file.size > MAX_MANIFEST_BYTES)
    throw new RetentionError('ERR_MANIFEST_INVALID', `manifest is ${file.size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await target.read(file.readFrom ?? file.path)) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_MANIFEST_BYTES) throw new RetentionError('ERR_MANIFEST_INVALID', `manifest is more than the ${MAX_MANIFEST_BYTES} bytes allowed`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

interface FoundManifest {
  path: string;
  sha256: string;
  manifest: Manifest;
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function orderChain(found: FoundManifest[], hashes: Map<string, string>, errors: DropProblem[]): FoundManifest[] {
  const valid = new Map(found.map((entry) => [entry.path, entry]));
  const children = new Map<string, FoundManifest[]>();
  const roots: FoundManifest[] = [];
  const genesis: FoundManifest[] = [];

  for (const entry of [...found].sort(byPath)) {
    const previous = entry.manifest.previous;
    if (previous === null) {
      genesis.push(entry);
      roots.push(entry);
      continue;
    }
    const storedHash = hashes.get(previous.path);
    if (storedHash === undefined) {
      errors.push({
        code: 'CHAIN_PREVIOUS_MISSING',
        severity: 'error',
        path: previous.path,
        manifest: entry.path,
        message: `${entry.path} follows ${previous.path}, which is missing: the chain is broken before ${entry.path}`,
      });
    } else if (storedHash !== previous.sha256) {
      errors.push({
        code: 'CHAIN_PREVIOUS_ALTERED',
        severity: 'error',
        path: previous.path,
        manifest: entry.path,
        message: `${previous.path} hashes to ${storedHash}, but ${entry.path} recorded ${previous.sha256}: the previous manifest was altered or replaced`,
      });
    }
    if (valid.has(previous.path)) {
      const siblings = children.get(previous.path) ?? [];
      siblings.push(entry);
      children.set(previous.path, siblings);
    } else {
      roots.push(entry);
    }
  }

  for (const extra of genesis.slice(1)) {
    errors.push({
      code: 'CHAIN_GENESIS_DUPLICATE',
      severity: 'error',
      path: extra.path,
      manifest: extra.path,
      message: `${extra.path} starts a new chain although ${genesis[0]?.path ?? ''} already does`,
    });
  }
  for (const [parent, siblings] of children) {
    if (siblings.length > 1) {
      errors.push({
        code: 'CHAIN_FORK',
        severity: 'error',
        path: parent,
        message: `${siblings.map((s) => s.path).join(', ')} all follow ${parent}: the chain forks`,
      });
    }
  }

  const ordered: FoundManifest[] = [];
  const visited = new Set<string>();
  const visit = (entry: FoundManifest): void => {
    const stack = [entry];
    while (stack.length > 0) {
      const current = stack.pop() as FoundManifest;
      if (visited.has(current.path)) continue;
      visited.add(current.path);
      ordered.push(current);
      const next = [...(children.get(current.path) ?? [])].sort(byPath).reverse();
      stack.push(...next);
    }
  };
  roots.sort((a, b) => Number(a.manifest.previous !== null) - Number(b.manifest.previous !== null) || byPath(a, b));
  roots.forEach(visit);
  [...found].sort(byPath).forEach(visit);
  return ordered;
}

/**
 * Manifests that exist only as a recovery copy (the server stopped in the middle of replacing one), to be verified
 * from their newest copy.
 */
function recoverableManifests(files: readonly ListedFile[]): ListedFile[] {
  const present = new Set(files.map((file) => file.path));
  const recovered = new Map<string, ListedFile & { replacedAt: number }>();
  for (const file of files) {
    const parsed = parseRecoveryName(file.name);
    if (parsed === undefined || !isManifestFileName(parsed.original)) continue;
    const path = `${file.path.slice(0, file.path.length - file.name.length)}${parsed.original}`;
    const newer = recovered.get(path);
    if (present.has(path) || (newer !== undefined && newer.replacedAt >= parsed.replacedAt.getTime())) continue;
    recovered.set(path, { path, name: parsed.original, size: file.size, readFrom: file.path, replacedAt: parsed.replacedAt.getTime() });
  }
  return [...recovered.values()].map(({ replacedAt: _replacedAt, ...file }) => file);
}

/**
 * What a leftover of an interrupted delivery is (`undefined` for any other unlisted file), or `null` for a recovery
 * copy already reported as {@link DropProblemCode} `FILE_RECOVERABLE`.
 */
function leftoverOf(file: ListedFile, files: readonly ListedFile[], listed: ReadonlySet<string>, recovered: readonly ListedFile[]): string | null | undefined {
  const directory = file.path.slice(0, file.path.length - file.name.length);
  const partOf = partialUploadOriginal(file.name);
  if (partOf !== undefined) return `is the partial upload of ${directory}${partOf}, never finished`;
  const parsed = parseRecoveryName(file.name);
  if (parsed === undefined) return undefined;
  const original = `${directory}${parsed.original}`;
  if (recovered.some((manifest) => manifest.readFrom === file.path)) return null;
  if (files.some((other) => other.path === original))
    return `is a copy of ${original} kept while it was replaced (${parsed.replacedAt.toISOString()}), no longer needed`;
  if (listed.has(original)) return null;
  return `is a copy of ${original} kept while it was replaced (${parsed.replacedAt.toISOString()}); ${original} is missing and listed by no manifest, so the next run puts the copy back under that name`;
}

/** Who probably left an unlisted file: the run its name carries, which has no manifest, or an unfinished run. */
function leftBy(path: string): string {
  try {
    const runId = parseDropFilePath(path).runId;
    if (runId !== null) return `left by run ${runId}, which has no manifest: it failed or was abandoned before finishing`;
  } catch {
    // not a name the drop layout writes (an upload in progress, a foreign file): no run to name
  }
  return 'left by an unfinished run?';
}

/**
 * Verifies a tenant's whole drop on a target: finds every `manifest-*.json` under `<tenant>/`, validates each, orders
 * them along their `previous` links, checks every link's SHA-256 against the previous manifest's bytes, re-reads
 * every listed file (size and SHA-256, streamed) and lists files no manifest mentions. See {@link DropProblemCode}.
 * Listing failures (connection, permissions) are thrown; per-file read failures are reported.
 *
 * @example
 * const report = await verifyDrop(target, 'acme');
 * for (const p of report.problems) console.log(p.severity, p.code, p.message);
 */
export async function verifyDrop(target: Target, tenantId: string, options: VerifyOptions = {}): Promise<DropVerificationReport> {
  const tenant = assertTenantId(tenantId);
  const errors: DropProblem[] = [];
  const warnings: DropProblem[] = [];
  const files: ListedFile[] = [];
  await listTree(target, tenant, files, warnings);

  const manifestFiles = files.filter((file) => isManifestFileName(file.name));
  const recovered = recoverableManifests(files);
  for (const file of recovered) {
    manifestFiles.push(file);
    errors.push({
      code: 'FILE_RECOVERABLE',
      severity: 'error',
      path: file.path,
      manifest: file.path,
      message: recoverableMessage(file.path, file.readFrom ?? '', 'is there; it was verified from the copy'),
    });
  }
  const hashes = new Map<string, string>();
  const found: FoundManifest[] = [];
  for (const file of manifestFiles) {
    let bytes: Buffer;
    try {
      bytes = await readManifestBytes(target, file);
    } catch (error) {
      const code = error instanceof RetentionError && error.code === 'ERR_MANIFEST_INVALID' ? 'MANIFEST_INVALID' : 'MANIFEST_UNREADABLE';
      errors.push({ code, severity: 'error', path: file.path, manifest: file.path, message: `${file.path}: ${describe(error)}` });
      continue;
    }
    const sha256 = hashManifest(bytes);
    hashes.set(file.path, sha256);
    let manifest: Manifest;
    try {
      manifest = parseManifest(bytes);
    } catch (error) {
      errors.push({ code: 'MANIFEST_INVALID', severity: 'error', path: file.path, manifest: file.path, message: `${file.path}: ${describe(error)}` });
      continue;
    }
    const expectedPath = manifestPathOf(manifest);
    if (expectedPath !== file.path) {
      errors.push({
        code: 'MANIFEST_MISPLACED',
        severity: 'error',
        path: file.path,
        manifest: file.path,
        message: `${file.path} describes run ${manifest.runId} of tenant ${manifest.tenantId}, which belongs at ${expectedPath}`,
      });
    }
    found.push({ path: file.path, sha256, manifest });
  }

  const ordered = orderChain(found, hashes, errors);

  if (options.expectedHead !== undefined) {
    const head = options.expectedHead;
    const stored = hashes.get(head.path);
    if (stored !== head.sha256) {
      errors.push({
        code: 'CHAIN_HEAD_MISMATCH',
        severity: 'error',
        path: head.path,
        message:
          stored === undefined
            ? `the newest manifest ${head.path} is missing`
            : `the newest manifest ${head.path} hashes to ${stored}, expected ${head.sha256}: it was altered or replaced`,
      });
    }
  }

  const listed = new Set<string>();
  let filesChecked = 0;
  for (const entry of ordered) {
    for (const file of entry.manifest.files) listed.add(file.path);
    const problems = await verifyManifestFiles(target, entry.manifest, options);
    filesChecked += entry.manifest.files.length;
    errors.push(...problems.map((problem) => ({ ...problem, manifest: entry.path })));
  }

  for (const file of files) {
    if (isManifestFileName(file.name) || listed.has(file.path)) continue;
    const leftover = leftoverOf(file, files, listed, recovered);
    if (leftover === null) continue;
    if (leftover !== undefined)
      warnings.push({
        code: 'FILE_LEFTOVER',
        severity: 'warning',
        path: file.path,
        message: `${file.path} ${leftover}; loaders ignore it, and the tenant's next run over this day removes it`,
      });
    else
      warnings.push({
        code: 'FILE_UNLISTED',
        severity: 'warning',
        path: file.path,
        message: `${file.path} is not listed by any manifest (${leftBy(file.path)}): loaders ignore it`,
      });
  }
  if (manifestFiles.length === 0) {
    warnings.push({
      code: 'DROP_EMPTY',
      severity: 'warning',
      path: tenant,
      message: `no manifest under ${tenant}/: nothing has been delivered yet, or the drop root is wrong`,
    });
  }

  const manifests = ordered.map(({ path, sha256, manifest }): VerifiedManifest => {
    let records = 0;
    let rejected = 0;
    let bytes = 0;
    for (const file of manifest.files) {
      if (file.kind === 'records') records += file.records;
      else rejected += file.records;
      bytes += file.bytes;
    }
    return { path, runId: manifest.runId, sha256, previous: manifest.previous, files: manifest.files.length, records, rejected, bytes };
  });

  return { tenantId: tenant, verdict: errors.length === 0 ? 'ok' : 'failed', manifests, filesChecked, problems: [...errors, ...warnings] };
}
