import { parseArgs } from 'node:util';
import { purgeTenantArchive } from '../../import/archive-maintenance.js';
import { findManifestsToImport } from '../../import/pending-manifests.js';
import { rebuildArchive } from '../../import/rebuild-archive.js';
import { enqueueImport } from '../../queue/import-queues.js';
import { assertTenantId } from '../../tenants/tenant-id.js';
import { oneTenantId, parseInstant, requireTenant } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';
import { CliUsageError } from '../cli-usage-error.js';

const importManifests: CliCommand = {
  name: 'import',
  usage: 'import <tenant> [--retry]',
  summary: 'queue the import of every manifest of the drop not yet imported;\n--retry also retries manifests whose import failed',
  async run(args, services) {
    const { values, positionals } = parseArgs({ args: [...args], options: { retry: { type: 'boolean' } }, allowPositionals: true });
    const id = oneTenantId(positionals);
    const cp = await requireTenant(services, id);
    const deps = await services.importDeps();
    const queues = services.importQueues();
    const paths = await findManifestsToImport(deps, id);
    if (values.retry) for (const record of await deps.imports.list(id)) if (record.status === 'failed') paths.push(record.path);
    for (const path of paths) await enqueueImport(queues, id, path, { retryFailed: true });
    await cp.audit.append(id, {
      actor: { type: 'cli', id: 'cli' },
      action: 'archive.import-requested',
      outcome: 'success',
      details: { manifests: paths.length, retry: values.retry === true },
    });
    services.io.stdout(
      paths.length === 0
        ? `nothing to import for ${id}: every manifest of the drop is imported or refused (retry refused ones with --retry)`
        : `queued the import of ${paths.length} manifest(s) of ${id}`,
    );
    return 0;
  },
};

const HOLD_OPTIONS = {
  contact: { type: 'string' },
  chat: { type: 'string' },
  number: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
} as const;
const HOLD_USAGE = 'expected: hold place <tenant> ... | hold release <tenant> <hold id> | hold list <tenant>';

/** What every `hold` command reads first: its flags, the tenant (which must exist) and the archive's stores. */
async function readHoldArgs(args: readonly string[], services: CliServices) {
  const { values, positionals } = parseArgs({ args: [...args], options: HOLD_OPTIONS, allowPositionals: true });
  const id = assertTenantId(positionals[0]);
  const cp = await requireTenant(services, id);
  const deps = await services.importDeps();
  return { values, positionals, id, cp, deps, actor: values.by ?? 'cli' };
}

function describeHold(subject: { kind: string; contactId?: string; chatId?: string; e164?: string; from?: Date; to?: Date }): string {
  switch (subject.kind) {
    case 'contact':
      return `contact ${subject.contactId ?? ''} (and its calls and chats)`;
    case 'chat':
      return `chat ${subject.chatId ?? ''}`;
    case 'number':
      return `number ${subject.e164 ?? ''}`;
    default:
      return `records from ${subject.from?.toISOString() ?? ''} to ${subject.to?.toISOString() ?? ''}`;
  }
}

const holdPlace: CliCommand = {
  name: 'hold place',
  usage: 'hold place <tenant> (--contact ID | --chat ID | --number +E164 | --from ISO --to ISO) --reason TEXT [--by NAME]',
  summary: 'keep records through archive retention (legal hold)',
  async run(args, services) {
    const { values, positionals, id, cp, deps, actor } = await readHoldArgs(args, services);
    if (positionals.length !== 1) throw new CliUsageError(HOLD_USAGE);
    const subjects = [
      values.contact !== undefined ? { kind: 'contact', contactId: values.contact } : undefined,
      values.chat !== undefined ? { kind: 'chat', chatId: values.chat } : undefined,
      values.number !== undefined ? { kind: 'number', e164: values.number } : undefined,
      values.from !== undefined || values.to !== undefined
        ? { kind: 'range', from: parseInstant(values.from, 'from'), to: parseInstant(values.to, 'to') }
        : undefined,
    ].filter((subject) => subject !== undefined);
    if (subjects.length !== 1) throw new CliUsageError('a hold covers exactly one of --contact ID, --chat ID, --number +E164, or --from ISO --to ISO');
    if (!values.reason?.trim()) throw new CliUsageError('a hold needs --reason "why the records must be kept"');
    const hold = await deps.legalHolds.place(id, { subject: subjects[0], reason: values.reason.trim(), placedBy: actor }, services.io.now());
    await cp.audit.append(id, {
      actor: { type: 'cli', id: actor },
      action: 'legal-hold.placed',
      outcome: 'success',
      target: hold.id,
      details: { kind: hold.subject.kind, reason: hold.reason },
    });
    services.io.stdout(`placed legal hold ${hold.id} on ${describeHold(hold.subject)}: ${hold.reason}`);
    return 0;
  },
};

