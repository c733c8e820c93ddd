import { RetentionError } from '../errors.js';

/**
 * Checks a target path (POSIX, relative to the target's root) and returns its segments.
 *
 * Refused with `ERR_PATH_INVALID` (status 400): empty paths, absolute paths, `.` and `..` segments, empty segments
 * (`a//b`, a trailing `/`), backslashes, NUL and other control characters. A target never resolves such a path, so
 * nothing can be read or written outside its root, whatever the caller passes.
 *
 * @example
 * parseRemotePath('acme/2025/01/31/chats/chats-1.json'); // ['acme', '2025', '01', '31', 'chats', 'chats-1.json']
 * parseRemotePath('../etc/passwd'); // throws RetentionError ERR_PATH_INVALID
 */
export function parseRemotePath(path: string): string[] {
  const refuse = (why: string): never => {
    throw new RetentionError(
      'ERR_PATH_INVALID',
      `target path ${JSON.stringify(path)} ${why}; use a relative POSIX path such as "tenant/2025/01/31/chats/file.json"`,
    );
  };
  if (typeof path !== 'string' || path === '') return refuse('is empty');
  if (path.startsWith('/')) return refuse('is absolute');
  if (path.includes('\\')) return refuse('contains a backslash');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return refuse('contains NUL or another control character');
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return refuse('has an empty segment');
    if (segment === '.' || segment === '..') return refuse(`has a "${segment}" segment`);
  }
  return segments;
}

/**
 * Like {@link parseRemotePath}, but also accepts `''` or `'.'` for the root itself (returns `[]`); for listing a
 * directory.
 *
 * @example
 * parseRemoteDirectory('.'); // []
 */
export function parseRemoteDirectory(path: string): string[] {
  return path === '' || path === '.' ? [] : parseRemotePath(path);
}

/** Suffix of the temporary name an upload is written to before it is renamed to its final name. */
export const PARTIAL_UPLOAD_SUFFIX = '.part';
