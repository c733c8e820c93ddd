import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { RetentionError } from '../errors.js';
import { PARTIAL_UPLOAD_SUFFIX } from './remote-path.js';
import { isTargetConnectionError } from './target-errors.js';
import type { Target, TargetEntry } from './target.js';

/**
 * Recovery names: where a delivered file waits while a server without an atomic replace (no
 * `posix-rename@openssh.com`, or one that refuses it) gets its replacement.
 *
 * A replace on such a server is three renames and a delete: `<name>` → `<name>.replaced-<stamp>-<token>` (the
 * recovery name), `<name>.part` → `<name>`, then the recovery copy is deleted; when the second rename fails, the
 * recovery copy is renamed back. So at every instant the delivered bytes exist under `<name>` or under its recovery
 * name. A server that dies between the two renames leaves only the recovery copy: `retention verify` reports such a
 * file as recoverable, the importer reads it from the recovery copy, and the tenant's next run renames it back once
 * its size and SHA-256 match the manifest that lists it.
 *
 * `<stamp>` is the worker's UTC time of the replace (`20261123T170000Z`), so leftovers can be aged without trusting the
 * server's clock; `<token>` is 8 hex digits, so two replaces of one name never collide. Every part is in the drop
 * layout's safe alphabet (`A-Z a-z 0-9 . _ -`).
 */

/** What separates a file's name from the stamp of its recovery name. */
export const RECOVERY_NAME_MARKER = '.replaced-';

const RECOVERY_NAME = /^(?<original>.+)\.replaced-(?<stamp>\d{8}T\d{6}Z)-(?<token>[0-9a-f]{8})$/;
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** A recovery name taken apart by {@link parseRecoveryName}. */
export interface RecoveryName {
  /** The name of the file it is a copy of. */
  original: string;
  /** When the replace began, by the clock of the worker that did it. */
  replacedAt: Date;
  token: string;
}

function stampOf(at: Date): string {
  return at.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
}

/**
 * The recovery name of `name` for a replace that begins at `at`.
 *
 * @example
 * recoveryNameFor('chats-1.json', new Date('2026-11-23T17:00:00.250Z'), '0a1b2c3d');
 * // 'chats-1.json.replaced-20261123T170000Z-0a1b2c3d'
 */
export function recoveryNameFor(name: string, at: Date, token: string = randomBytes(4).toString('hex')): string {
  if (!/^[0-9a-f]{8}$/.test(token)) throw new RetentionError('ERR_PATH_INVALID', `recovery token ${JSON.stringify(token)} must be 8 hex digits`);
  return `${name}${RECOVERY_NAME_MARKER}${stampOf(at)}-${token}`;
}

/**
 * Takes a recovery name apart; `undefined` for any other name.
 *
 * @example
 * parseRecoveryName('chats-1.json.replaced-20261123T170000Z-0a1b2c3d');
 * // { original: 'chats-1.json', replacedAt: new Date('2026-11-23T17:00:00Z'), token: '0a1b2c3d' }
 */
export function parseRecoveryName(name: string): RecoveryName | undefined {
  const groups = RECOVERY_NAME.exec(name)?.groups;
  const stamp = STAMP.exec(groups?.stamp ?? '');
  if (groups?.original === undefined || groups.token === undefined || stamp === null) return undefined;
  const [, year, month, day, hour, minute, second] = stamp;
  const replacedAt = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  if (Number.isNaN(replacedAt.getTime())) return undefined;
  return { original: groups.original, replacedAt, token: groups.token };
}

/**
 * The name a partial upload of `<name>` is written to; `undefined` when `name` is not one.
 *
 * @example
 * partialUploadOriginal('chats-1.json.part'); // 'chats-1.json'
 */
export function partialUploadOriginal(name: string): string | undefined {
  return name.endsWith(PARTIAL_UPLOAD_SUFFIX) && name.length > PARTIAL_UPLOAD_SUFFIX.length ? name.slice(0, -PARTIAL_UPLOAD_SUFFIX.length) : undefined;
}

