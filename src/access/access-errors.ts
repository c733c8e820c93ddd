import { RetentionError, hasErrorCode, type ErrorCode } from '../errors.js';
import type { RecordType } from '../records/record-type.js';
import type { Capability } from './capabilities.js';

/** What a user without a capability is told they cannot do. */
const MISSING_CAPABILITY: Readonly<Record<Capability, string>> = {
  export: 'Your account may not export results.',
  'manage-users': 'Your account may not manage users or the security settings.',
  'configure-retention': 'Your account may not change the retention settings.',
  'run-jobs': 'Your account may not run or manage archive jobs.',
  'read-audit': 'Your account may not read the audit log.',
  'see-unmasked-personal-data': 'Your account may not see personal data unmasked.',
};

/** The data types as the messages name them. */
const SCOPE_NAMES: Readonly<Record<RecordType, string>> = { 'call-logs': 'call logs', chats: 'chats', contacts: 'contacts' };

/** Errors made by {@link forbiddenError} and {@link notFoundError}: the portal audits each as `access.denied`. */
const accessRefusals = new WeakSet<object>();

function refusal(err: RetentionError): RetentionError {
  accessRefusals.add(err);
  return err;
}

/**
 * Whether `err` is a refused access (a missing capability or data scope, or a record out of scope, of another tenant
 * or unknown) as opposed to a page that does not exist or any other failure.
 */
export function isAccessRefusal(err: unknown): err is RetentionError {
  return typeof err === 'object' && err !== null && accessRefusals.has(err);
}

/**
 * `ERR_FORBIDDEN` (403): the user lacks a capability (or a whole data type, on a list page). Says what is missing
 * and whom to ask; never says anything about data.
 *
 * @example
 * throw forbiddenError('export');
 */
export function forbiddenError(missing: Capability | 'owner' | { scope: RecordType | undefined }): RetentionError {
  if (missing === 'owner') return refusal(new RetentionError('ERR_FORBIDDEN', 'Only the owner of your organisation can do this.'));
  const what =
    typeof missing === 'string'
      ? MISSING_CAPABILITY[missing]
      : `Your access does not include ${missing.scope === undefined ? 'this kind of data' : SCOPE_NAMES[missing.scope]}.`;
  return refusal(new RetentionError('ERR_FORBIDDEN', `${what} Ask the owner of your organisation, or an administrator who manages users, for access.`));
}

/**
 * `ERR_NOT_FOUND` (404): what the portal answers for a record outside the user's data scope, of another tenant, or
 * that does not exist. The three are indistinguishable on purpose (ASVS 4.2.1): a 404 never confirms that a record
 * exists.
 */
export function notFoundError(what = 'record'): RetentionError {
  return refusal(new RetentionError('ERR_NOT_FOUND', `This ${what} does not exist or is not available to you. Check the link, or go back to the list.`));
}

/** Error codes that mean "outside the caller's data scope or tenant" and must reach a user as {@link notFoundError}. */
export const SCOPE_DENIAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_ARCHIVE_SCOPE_DENIED',
  'ERR_ARCHIVE_TENANT_MISMATCH',
  'ERR_TENANT_ID_INVALID',
]);

/**
 * Turns a scope denial from the archive store (or a permission check) into {@link notFoundError}; any other error is
 * returned unchanged. Use it in `catch` around record lookups by id so out-of-scope ids look exactly like unknown ids.
 *
 * @example
 * try { return await archive.getCallLog(access, id); } catch (err) { throw scopeDenialAsNotFound(err); }
 */
export function scopeDenialAsNotFound(err: unknown, what = 'record'): unknown {
  for (const code of SCOPE_DENIAL_CODES) if (hasErrorCode(err, code)) return notFoundError(what);
  return err;
}

/**
 * Awaits a record lookup by id and answers {@link notFoundError} when the record is missing or outside the caller's
 * scope: the one call a detail route needs.
 *
 * @example
 * const call = await findInScope(() => archive.getCallLog(archiveAccessFor(principal), req.params.id), 'call');
 */
export async function findInScope<T>(lookup: () => Promise<T | undefined>, what = 'record'): Promise<T> {
  let found: T | undefined;
  try {
    found = await lookup();
  } catch (err) {
    throw scopeDenialAsNotFound(err, what);
  }
  if (found === undefined) throw notFoundError(what);
  return found;
}
