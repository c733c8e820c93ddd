import type { CliServices } from './cli-services.js';

/**
 * One `retention …` command of the command table: the words that select it, its help, and what it does.
 * `run` takes everything it needs from {@link CliServices}, which opens connections only when asked.
 *
 * @example
 * const list: CliCommand = {
 *   name: 'tenant list',
 *   usage: 'tenant list',
 *   summary: 'list tenants',
 *   async run(_args, services) {
 *     for (const tenant of await (await services.controlPlane()).tenants.list()) services.io.stdout(tenant.id);
 *     return 0;
 *   },
 * };
 */
export interface CliCommand {
  /** The words that select the command (`tenant allowlist add`); unique in the table. */
  readonly name: string;
  /** The synopsis, starting with the name; further lines (e.g. options) follow, indented as they print. */
  readonly usage: string;
  /** What the command does, as `retention help` shows it; may span lines. */
  readonly summary: string;
  /** Runs the command on the arguments after its name; resolves to the exit code. */
  run(args: readonly string[], services: CliServices): Promise<number>;
}

/** Commands under one heading of `retention help`. */
export interface CliCommandSection {
  readonly title: string;
  readonly commands: readonly CliCommand[];
}
