import { RetentionError } from '../errors.js';

/** Tenant ids are DNS-label-like slugs: 3 to 63 characters of `a-z`, `0-9` and inner `-`. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** True when `value` is a valid tenant id. */
export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

/**
 * Returns `value` if it is a valid tenant id, else throws `ERR_TENANT_ID_INVALID`.
 *
 * @example
 * assertTenantId('acme-support'); // 'acme-support'
 * assertTenantId('../etc');       // throws RetentionError ERR_TENANT_ID_INVALID
 */
export function assertTenantId(value: unknown): string {
  if (isTenantId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new RetentionError(
    'ERR_TENANT_ID_INVALID',
    `tenant id ${shown} is invalid: use 3 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit`,
  );
}
