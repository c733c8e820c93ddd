import { assertTenantId, isManifestFileName } from '../archive/drop-layout.js';
import { MAX_MANIFEST_BYTES, hashManifest, manifestPathOf, parseManifest, type Manifest } from '../archive/manifest.js';
import { recoveryCopiesIn } from '../delivery/recovery-names.js';
import { isTargetConnectionError } from '../delivery/target-errors.js';
import type { Target } from '../delivery/target.js';
import { RetentionError } from '../errors.js';

const YEAR = /^\d{4}$/;
const TWO_DIGITS = /^\d{2}$/;

/**
 * Paths of every manifest in a tenant's drop (`<tenant>/<yyyy>/<mm>/<dd>/manifest-*.json`), sorted. Lists only the
 * date directories, never the record files below them.
 *
 * @example
 * await listDropManifests(target, 'acme'); // ['acme/2026/11/23/manifest-r1.json', …]
 */
export async function listDropManifests(target: Target, tenantId: string): Promise<string[]> {
  const tenant = assertTenantId(tenantId);
  const paths: string[] = [];
  const dirs = async (path: string, pattern: RegExp) =>
    (await target.list(path)).filter((e) => e.type === 'directory' && pattern.test(e.name)).map((e) => e.name);
  for (const year of await dirs(tenant, YEAR)) {
    for (const month of await dirs(`${tenant}/${year}`, TWO_DIGITS)) {
      for (const day of await dirs(`${tenant}/${year}/${month}`, TWO_DIGITS)) {
        const dayPath = `${tenant}/${year}/${month}/${day}`;
        const entries = await target.list(dayPath);
        const found = new Set<string>();
        for (const entry of entries) {
          if (entry.type === 'file' && isManifestFileName(entry.name)) found.add(`${dayPath}/${entry.name}`);
        }
        for (const copy of recoveryCopiesIn(dayPath, entries)) {
          if (isManifestFileName(copy.originalPath.slice(dayPath.length + 1))) found.add(copy.originalPath);
        }
        paths.push(...found);
      }
    }
  }
  return paths.sort();
}

/** A manifest's bytes as stored, their SHA-256, and the manifest when it parses. */
export interface StoredManifest {
  path: string;
  bytes: Buffer;
  sha256: string;
}

/**
 * Reads a manifest's exact bytes (at most `MAX_MANIFEST_BYTES`). `ERR_IMPORT_MANIFEST_MISSING` when it is not there.
 *
 * A manifest missing under its name but kept under a recovery name (the server stopped in the middle of replacing it,
 * see `src/delivery/recovery-names.ts`) is read from its newest copy that describes itself at `path`, and renamed back
 * when the login may rename; its bytes are then checked like any manifest's (chain link, SHA-256 of an earlier import).
 */
export async function readStoredManifest(target: Target, path: string): Promise<StoredManifest> {
  const entry = await target.stat(path);
  if (entry === undefined || entry.type !== 'file') return readRecoveredManifest(target, path);
  if (entry.size > MAX_MANIFEST_BYTES)
    throw new RetentionError('ERR_MANIFEST_INVALID', `manifest ${path} is ${entry.size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
  const bytes = await readManifestBytes(target, path, path);
  return { path, bytes, sha256: hashManifest(bytes) };
}

async function readManifestBytes(target: Target, path: string, readFrom: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await target.read(readFrom)) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_MANIFEST_BYTES) throw new RetentionError('ERR_MANIFEST_INVALID', `manifest ${path} is more than the ${MAX_MANIFEST_BYTES} bytes allowed`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function readRecoveredManifest(target: Target, path: string): Promise<StoredManifest> {
  const directory = path.slice(0, path.lastIndexOf('/'));
  for (const copy of recoveryCopiesIn(directory, await target.list(directory))) {
    if (copy.originalPath !== path || copy.size > MAX_MANIFEST_BYTES) continue;
    const bytes = await readManifestBytes(target, path, copy.path);
    let describesItself: boolean;
    try {
      describesItself = manifestPathOf(parseManifest(bytes)) === path;
    } catch {
      describesItself = false;
    }
    if (!describesItself) continue;
    try {
      await target.rename(copy.path, path);
    } catch (err) {
      if (isTargetConnectionError(err)) throw err;
    }
    return { path, bytes, sha256: hashManifest(bytes) };
  }
  throw new RetentionError('ERR_IMPORT_MANIFEST_MISSING', `manifest ${path} is not in the drop (removed, or the target root changed)`);
}

/** A manifest found in the drop, parsed. */
export interface DropManifest {
  path: string;
  sha256: string;
  manifest: Manifest;
}

/**
 * Orders manifests along their `previous` links: each chain from its first manifest (genesis, or one whose
 * predecessor is `isStart`) to its last, chains in path order; manifests no chain reaches (a missing or broken link,
 * a fork's second branch) follow at the end in path order, so their import reports the broken link.
 *
 * @example
 * orderByChain(found, (previousPath) => imported.has(previousPath));
 */
export function orderByChain(manifests: readonly DropManifest[], isStart: (previousPath: string) => boolean = () => false): DropManifest[] {
  const byPath = new Map(manifests.map((m) => [m.path, m]));
  const followers = new Map<string, DropManifest[]>();
  const starts: DropManifest[] = [];
  for (const entry of [...manifests].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const previous = entry.manifest.previous;
    if (previous === null || (!byPath.has(previous.path) && isStart(previous.path))) starts.push(entry);
    else if (byPath.has(previous.path)) followers.set(previous.path, [...(followers.get(previous.path) ?? []), entry]);
  }
  const ordered: DropManifest[] = [];
  const seen = new Set<string>();
  for (const start of starts) {
    let current: DropManifest | undefined = start;
    while (current && !seen.has(current.path)) {
      seen.add(current.path);
      ordered.push(current);
      const next: DropManifest[] = followers.get(current.path) ?? [];
      current = next.find((candidate) => candidate.manifest.previous?.sha256 === current?.sha256) ?? next[0];
    }
  }
  for (const entry of [...manifests].sort((a, b) => (a.path < b.path ? -1 : 1))) if (!seen.has(entry.path)) ordered.push(entry);
  return ordered;
}

/** Reads and parses the manifests at `paths`; ones that do not read or parse are returned apart with the error. */
export async function readDropManifests(
  target: Target,
  paths: readonly string[],
): Promise<{ manifests: DropManifest[]; unreadable: { path: string; error: unknown }[] }> {
  const manifests: DropManifest[] = [];
  const unreadable: { path: string; error: unknown }[] = [];
  for (const path of paths) {
    try {
      const stored = await readStoredManifest(target, path);
      manifests.push({ path, sha256: stored.sha256, manifest: parseManifest(stored.bytes) });
    } catch (error) {
      unreadable.push({ path, error });
    }
  }
  return { manifests, unreadable };
}
