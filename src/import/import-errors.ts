import { BSON, MongoInvalidArgumentError } from 'mongodb';
import { RetentionError } from '../errors.js';

/**
 * Codes of import failures that retrying cannot fix: the manifest is marked `failed` with the reason (and the file
 * at fault), and its successors wait behind it until an operator acts (`retention import <tenant> --retry`).
 */
export const PERMANENT_IMPORT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_IMPORT_CHECKSUM_MISMATCH',
  // The operator's destination policy refuses the tenant's target or archive: nothing changes until the settings do.
  'ERR_DESTINATION_NOT_ALLOWED',
  'ERR_LOCAL_TARGET_DISABLED',
  'ERR_LOCAL_TARGET_OUTSIDE_BASE',
  'ERR_IMPORT_SIZE_MISMATCH',
  'ERR_IMPORT_FILE_MISSING',
  'ERR_IMPORT_FILE_UNREADABLE',
  'ERR_IMPORT_INFLATED_TOO_LARGE',
  'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
  'ERR_IMPORT_UNEXPECTED',
  'ERR_IMPORT_RECORD_INVALID',
  'ERR_IMPORT_COUNT_MISMATCH',
  'ERR_IMPORT_MANIFEST_MISSING',
  'ERR_IMPORT_MANIFEST_MISPLACED',
  'ERR_IMPORT_MANIFEST_CHANGED',
  'ERR_IMPORT_CHAIN_BROKEN',
  'ERR_IMPORT_CHAIN_BLOCKED',
  'ERR_IMPORT_NOT_ONLINE',
  'ERR_ARCHIVE_TENANT_MISMATCH',
  'ERR_ARCHIVE_WRITE_REFUSED',
  'ERR_ARCHIVE_RECORD_INVALID',
  'ERR_MANIFEST_INVALID',
]);

/** An import failure about one listed file of a manifest. */
export class ImportFileError extends RetentionError {
  constructor(
    code: string,
    message: string,
    /** Path of the file in the drop. */
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(code, message, 422, options);
  }
}

/** The listed file an import error is about, if any. */
export function failedFileOf(err: unknown): string | undefined {
  return err instanceof ImportFileError ? err.file : undefined;
}

/**
 * True for errors that are not Retention's own and that a retry of the same verified input repeats: the driver or
 * BSON refusing a value (`MongoInvalidArgumentError`, `BSONError`), or the runtime failing on it (`RangeError`,
 * `TypeError`). Network and server errors are not among them: they stay transient.
 */
export function isDeterministicFailure(err: unknown): boolean {
  if (err instanceof RetentionError) return false;
  return err instanceof RangeError || err instanceof TypeError || err instanceof MongoInvalidArgumentError || BSON.BSONError.isBSONError(err);
}

/**
 * `err` as the importer throws it: a deterministic failure that is not Retention's own ({@link isDeterministicFailure})
 * becomes the permanent `ERR_IMPORT_UNEXPECTED`, so the manifest is marked failed at once instead of being retried
 * the same way again and again; anything else is returned as it is.
 *
 * @example
 * try { await writer.add(type, record); } catch (err) { throw asImportFailure(err, manifestPath); }
 */
export function asImportFailure(err: unknown, manifestPath: string, file?: string): unknown {
  if (!isDeterministicFailure(err)) return err;
  const { name, message } = err as Error;
  const text = `importing ${manifestPath} failed with ${name}: ${message}; a retry would fail the same way, so the manifest is refused (report this as a bug; after a fix, retry it: retention import <tenant> --retry)`;
  return file === undefined ? new RetentionError('ERR_IMPORT_UNEXPECTED', text, 500, { cause: err }) : new ImportFileError('ERR_IMPORT_UNEXPECTED', text, file, { cause: err });
}
