import { isTenantId } from '../tenants/tenant-id.js';

/** Where tenants live: `PUBLIC_URL`'s host, and the tenant served on that host itself. */
export interface TenantHostOptions {
  /** `PUBLIC_URL`, e.g. `https://retention.example.com`; tenant `acme` is served at `https://acme.retention.example.com`. */
  publicUrl: string;
  /** `DEFAULT_TENANT`: the tenant of a host that carries no tenant subdomain (single-tenant installs). */
  defaultTenant: string | undefined;
}

/**
 * The tenant a request is for: the single label in front of `PUBLIC_URL`'s host name (`acme.retention.example.com`
 * → `acme`); the default tenant on `PUBLIC_URL`'s host itself; else undefined (no tenant here: answer 404). Any other
 * Host header, a missing one included, names no tenant, so a rebinding DNS name that points at the portal reaches
 * nothing (issue 10.9).
 *
 * @example
 * resolveTenantId('acme.retention.example.com', { publicUrl: 'https://retention.example.com', defaultTenant: undefined }) // 'acme'
 * resolveTenantId('localhost', { publicUrl: 'http://localhost:3000', defaultTenant: 'demo' })                             // 'demo'
 * resolveTenantId('attacker.example', { publicUrl: 'http://localhost:3000', defaultTenant: 'demo' })                      // undefined
 */
export function resolveTenantId(hostname: string | undefined, options: TenantHostOptions): string | undefined {
  const publicHost = new URL(options.publicUrl).hostname.toLowerCase().replace(/\.$/, '');
  const host = (hostname ?? '').toLowerCase().replace(/\.$/, '');
  if (host === '') return undefined;
  if (host === publicHost) return options.defaultTenant;
  if (host.endsWith(`.${publicHost}`)) {
    const label = host.slice(0, -(publicHost.length + 1));
    if (isTenantId(label)) return label;
  }
  return undefined;
}

/**
 * The base URL of a tenant's portal, for the links the portal and the CLI hand out: `PUBLIC_URL` itself for the
 * default tenant, else `PUBLIC_URL` with the tenant's label in front of its host name.
 *
 * @example
 * tenantBaseUrl('acme', { publicUrl: 'https://retention.example.com', defaultTenant: undefined }) // 'https://acme.retention.example.com'
 */
export function tenantBaseUrl(tenantId: string, options: TenantHostOptions): string {
  if (tenantId === options.defaultTenant) return options.publicUrl.replace(/\/+$/, '');
  const url = new URL(options.publicUrl);
  url.hostname = `${tenantId}.${url.hostname}`;
  return url.toString().replace(/\/+$/, '');
}