/** A recovery copy found in a directory. */
export interface RecoveryCopy {
  /** Path of the copy, relative to the target root. */
  path: string;
  /** Path of the file it is a copy of. */
  originalPath: string;
  size: number;
  replacedAt: Date;
}

/**
 * The recovery copies among a directory's entries, newest first (the newest is what the file held last).
 *
 * @example
 * recoveryCopiesIn('acme/2026/11/23/chats', await target.list('acme/2026/11/23/chats'));
 */
export function recoveryCopiesIn(directory: string, entries: readonly TargetEntry[]): RecoveryCopy[] {
  const copies: RecoveryCopy[] = [];
  for (const entry of entries) {
    const parsed = entry.type === 'file' ? parseRecoveryName(entry.name) : undefined;
    if (parsed === undefined) continue;
    copies.push({ path: joinPath(directory, entry.name), originalPath: joinPath(directory, parsed.original), size: entry.size, replacedAt: parsed.replacedAt });
  }
  return copies.sort((a, b) => b.replacedAt.getTime() - a.replacedAt.getTime() || (a.path < b.path ? 1 : -1));
}

function joinPath(directory: string, name: string): string {
  return directory === '' || directory === '.' ? name : `${directory}/${name}`;
}

/** Size and SHA-256 a recovery copy must have to stand in for a listed file. */
export interface ExpectedContent {
  /** Exact size; unknown for a manifest known only by the SHA-256 its successor records. */
  bytes?: number;
  /** Lowercase hex SHA-256. */
  sha256: string;
}

async function sha256Of(target: Target, path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await target.read(path)) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * The recovery copy of the file at `path` whose bytes are `expected` (size compared first, then the SHA-256, streamed),
 * newest first; `undefined` when there is none. `entries` is the listing of the file's directory when the caller has
 * it already.
 *
 * @example
 * const copy = await findRecoveryCopy(target, file.path, { bytes: file.bytes, sha256: file.sha256 });
 */
export async function findRecoveryCopy(
  target: Target,
  path: string,
  expected: ExpectedContent,
  entries?: readonly TargetEntry[],
): Promise<RecoveryCopy | undefined> {
  const directory = posix.dirname(path);
  const listing = entries ?? (await target.list(directory === '.' ? '' : directory));
  for (const copy of recoveryCopiesIn(directory, listing)) {
    if (copy.originalPath !== path || (expected.bytes !== undefined && copy.size !== expected.bytes)) continue;
    const digest = await sha256Of(target, copy.path);
    if ((expected.bytes === undefined || digest.bytes === expected.bytes) && digest.sha256 === expected.sha256) return copy;
  }
  return undefined;
}

/** What {@link restoreFromRecoveryCopy} did. */
export type RestoreOutcome = { status: 'restored'; from: string } | { status: 'not-restored'; from: string; error: RetentionError } | { status: 'no-copy' };

/**
 * Puts a missing file back from its recovery copy, when one with exactly the `expected` bytes exists: renames the copy
 * to the file's name (a rename that never replaces, so a file that reappeared meanwhile is kept). A rename that fails
 * otherwise than by a lost connection (a read-only login, a file that reappeared: `ERR_TARGET_EXISTS`) is reported as
 * `not-restored` with the copy's path, which can still be read instead; a lost connection is thrown.
 *
 * @example
 * const outcome = await restoreFromRecoveryCopy(target, file.path, { bytes: file.bytes, sha256: file.sha256 });
 * if (outcome.status === 'restored') logger.info({ path: file.path, from: outcome.from }, 'file restored');
 */
export async function restoreFromRecoveryCopy(
  target: Target,
  path: string,
  expected: ExpectedContent,
  entries?: readonly TargetEntry[],
): Promise<RestoreOutcome> {
  const copy = await findRecoveryCopy(target, path, expected, entries);
  if (copy === undefined) return { status: 'no-copy' };
  try {
    await target.rename(copy.path, path);
    return { status: 'restored', from: copy.path };
  } catch (error) {
    if (error instanceof RetentionError && !isTargetConnectionError(error)) {
      return { status: 'not-restored', from: copy.path, error };
    }
    throw error;
  }
}
