import { ConfigError, loadConfig, type Config } from '../config.js';
import { RetentionError } from '../errors.js';
import type { CliCommand } from './cli-command.js';
import { formatCommandHelp, formatGroupHelp, formatHelp } from './cli-help.js';
import type { CliIo } from './cli-io.js';
import { CliServices } from './cli-services.js';
import { CliUsageError } from './cli-usage-error.js';
import { CLI_COMMANDS, CLI_SECTIONS, findCommand } from './command-table.js';

export { processIo, type CliIo } from './cli-io.js';

/** `retention help`, generated from the command table. */
export const USAGE = formatHelp(CLI_SECTIONS);

/**
 * Runs one CLI invocation and returns the exit code: 0 success, 1 failure (e.g. a drop that does not verify),
 * 2 usage error, 78 invalid configuration.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), processIo);
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(io.env, io.readFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(err.message);
      return 78;
    }
    throw err;
  }
  const services = new CliServices(config, io);
  try {
    return await dispatch(argv, services);
  } catch (err) {
    if (err instanceof RetentionError) {
      io.stderr(`error [${err.code}]: ${err.message}${err instanceof CliUsageError ? `\n\n${USAGE}` : ''}`);
      return err.code === 'ERR_CLI_USAGE' ? 2 : 1;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await services.close();
  }
}

const HELP_WORDS = new Set(['help', '--help', '-h']);

/** True when the options (the words before a `--`) ask for help. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** `a`, `a or b`, `a, b or c`: the next word of each command of a group. */
function nextWords(group: string, commands: readonly CliCommand[]): string {
  const words = [...new Set(commands.map((command) => command.name.slice(group.length + 1).split(' ')[0] as string))];
  return words.length === 1 ? (words[0] as string) : `${words.slice(0, -1).join(', ')} or ${words.at(-1) as string}`;
}

async function dispatch(argv: readonly string[], services: CliServices): Promise<number> {
  const [first] = argv;
  if (first === undefined || HELP_WORDS.has(first)) {
    services.io.stdout(USAGE);
    return first === undefined ? 2 : 0;
  }
  const found = findCommand(CLI_COMMANDS, argv);
  if (found.kind === 'unknown') throw new CliUsageError(`unknown command "${first}"`);
  if (asksForHelp(found.args)) {
    services.io.stdout(found.kind === 'command' ? formatCommandHelp(found.command) : formatGroupHelp(found.group, found.commands));
    return 0;
  }
  if (found.kind === 'group') throw new CliUsageError(`unknown ${found.group} command "${found.args[0] ?? ''}": ${nextWords(found.group, found.commands)}`);
  return found.command.run(found.args, services);
}
