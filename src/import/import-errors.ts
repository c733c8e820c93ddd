import { BSON, MongoInvalidArgumentError } from 'mongodb';
import { errorCodeSpec } from '../error-catalogue.js';
import { RetentionError, type ErrorCode } from '../errors.js';

/**
 * True for an import failure that refuses its manifest for good (the catalogue's `refusesManifest`: a file that does
 * not match the manifest, a broken chain, a record the archive cannot take, a destination the policy refuses): the
 * manifest is marked `failed` with the reason (and the file at fault), and its successors wait behind it until an
 * operator acts (`retention import <tenant> --retry`). Every such code is also permanent for the job.
 *
 * @example
 * if (refusesManifest(err)) result.failed.push({ path, code: err.code, message: err.message });
 */
export function refusesManifest(err: unknown): err is RetentionError {
  return err instanceof RetentionError && errorCodeSpec(err.code).refusesManifest === true;
}

/** An import failure about one listed file of a manifest. */
export class ImportFileError extends RetentionError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Path of the file in the drop. */
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
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
  return file === undefined
    ? new RetentionError('ERR_IMPORT_UNEXPECTED', text, { cause: err })
    : new ImportFileError('ERR_IMPORT_UNEXPECTED', text, file, { cause: err });
}
