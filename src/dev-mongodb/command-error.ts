import type { Document } from 'bson';

/** MongoDB server error codes the wire server answers with (names as in MongoDB's error_codes.yml). */
export const ErrorCode = {
  InternalError: { code: 1, codeName: 'InternalError' },
  BadValue: { code: 2, codeName: 'BadValue' },
  FailedToParse: { code: 9, codeName: 'FailedToParse' },
  TypeMismatch: { code: 14, codeName: 'TypeMismatch' },
  IllegalOperation: { code: 20, codeName: 'IllegalOperation' },
  NamespaceNotFound: { code: 26, codeName: 'NamespaceNotFound' },
  IndexNotFound: { code: 27, codeName: 'IndexNotFound' },
  CursorNotFound: { code: 43, codeName: 'CursorNotFound' },
  NamespaceExists: { code: 48, codeName: 'NamespaceExists' },
  CommandNotFound: { code: 59, codeName: 'CommandNotFound' },
  ImmutableField: { code: 66, codeName: 'ImmutableField' },
  InvalidOptions: { code: 72, codeName: 'InvalidOptions' },
  InvalidNamespace: { code: 73, codeName: 'InvalidNamespace' },
  IndexOptionsConflict: { code: 85, codeName: 'IndexOptionsConflict' },
  IndexKeySpecsConflict: { code: 86, codeName: 'IndexKeySpecsConflict' },
  UnsupportedOpQueryCommand: { code: 352, codeName: 'UnsupportedOpQueryCommand' },
  DuplicateKey: { code: 11000, codeName: 'DuplicateKey' },
  UnrecognizedPipelineStage: { code: 40324, codeName: 'Location40324' },
} as const;

export type ErrorCodeEntry = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A command failure answered as `{ ok: 0, errmsg, code, codeName }` (or as a write error inside `writeErrors`).
 *
 * @example
 * ```ts
 * throw new CommandError(ErrorCode.NamespaceNotFound, 'ns does not exist: app.users');
 * ```
 */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(
    entry: ErrorCodeEntry,
    message: string,
    readonly details: Document = {},
  ) {
    super(message);
    this.name = 'CommandError';
    this.code = entry.code;
    this.codeName = entry.codeName;
  }

  /** The reply document for a failed command. */
  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.details };
  }

  /** The entry for `writeErrors` of a write command. */
  toWriteError(index: number): Document {
    return { index, code: this.code, ...this.details, errmsg: this.message };
  }
}

/** Turns anything thrown while running a command (mingo errors included) into a `CommandError`. */
export function toCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CommandError(ErrorCode.BadValue, message);
}