const holdRelease: CliCommand = {
  name: 'hold release',
  usage: 'hold release <tenant> <hold id> [--by NAME]',
  summary: 'end a legal hold (kept on record with who released it)',
  async run(args, services) {
    const { positionals, id, cp, deps, actor } = await readHoldArgs(args, services);
    if (positionals.length !== 2) throw new CliUsageError(HOLD_USAGE);
    const holdId = positionals[1] as string;
    await deps.legalHolds.release(id, holdId, actor, services.io.now());
    await cp.audit.append(id, { actor: { type: 'cli', id: actor }, action: 'legal-hold.released', outcome: 'success', target: holdId });
    services.io.stdout(`released legal hold ${holdId}`);
    return 0;
  },
};

const holdList: CliCommand = {
  name: 'hold list',
  usage: 'hold list <tenant>',
  summary: 'active legal holds',
  async run(args, services) {
    const { positionals, id, deps } = await readHoldArgs(args, services);
    if (positionals.length !== 1) throw new CliUsageError(HOLD_USAGE);
    const holds = await deps.legalHolds.listActive(id);
    if (holds.length === 0) services.io.stdout(`no active legal holds for ${id}`);
    for (const hold of holds)
      services.io.stdout(`${hold.id}  ${describeHold(hold.subject)}  placed ${hold.placedAt.toISOString()} by ${hold.placedBy}: ${hold.reason}`);
    return 0;
  },
};

const purge: CliCommand = {
  name: 'purge',
  usage: 'purge <tenant> --dry-run | --yes',
  summary: 'list, or delete now, what archive retention expires (holds spared)',
  async run(args, services) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { 'dry-run': { type: 'boolean' }, yes: { type: 'boolean' } },
      allowPositionals: true,
    });
    const id = oneTenantId(positionals);
    if (values['dry-run'] === values.yes) throw new CliUsageError('say --dry-run to list what would be purged, or --yes to purge it now');
    await requireTenant(services, id);
    const result = await purgeTenantArchive(await services.importDeps(), id, { dryRun: values['dry-run'] === true, actor: 'cli' });
    if (!result) {
      services.io.stdout(`${id} has no online archive retention (set archiveRetentionDays in its settings); nothing to purge`);
      return 0;
    }
    const verb = result.dryRun ? 'would purge' : 'purged';
    for (const [type, purged] of Object.entries(result.types)) {
      services.io.stdout(
        `${type}: ${verb} ${purged.ids.length} record(s) not updated since ${purged.cutoff.toISOString()}${purged.messages ? ` (${purged.messages} transcript messages)` : ''}`,
      );
      for (const recordId of purged.ids) services.io.stdout(`  ${recordId}`);
    }
    return 0;
  },
};

const rebuild: CliCommand = {
  name: 'rebuild',
  usage: 'rebuild <tenant> [--accept-missing]',
  summary:
    "drop the tenant's MongoDB archive and import every manifest of the\ndrop again, in chain order (runs here, not in the worker);\n--accept-missing rebuilds even when imported manifests are gone from the drop",
  async run(args, services) {
    const { positionals, values } = parseArgs({ args: [...args], options: { 'accept-missing': { type: 'boolean' } }, allowPositionals: true });
    const id = oneTenantId(positionals);
    const cp = await requireTenant(services, id);
    const deps = await services.importDeps();
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'archive.rebuild-requested', outcome: 'success' });
    const result = await rebuildArchive(deps, id, (path) => services.io.stdout(`imported ${path}`), { acceptMissing: values['accept-missing'] === true });
    for (const failure of result.failed) services.io.stdout(`REFUSED ${failure.path}: [${failure.code}] ${failure.message}`);
    services.io.stdout(`rebuilt the archive of ${id}: ${result.imported.length} manifest(s) imported, ${result.failed.length} refused`);
    return result.failed.length === 0 ? 0 : 1;
  },
};

/** `retention import | hold … | purge | rebuild`: the online archive (MongoDB) built from verified drops. */
export const ARCHIVE_COMMANDS: readonly CliCommand[] = [importManifests, holdPlace, holdRelease, holdList, purge, rebuild];
