import type { ControlPlane } from '../store/control-plane.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { CliServices } from './cli-services.js';
import { CliUsageError } from './cli-usage-error.js';

/** The only positional argument, else a usage error naming `what` was expected. */
export function onePositional(args: readonly string[], what: string): string {
  if (args.length !== 1) throw new CliUsageError(`expected exactly one ${what}`);
  return args[0] as string;
}

/** The only positional argument as a valid tenant id (`ERR_TENANT_ID_INVALID` otherwise). */
export function oneTenantId(args: readonly string[]): string {
  return assertTenantId(onePositional(args, 'tenant id'));
}

/** The control plane, once it is known that tenant `id` exists (`ERR_TENANT_NOT_FOUND` otherwise). */
export async function requireTenant(services: CliServices, id: string): Promise<ControlPlane> {
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  return cp;
}

/**
 * The value of `--<flag>` as an instant: an ISO-8601 date (UTC midnight) or UTC time; a usage error when missing or
 * malformed.
 *
 * @example
 * parseInstant('2026-11-01', 'from'); // 2026-11-01T00:00:00.000Z
 */
export function parseInstant(value: string | undefined, flag: string): Date {
  if (value === undefined) throw new CliUsageError(`--${flag} is required`);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value))
    throw new CliUsageError(`--${flag} expects an ISO-8601 date or UTC time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new CliUsageError(`--${flag} is not a valid date: ${value}`);
  return date;
}
