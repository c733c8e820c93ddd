import { stat } from 'node:fs/promises';
import { RetentionError } from '../errors.js';

/**
 * Checks that the local file an upload starts from exists and is a regular file; returns its size.
 * A missing spool file is `ERR_SPOOL_FILE_MISSING` (the chunk has to be encoded again), not a target failure.
 *
 * @example
 * const bytes = await assertSpoolFile('/var/spool/retention/chats-1.json');
 */
export async function assertSpoolFile(localPath: string): Promise<number> {
  const info = await stat(localPath).catch(() => undefined);
  if (!info?.isFile()) {
    throw new RetentionError('ERR_SPOOL_FILE_MISSING', `spool file ${localPath} to upload does not exist or is not a file; encode the chunk again`);
  }
  return info.size;
}
