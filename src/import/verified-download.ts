import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ManifestFile } from '../archive/manifest.js';
import { restoreFromRecoveryCopy } from '../delivery/recovery-names.js';
import type { Target } from '../delivery/target.js';
import { ImportFileError } from './import-errors.js';

/**
 * Downloads one file a manifest lists into `localPath`, measuring its size and SHA-256 while it streams, and
 * compares both with the manifest. Nothing is parsed here: the caller loads the file only after every file of the
 * manifest passed. Throws `ImportFileError` (`ERR_IMPORT_FILE_MISSING`, `ERR_IMPORT_SIZE_MISMATCH`,
 * `ERR_IMPORT_CHECKSUM_MISMATCH`) naming the file; target failures (connection lost) pass through as they are.
 *
 * A file missing under its name whose recovery copy has the listed size and SHA-256 (the server stopped in the middle
 * of replacing it, see `src/delivery/recovery-names.ts`) is renamed back and downloaded; where the login may not
 * rename, it is downloaded from the recovery copy.
 *
 * @example
 * await downloadVerified(target, manifest.files[0], '/spool/acme.r1/0.json.gz');
 */
export async function downloadVerified(target: Target, file: ManifestFile, localPath: string): Promise<void> {
  const entry = await target.stat(file.path);
  let source = file.path;
  if (entry === undefined || entry.type !== 'file') {
    const outcome = await restoreFromRecoveryCopy(target, file.path, { bytes: file.bytes, sha256: file.sha256 });
    if (outcome.status === 'no-copy') {
      throw new ImportFileError(
        'ERR_IMPORT_FILE_MISSING',
        `${file.path} is listed in the manifest but missing from the drop; nothing of the manifest was loaded (deliver the run again: retention backfill)`,
        file.path,
      );
    }
    if (outcome.status === 'not-restored') source = outcome.from;
  } else if (entry.size !== file.bytes) {
    throw new ImportFileError(
      'ERR_IMPORT_SIZE_MISMATCH',
      `${file.path} is ${entry.size} bytes but the manifest says ${file.bytes}; nothing of the manifest was loaded`,
      file.path,
    );
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(await target.read(source), measure, createWriteStream(localPath));
  if (bytes !== file.bytes) {
    throw new ImportFileError(
      'ERR_IMPORT_SIZE_MISMATCH',
      `${file.path} read as ${bytes} bytes but the manifest says ${file.bytes}; nothing of the manifest was loaded`,
      file.path,
    );
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256) {
    throw new ImportFileError(
      'ERR_IMPORT_CHECKSUM_MISMATCH',
      `${file.path} has SHA-256 ${sha256} but the manifest says ${file.sha256}: the file was altered after delivery; nothing of the manifest was loaded`,
      file.path,
    );
  }
}
