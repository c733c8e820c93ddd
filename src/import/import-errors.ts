import { RetentionError } from '../errors.js';

/**
 * Codes of import failures that retrying cannot fix: the manifest is marked `failed` with the reason (and the file
 * at fault), and its successors wait behind it until an operator acts (`retention import <tenant> --retry`).
 */
export const PERMANENT_IMPORT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_IMPORT_CHECKSUM_MISMATCH',
  'ERR_IMPORT_SIZE_MISMATCH',
  'ERR_IMPORT_FILE_MISSING',
  'ERR_IMPORT_FILE_UNREADABLE',
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
