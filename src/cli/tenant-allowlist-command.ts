import { parseArgs } from 'node:util';
import { validateIpAllowlist } from '../auth/ip-allowlist.js';
import type { RetentionError } from '../errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import type { CliServices } from './cli-services.js';

/** What the allowlist command writes to. */
export interface AllowlistCommandIo {
  stdout: (line: string) => void;
  now: () => Date;
}

/** The usage lines of `retention tenant allowlist`, for the CLI's help text. */
export const TENANT_ALLOWLIST_USAGE = `  tenant allowlist show <id>                      the tenant's portal IP allowlist (empty: every address may sign in)
  tenant allowlist set <id> <cidr>... [--by NAME]   replace it (IPv4/IPv6 addresses or CIDR blocks)
  tenant allowlist add <id> <cidr>... [--by NAME]   add entries, e.g. the address an owner locked themselves out from
  tenant allowlist clear <id> [--by NAME]         empty it: every address may reach the portal again`;

/**
 * `retention tenant allowlist show|set|add|clear <id> …`: the operator's way back in for an owner locked out by their
 * own IP allowlist (the portal refuses every request from outside it, the owner's too). Entries are validated like
 * the portal's form (`ERR_CLI_USAGE` naming each bad line); every change is audited as `allowlist.changed` by the
 * `cli` actor (`--by` names the operator in the details), with before and after.
 *
 * @example
 * await tenantAllowlistCommand(['add', 'acme', '203.0.113.7', '--by', 'ops-oncall'], io, services);
 */
export async function tenantAllowlistCommand(args: readonly string[], io: AllowlistCommandIo, services: CliServices, usage: (message: string) => RetentionError): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: [...rest], options: { by: { type: 'string' } }, allowPositionals: true, strict: true });
  const [rawId, ...entries] = positionals;
  if (rawId === undefined) throw usage(`tenant allowlist ${sub ?? ''}: expected a tenant id`);
  const id = assertTenantId(rawId);
  const cp = await services.controlPlane();
  await cp.tenants.require(id);
  const before = (await cp.security.get(id)).ipAllowlist;
  if (sub === 'show') {
    if (entries.length > 0) throw usage('tenant allowlist show takes only the tenant id');
    io.stdout(before.length === 0 ? `${id}: no IP allowlist (every address may reach the portal)` : `${id}: ${before.length} entr${before.length === 1 ? 'y' : 'ies'}`);
    for (const cidr of before) io.stdout(`  ${cidr}`);
    return 0;
  }
  let next: string[];
  if (sub === 'clear') {
    if (entries.length > 0) throw usage('tenant allowlist clear takes only the tenant id (use set to replace the list)');
    next = [];
  } else if (sub === 'set' || sub === 'add') {
    if (entries.length === 0) throw usage(`tenant allowlist ${sub} needs at least one address or CIDR block`);
    const { ranges, problems } = validateIpAllowlist(entries);
    if (problems.length > 0) throw usage(`tenant allowlist ${sub}: ${problems.map((p) => (p.entry ? `${p.entry}: ${p.message}` : p.message)).join('; ')}`);
    const given = ranges.map((range) => range.cidr);
    next = sub === 'set' ? given : [...before, ...given.filter((cidr) => !before.includes(cidr))];
  } else {
    throw usage(`unknown tenant allowlist command "${sub ?? ''}": show, set, add or clear`);
  }
  const by = values.by === undefined ? 'cli' : values.by.trim().slice(0, 100);
  const saved = await cp.security.setIpAllowlist(id, next, `cli:${by}`, io.now());
  await cp.audit.append(id, {
    actor: { type: 'cli', id: 'cli' },
    action: 'allowlist.changed',
    outcome: 'success',
    details: { via: 'cli', operator: by, entries: saved.length, before: before.join(' ').slice(0, 1500), list: saved.join(' ').slice(0, 1500) },
  }, io.now());
  io.stdout(saved.length === 0 ? `${id}: IP allowlist cleared; every address may reach the portal` : `${id}: IP allowlist saved with ${saved.length} entr${saved.length === 1 ? 'y' : 'ies'}: ${saved.join(', ')}`);
  return 0;
}
