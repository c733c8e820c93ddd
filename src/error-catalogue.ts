/**
 * Every error code Retention raises or records, with the HTTP status the portal answers with when the error reaches
 * it, and whether a job failing with it is permanent (retrying cannot fix it: the job fails at its first attempt, with
 * a message that says what to change). `refusesManifest` marks the import failures that refuse a manifest for good:
 * the manifest is recorded as failed, and the ones after it wait until an operator acts (`retention import --retry`).
 *
 * A code is stable: callers and tests switch on it, never on the message. `RetentionError` takes its status from
 * here, and `ErrorCode` (the keys) types every code, so a code is added here or not at all.
 *
 * @example
 * throw new RetentionError('ERR_TENANT_NOT_FOUND', `no tenant "${id}"`);
 * ERROR_CATALOGUE.ERR_TENANT_NOT_FOUND; // { status: 404, permanent: true }
 */

/** What the catalogue says of one code. */
export interface ErrorCodeSpec {
  /** HTTP status of the portal's answer when an error with this code reaches it. */
  readonly status: number;
  /** A job failing with this code is not retried. */
  readonly permanent: boolean;
  /** An import failing with this code refuses its manifest until an operator acts (implies `permanent`). */
  readonly refusesManifest?: true;
}

export const ERROR_CATALOGUE = {
  ERR_ACCESS_GRANTS_INVALID: { status: 400, permanent: false },
  ERR_ACTIVATION_LIFETIME_INVALID: { status: 400, permanent: false },
  ERR_ACTIVATION_PURPOSE_INVALID: { status: 500, permanent: false },
  ERR_ACTIVATION_SUBJECT_INVALID: { status: 400, permanent: false },
  ERR_ACTIVATION_TOKEN_EXPIRED: { status: 410, permanent: false },
  ERR_ACTIVATION_TOKEN_INVALID: { status: 400, permanent: false },
  ERR_ARCHIVE_BUSY: { status: 409, permanent: false },
  ERR_ARCHIVE_CURSOR_INVALID: { status: 400, permanent: true },
  ERR_ARCHIVE_FILTER_INVALID: { status: 400, permanent: true },
  ERR_ARCHIVE_FOREIGN: { status: 409, permanent: false },
  ERR_ARCHIVE_MISSING: { status: 409, permanent: false },
  ERR_ARCHIVE_OPTIONS_INVALID: { status: 500, permanent: false },
  ERR_ARCHIVE_RECORD_INVALID: { status: 422, permanent: true, refusesManifest: true },
  ERR_ARCHIVE_RETENTION_INVALID: { status: 400, permanent: false },
  ERR_ARCHIVE_SCOPE_DENIED: { status: 403, permanent: true },
  ERR_ARCHIVE_TENANT_MISMATCH: { status: 422, permanent: true, refusesManifest: true },
  ERR_ARCHIVE_UNAVAILABLE: { status: 503, permanent: false },
  ERR_ARCHIVE_WRITE_REFUSED: { status: 422, permanent: true, refusesManifest: true },
  ERR_AUDIT_CONTENDED: { status: 503, permanent: false },
  ERR_BACKUP_CODE_INVALID: { status: 500, permanent: false },
  ERR_BAD_REQUEST: { status: 400, permanent: false },
  ERR_BASE32_INVALID: { status: 400, permanent: false },
  ERR_CHAIN_CONFLICT: { status: 409, permanent: false },
  ERR_CHART_INPUT_INVALID: { status: 500, permanent: false },
  ERR_CHUNK_INVALID: { status: 400, permanent: false },
  ERR_CLI_USAGE: { status: 400, permanent: false },
  ERR_CONFIG_INVALID: { status: 500, permanent: false },
  ERR_CSRF_INVALID: { status: 403, permanent: false },
  ERR_DEMO_OPTIONS_INVALID: { status: 400, permanent: false },
  ERR_DEMO_REDIS: { status: 500, permanent: false },
  ERR_DEMO_TIMEOUT: { status: 500, permanent: false },
  ERR_DESTINATION_ALLOWLIST_INVALID: { status: 400, permanent: false },
  ERR_DESTINATION_NOT_ALLOWED: { status: 400, permanent: true, refusesManifest: true },
  ERR_ENCODER_OPTIONS_INVALID: { status: 500, permanent: false },
  ERR_ENCODING_INVALID: { status: 400, permanent: false },
  ERR_EXPORTS_UNAVAILABLE: { status: 503, permanent: false },
  ERR_EXPORT_FILE_INCOMPLETE: { status: 500, permanent: false },
  ERR_EXPORT_LINK_EXPIRED: { status: 410, permanent: false },
  ERR_EXPORT_LINK_INVALID: { status: 404, permanent: false },
  ERR_EXPORT_NOT_FOUND: { status: 404, permanent: true },
  ERR_EXPORT_NOT_READY: { status: 409, permanent: false },
  ERR_EXPORT_OPTIONS_INVALID: { status: 500, permanent: false },
  ERR_EXPORT_REQUEST_INVALID: { status: 400, permanent: false },
  ERR_EXPORT_TOO_LARGE: { status: 413, permanent: true },
  ERR_FORBIDDEN: { status: 403, permanent: false },
  ERR_HOST_KEY_MISMATCH: { status: 502, permanent: true },
  ERR_HOST_KEY_PIN_INVALID: { status: 400, permanent: false },
  ERR_IMPORT_CHAIN_BLOCKED: { status: 409, permanent: true, refusesManifest: true },
  ERR_IMPORT_CHAIN_BROKEN: { status: 409, permanent: true, refusesManifest: true },
  ERR_IMPORT_CHECKSUM_MISMATCH: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_COUNT_MISMATCH: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_FAILED: { status: 500, permanent: false },
  ERR_IMPORT_FILE_MISSING: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_FILE_UNREADABLE: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_INFLATED_TOO_LARGE: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_INFLATE_RATIO_EXCEEDED: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_MANIFEST_CHANGED: { status: 409, permanent: true, refusesManifest: true },
  ERR_IMPORT_MANIFEST_MISPLACED: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_MANIFEST_MISSING: { status: 404, permanent: true, refusesManifest: true },
  ERR_IMPORT_NOT_ONLINE: { status: 409, permanent: true, refusesManifest: true },
  ERR_IMPORT_PREVIOUS_PENDING: { status: 409, permanent: false },
  ERR_IMPORT_RECORD_INVALID: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_SIZE_MISMATCH: { status: 422, permanent: true, refusesManifest: true },
  ERR_IMPORT_UNEXPECTED: { status: 500, permanent: true, refusesManifest: true },
  ERR_INTERNAL: { status: 500, permanent: false },
  ERR_IP_ALLOWLIST_INVALID: { status: 400, permanent: false },
  ERR_IP_NOT_ALLOWED: { status: 403, permanent: false },
  ERR_IP_RANGE_INVALID: { status: 400, permanent: false },
  ERR_LEGAL_HOLD_INVALID: { status: 400, permanent: false },
  ERR_LEGAL_HOLD_NOT_FOUND: { status: 404, permanent: false },
  ERR_LOCAL_TARGET_DISABLED: { status: 400, permanent: true, refusesManifest: true },
  ERR_LOCAL_TARGET_OUTSIDE_BASE: { status: 400, permanent: true, refusesManifest: true },
  ERR_LOGIN_THROTTLE_REPLY: { status: 503, permanent: false },
  ERR_MANIFEST_INVALID: { status: 422, permanent: true, refusesManifest: true },
  ERR_MASTER_KEYS_MISSING: { status: 500, permanent: true },
  ERR_NOT_FOUND: { status: 404, permanent: false },
  ERR_NOT_SIGNED_IN: { status: 401, permanent: false },
  ERR_OWNER_EXISTS: { status: 409, permanent: false },
  ERR_PART_INVALID: { status: 400, permanent: false },
  ERR_PASSWORD_CHANGE_REQUIRED: { status: 403, permanent: false },
  ERR_PASSWORD_EXPIRED: { status: 403, permanent: false },
  ERR_PASSWORD_HASH_INVALID: { status: 500, permanent: false },
  ERR_PASSWORD_INVALID: { status: 400, permanent: false },
  ERR_PASSWORD_POLICY_INVALID: { status: 400, permanent: false },
  ERR_PASSWORD_TOO_LONG: { status: 400, permanent: false },
  ERR_PATH_INVALID: { status: 400, permanent: true },
  ERR_QUERY_INVALID: { status: 400, permanent: false },
  ERR_QUEUES_UNAVAILABLE: { status: 503, permanent: false },
  ERR_REAUTH_FAILED: { status: 403, permanent: false },
  ERR_REAUTH_REQUIRED: { status: 403, permanent: false },
  ERR_REBUILD_SLOTS_BUSY: { status: 409, permanent: false },
  ERR_REBUILD_UNAVAILABLE: { status: 503, permanent: false },
  ERR_RECORD_TYPE_INVALID: { status: 400, permanent: false },
  ERR_RECORD_UNENCODABLE: { status: 500, permanent: false },
  ERR_ROUTE_UNKNOWN: { status: 500, permanent: false },
  ERR_RUN_ABANDONED: { status: 500, permanent: false },
  ERR_RUN_ATTEMPTS_EXHAUSTED: { status: 409, permanent: false },
  ERR_RUN_CONFLICT: { status: 409, permanent: false },
  ERR_RUN_EMPTY: { status: 500, permanent: false },
  ERR_RUN_ENDED: { status: 409, permanent: true },
  ERR_RUN_ID_INVALID: { status: 400, permanent: false },
  ERR_RUN_LOST: { status: 500, permanent: false },
  ERR_RUN_NOT_FOUND: { status: 404, permanent: false },
  ERR_SECRET_CONTEXT_INVALID: { status: 500, permanent: true },
  ERR_SECRET_KEY_UNKNOWN: { status: 500, permanent: true },
  ERR_SECRET_MALFORMED: { status: 500, permanent: true },
  ERR_SECRET_TAMPERED: { status: 500, permanent: true },
  ERR_SESSION_NOT_FOUND: { status: 404, permanent: false },
  ERR_SESSION_SECRET_MISSING: { status: 500, permanent: false },
  ERR_SETTINGS_CONFLICT: { status: 409, permanent: false },
  ERR_SETTINGS_INVALID: { status: 400, permanent: true },
  ERR_SETTINGS_MISSING: { status: 404, permanent: true },
  ERR_SOURCE_ABORTED: { status: 503, permanent: false },
  ERR_SOURCE_AUTH: { status: 502, permanent: true },
  ERR_SOURCE_CONFIG: { status: 400, permanent: true },
  ERR_SOURCE_MALFORMED_PAGE: { status: 502, permanent: false },
  ERR_SOURCE_PAGE_TOO_LARGE: { status: 502, permanent: true },
  ERR_SOURCE_UNAVAILABLE: { status: 502, permanent: false },
  ERR_SOURCE_WINDOW_INVALID: { status: 400, permanent: true },
  ERR_SPOOL_FILE_MISSING: { status: 500, permanent: false },
  ERR_SPOOL_FINISHED: { status: 500, permanent: false },
  ERR_SPOOL_WRITE: { status: 500, permanent: false },
  ERR_TARGET_AUTH: { status: 502, permanent: true },
  ERR_TARGET_CLOSED: { status: 500, permanent: false },
  ERR_TARGET_CONFIG_INVALID: { status: 400, permanent: true },
  ERR_TARGET_DISK_FULL: { status: 507, permanent: false },
  ERR_TARGET_EXISTS: { status: 409, permanent: false },
  ERR_TARGET_IO: { status: 503, permanent: false },
  ERR_TARGET_NOT_FOUND: { status: 404, permanent: false },
  ERR_TARGET_PERMISSION: { status: 502, permanent: true },
  ERR_TARGET_READ_ONLY: { status: 502, permanent: true },
  ERR_TARGET_ROOT_MISSING: { status: 502, permanent: true },
  ERR_TARGET_SIZE_MISMATCH: { status: 502, permanent: false },
  ERR_TARGET_TIMEOUT: { status: 504, permanent: false },
  ERR_TARGET_UNREACHABLE: { status: 503, permanent: false },
  ERR_TENANT_EXISTS: { status: 409, permanent: false },
  ERR_TENANT_ID_INVALID: { status: 400, permanent: true },
  ERR_TENANT_NAME_INVALID: { status: 400, permanent: false },
  ERR_TENANT_NOT_FOUND: { status: 404, permanent: true },
  ERR_TENANT_UNKNOWN: { status: 404, permanent: false },
  ERR_TOTP_ENROLMENT_STALE: { status: 409, permanent: false },
  ERR_TOTP_LABEL_INVALID: { status: 500, permanent: false },
  ERR_TOTP_PARAMETERS_INVALID: { status: 500, permanent: false },
  ERR_TOTP_SECRET_INVALID: { status: 500, permanent: false },
  ERR_TWO_FACTOR_ENFORCED: { status: 403, permanent: false },
  ERR_TWO_FACTOR_OFF: { status: 409, permanent: false },
  ERR_TWO_FACTOR_REQUIRED: { status: 403, permanent: false },
  ERR_UNKNOWN: { status: 500, permanent: false },
  ERR_USER_ACTIVE: { status: 409, permanent: false },
  ERR_USER_EMAIL_INVALID: { status: 400, permanent: false },
  ERR_USER_EXISTS: { status: 409, permanent: false },
  ERR_USER_NAME_INVALID: { status: 400, permanent: false },
  ERR_USER_NOT_ACTIVE: { status: 409, permanent: false },
  ERR_USER_NOT_DISABLED: { status: 409, permanent: false },
  ERR_USER_NOT_FOUND: { status: 404, permanent: false },
  ERR_USER_OWNER: { status: 409, permanent: false },
  ERR_WINDOW_INVALID: { status: 400, permanent: false },
  ERR_WINDOW_PLAN_INVALID: { status: 400, permanent: true },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code of the {@link ERROR_CATALOGUE}. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Whether `value` is a code of the catalogue (for codes read back from storage or a job's failure reason). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** What the catalogue says of `code`. */
export function errorCodeSpec(code: ErrorCode): ErrorCodeSpec {
  return ERROR_CATALOGUE[code];
}
