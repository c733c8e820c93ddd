import { parseArgs } from 'node:util';
import { enqueueBackfill, enqueueRunNow } from '../../queue/export-queues.js';
import { isRecordType, type RecordType } from '../../records/record-type.js';
import { oneTenantId, parseInstant, requireTenant } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import { CliUsageError } from '../cli-usage-error.js';

const runNow: CliCommand = {
  name: 'run-now',
  usage: 'run-now <tenant>',
  summary: 'queue a run now',
  async run(args, services) {
    const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
    const id = oneTenantId(positionals);
    const cp = await requireTenant(services, id);
    await cp.settings.requireRetention(id);
    const jobId = await enqueueRunNow(services.queues(), id, services.io.now());
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'run.requested', outcome: 'success', target: jobId });
    services.io.stdout(`queued run ${jobId}; follow it with: retention runs ${id}`);
    return 0;
  },
};

function parseTypes(value: string | undefined): RecordType[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((t) => t.trim());
  const bad = list.filter((t) => !isRecordType(t));
  if (bad.length > 0 || list.length === 0) throw new CliUsageError(`--types takes call-logs, chats and contacts; not ${bad.join(', ')}`);
  return list as RecordType[];
}

const backfill: CliCommand = {
  name: 'backfill',
  usage: 'backfill <tenant> --from ISO --to ISO [--types a,b]',
  summary: 'deliver a past range again, as its own manifest',
  async run(args, services) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { from: { type: 'string' }, to: { type: 'string' }, types: { type: 'string' } },
      allowPositionals: true,
    });
    const id = oneTenantId(positionals);
    const from = parseInstant(values.from, 'from');
    const to = parseInstant(values.to, 'to');
    if (to <= from) throw new CliUsageError('--to must be after --from');
    const types = parseTypes(values.types);
    const cp = await requireTenant(services, id);
    await cp.settings.requireRetention(id);
    const jobId = await enqueueBackfill(services.queues(), id, { from, to, ...(types ? { types } : {}) }, services.io.now());
    await cp.audit.append(id, {
      actor: { type: 'cli', id: 'cli' },
      action: 'run.backfill-requested',
      outcome: 'success',
      target: jobId,
      details: { from: from.toISOString(), to: to.toISOString() },
    });
    services.io.stdout(`queued backfill ${jobId} for ${from.toISOString()} to ${to.toISOString()}`);
    return 0;
  },
};

const runs: CliCommand = {
  name: 'runs',
  usage: 'runs <tenant> [--limit N]',
  summary: 'recent runs with status, counts and errors',
  async run(args, services) {
    const { io } = services;
    const { values, positionals } = parseArgs({ args: [...args], options: { limit: { type: 'string' } }, allowPositionals: true });
    const id = oneTenantId(positionals);
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliUsageError('--limit expects a whole number from 1 to 200');
    const cp = await services.controlPlane();
    const list = await cp.runs.listByTenant(id, { limit });
    if (list.length === 0) io.stdout(`no runs yet for ${id}; start one with: retention run-now ${id}`);
    for (const run of list) {
      const totals = Object.values(run.totals);
      const done = run.status === 'done' || totals.length > 0;
      const records = done ? totals.reduce((n, t) => n + t.records, 0) : run.progress.records;
      const rejected = done ? totals.reduce((n, t) => n + t.rejected, 0) : run.progress.rejected;
      const bytes = done ? totals.reduce((n, t) => n + t.bytes, 0) : run.progress.bytes;
      const chunks = run.status === 'done' ? '' : `  chunks ${run.progress.chunksDone}/${run.progress.chunkCount}${run.status === 'running' ? ' so far' : ''}`;
      io.stdout(
        `${run.createdAt.toISOString()}  ${run.id}  ${run.trigger.padEnd(8)}  ${run.status.padEnd(7)}  records ${records}  rejected ${rejected}  bytes ${bytes}${chunks}${run.manifest ? `  ${run.manifest.path}` : ''}`,
      );
      const lastError = run.errors.at(-1);
      if (run.status === 'failed' && lastError) io.stdout(`    ${lastError.code}: ${lastError.message}`);
    }
    return 0;
  },
};

/** `retention run-now | backfill | runs`: queue export runs and follow them. */
export const RUN_COMMANDS: readonly CliCommand[] = [runNow, backfill, runs];
