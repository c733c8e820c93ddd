import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { RetentionError } from '../errors.js';

/** The operator variable naming the directory below which tenants' local-directory targets must lie. */
export const LOCAL_TARGET_BASE_VARIABLE = 'LOCAL_TARGET_BASE_DIR';

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * The real path of `path` (symbolic links and `..` resolved). Of a path that does not exist (yet), the real path of
 * its deepest existing ancestor followed by the rest, so a link in an existing ancestor is still followed.
 *
 * @example
 * await realPathOf('/srv/drops/../drops/acme'); // '/srv/drops/acme'
 */
export async function realPathOf(path: string): Promise<string> {
  const absolute = resolve(path);
  const rest: string[] = [];
  for (let current = absolute; ;) {
    try {
      return join(await realpath(current), ...rest.reverse());
    } catch (err) {
      const code = errnoOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(current);
      if (parent === current) return absolute;
      rest.push(basename(current));
      current = parent;
    }
  }
}

/**
 * The refusal of a local-directory target on an installation without `LOCAL_TARGET_BASE_DIR`
 * (`ERR_LOCAL_TARGET_DISABLED`, status 400).
 *
 * @example
 * if (base === undefined) throw localTargetsOff('/srv/drop');
 */
export function localTargetsOff(directory: string): RetentionError {
  return new RetentionError(
    'ERR_LOCAL_TARGET_DISABLED',
    `local directory targets are off on this installation (the Retention operator has not set ${LOCAL_TARGET_BASE_VARIABLE}), so nothing is delivered to ${directory} on the worker's machine; deliver to an SFTP server, or ask the operator to set ${LOCAL_TARGET_BASE_VARIABLE} to the directory local targets may use`,
  );
}

/**
 * Checks that a tenant's local-directory target lies in the operator's base directory (`LOCAL_TARGET_BASE_DIR`) and
 * returns its real path, the one to write to. Both paths are compared as real paths, so neither `..` nor a symbolic
 * link leads out of the base.
 *
 * Throws `ERR_LOCAL_TARGET_DISABLED` when the operator set no base (local targets are off), and
 * `ERR_LOCAL_TARGET_OUTSIDE_BASE` when the directory resolves outside it; both are permanent job failures.
 *
 * @example
 * const root = await resolveLocalTargetDirectory('/srv/retention', '/srv/retention/acme'); // '/srv/retention/acme'
 */
export async function resolveLocalTargetDirectory(baseDirectory: string | undefined, directory: string): Promise<string> {
  if (baseDirectory === undefined) throw localTargetsOff(directory);
  const base = await realPathOf(baseDirectory);
  const real = await realPathOf(directory);
  const inside = real === base || real.startsWith(base.endsWith(sep) ? base : `${base}${sep}`);
  if (!inside) {
    throw new RetentionError(
      'ERR_LOCAL_TARGET_OUTSIDE_BASE',
      `local directory ${directory} is not inside ${baseDirectory}, the directory local targets may use (${LOCAL_TARGET_BASE_VARIABLE}; symbolic links and ".." are followed before comparing); choose a directory below ${baseDirectory}, or ask the Retention operator to change ${LOCAL_TARGET_BASE_VARIABLE}`,
    );
  }
  return real;
}
