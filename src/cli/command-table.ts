import type { CliCommand, CliCommandSection } from './cli-command.js';
import { ALLOWLIST_COMMANDS } from './commands/allowlist.js';
import { ARCHIVE_COMMANDS } from './commands/archive.js';
import { KEY_COMMANDS } from './commands/keys.js';
import { RUN_COMMANDS } from './commands/runs.js';
import { SETTINGS_COMMANDS } from './commands/settings.js';
import { TENANT_COMMANDS } from './commands/tenants.js';
import { VERIFY_COMMANDS } from './commands/verify.js';

/** Every `retention` command, under the headings and in the order `retention help` lists them. */
export const CLI_SECTIONS: readonly CliCommandSection[] = [
  { title: 'Tenants', commands: [...TENANT_COMMANDS, ...SETTINGS_COMMANDS, ...ALLOWLIST_COMMANDS] },
  { title: 'Runs', commands: RUN_COMMANDS },
  { title: 'Drops', commands: VERIFY_COMMANDS },
  { title: 'Online archive', commands: ARCHIVE_COMMANDS },
  { title: 'Keys', commands: KEY_COMMANDS },
];

/** The command table: every command of {@link CLI_SECTIONS}. */
export const CLI_COMMANDS: readonly CliCommand[] = CLI_SECTIONS.flatMap((section) => section.commands);

/** What the words of a command line name: a command (and its arguments), the first words of several, or nothing. */
export type CommandLookup =
  | { kind: 'command'; command: CliCommand; args: readonly string[] }
  | { kind: 'group'; group: string; commands: readonly CliCommand[]; args: readonly string[] }
  | { kind: 'unknown' };

const startsWith = (argv: readonly string[], words: readonly string[]) => words.every((word, i) => argv[i] === word);

/**
 * Finds the command whose name the command line starts with (the longest, word by word); else the longest run of
 * first words that several commands share (`tenant allowlist`), with what follows it.
 *
 * @example
 * findCommand(CLI_COMMANDS, ['tenant', 'show', 'acme']); // { kind: 'command', command: <tenant show>, args: ['acme'] }
 * findCommand(CLI_COMMANDS, ['hold', 'frobnicate']);     // { kind: 'group', group: 'hold', commands: [<hold place>, …], args: ['frobnicate'] }
 */
export function findCommand(commands: readonly CliCommand[], argv: readonly string[]): CommandLookup {
  let found: { command: CliCommand; length: number } | undefined;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.length > (found?.length ?? 0) && startsWith(argv, words)) found = { command, length: words.length };
  }
  if (found) return { kind: 'command', command: found.command, args: argv.slice(found.length) };
  for (let length = argv.length; length > 0; length -= 1) {
    const prefix = argv.slice(0, length);
    const members = commands.filter((command) => {
      const words = command.name.split(' ');
      return words.length > length && startsWith(words, prefix);
    });
    if (members.length > 0) return { kind: 'group', group: prefix.join(' '), commands: members, args: argv.slice(length) };
  }
  return { kind: 'unknown' };
}
