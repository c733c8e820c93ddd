import { parseArgs } from 'node:util';
import { validateIpAllowlist } from '../../auth/ip-allowlist.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { requireTenant } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';
import { CliUsageError } from '../cli-usage-error.js';

type AllowlistSub = 'show' | 'set' | 'add' | 'clear';

/** The tenant, the entries after its id, the operator named by `--by` and the allowlist as it is now. */
async function readAllowlistArgs(sub: AllowlistSub, args: readonly string[], services: CliServices) {
  const { values, positionals } = parseArgs({ args: [...args], options: { by: { type: 'string' } }, allowPositionals: true, strict: true });
  const [rawId, ...entries] = positionals;
  if (rawId === undefined) throw new CliUsageError(`tenant allowlist ${sub}: expected a tenant id`);
  const id = assertTenantId(rawId);
  const cp = await requireTenant(services, id);
  const before = (await cp.security.get(id)).ipAllowlist;
  return { id, entries, by: values.by, before, cp };
}

/** Saves the new list, audits it as `allowlist.changed` with before and after, and says what the list is now. */
async function saveAllowlist(services: CliServices, input: Awaited<ReturnType<typeof readAllowlistArgs>>, next: string[]): Promise<number> {
  const { id, cp, before } = input;
  const by = input.by === undefined ? 'cli' : input.by.trim().slice(0, 100);
  const saved = await cp.security.setIpAllowlist(id, next, `cli:${by}`, services.io.now());
  await cp.audit.append(
    id,
    {
      actor: { type: 'cli', id: 'cli' },
      action: 'allowlist.changed',
      outcome: 'success',
      details: { via: 'cli', operator: by, entries: saved.length, before: before.join(' ').slice(0, 1500), list: saved.join(' ').slice(0, 1500) },
    },
    services.io.now(),
  );
  services.io.stdout(
    saved.length === 0
      ? `${id}: IP allowlist cleared; every address may reach the portal`
      : `${id}: IP allowlist saved with ${saved.length} entr${saved.length === 1 ? 'y' : 'ies'}: ${saved.join(', ')}`,
  );
  return 0;
}

/** The entries of `set` and `add`, validated like the portal's form (a usage error naming each bad one), as CIDR blocks. */
function validEntries(sub: 'set' | 'add', entries: readonly string[]): string[] {
  if (entries.length === 0) throw new CliUsageError(`tenant allowlist ${sub} needs at least one address or CIDR block`);
  const { ranges, problems } = validateIpAllowlist([...entries]);
  if (problems.length > 0)
    throw new CliUsageError(`tenant allowlist ${sub}: ${problems.map((p) => (p.entry ? `${p.entry}: ${p.message}` : p.message)).join('; ')}`);
  return ranges.map((range) => range.cidr);
}

const show: CliCommand = {
  name: 'tenant allowlist show',
  usage: 'tenant allowlist show <id>',
  summary: "the tenant's portal IP allowlist (empty: every address may sign in)",
  async run(args, services) {
    const { id, entries, before } = await readAllowlistArgs('show', args, services);
    if (entries.length > 0) throw new CliUsageError('tenant allowlist show takes only the tenant id');
    services.io.stdout(
      before.length === 0 ? `${id}: no IP allowlist (every address may reach the portal)` : `${id}: ${before.length} entr${before.length === 1 ? 'y' : 'ies'}`,
    );
    for (const cidr of before) services.io.stdout(`  ${cidr}`);
    return 0;
  },
};

/** `set` or `add`: validated entries, merged into the list as it is now by `merge`, saved. */
function entriesCommand(sub: 'set' | 'add', summary: string, merge: (before: readonly string[], given: string[]) => string[]): CliCommand {
  return {
    name: `tenant allowlist ${sub}`,
    usage: `tenant allowlist ${sub} <id> <cidr>... [--by NAME]`,
    summary,
    async run(args, services) {
      const input = await readAllowlistArgs(sub, args, services);
      return saveAllowlist(services, input, merge(input.before, validEntries(sub, input.entries)));
    },
  };
}

const set = entriesCommand('set', 'replace the IP allowlist (IPv4/IPv6 addresses or CIDR blocks)', (_before, given) => given);
const add = entriesCommand('add', 'add entries, e.g. the address an owner locked themselves out from', (before, given) => [
  ...before,
  ...given.filter((cidr) => !before.includes(cidr)),
]);

const clear: CliCommand = {
  name: 'tenant allowlist clear',
  usage: 'tenant allowlist clear <id> [--by NAME]',
  summary: 'empty the IP allowlist: every address may reach the portal again',
  async run(args, services) {
    const input = await readAllowlistArgs('clear', args, services);
    if (input.entries.length > 0) throw new CliUsageError('tenant allowlist clear takes only the tenant id (use set to replace the list)');
    return saveAllowlist(services, input, []);
  },
};

/**
 * `retention tenant allowlist show|set|add|clear <id> …`: the operator's way back in for an owner locked out by their
 * own IP allowlist (the portal refuses every request from outside it, the owner's too). Entries are validated like
 * the portal's form (`ERR_CLI_USAGE` naming each bad line); every change is audited as `allowlist.changed` by the
 * `cli` actor (`--by` names the operator in the details), with before and after.
 */
export const ALLOWLIST_COMMANDS: readonly CliCommand[] = [show, set, add, clear];
