import type { CliCommand, CliCommandSection } from './cli-command.js';

/** Where summaries start in `retention help`: after a synopsis that leaves room, else on the lines below it. */
const SUMMARY_COLUMN = 50;

/** The lines of one command in `retention help`: synopsis and summary side by side when they fit, then the rest. */
function helpEntry(command: CliCommand): string[] {
  const [synopsis = '', ...more] = command.usage.split('\n').map((line) => `  ${line}`);
  const [first = '', ...rest] = command.summary.split('\n');
  const below = rest.map((line) => `${' '.repeat(SUMMARY_COLUMN)}${line}`);
  if (synopsis.length + 2 <= SUMMARY_COLUMN) return [`${synopsis.padEnd(SUMMARY_COLUMN)}${first}`, ...below, ...more];
  return [synopsis, ...more, `${' '.repeat(SUMMARY_COLUMN)}${first}`, ...below];
}

/**
 * `retention help`: every command of the table under its heading.
 *
 * @example
 * io.stdout(formatHelp(CLI_SECTIONS));
 */
export function formatHelp(sections: readonly CliCommandSection[]): string {
  const blocks = sections.map((section) => [section.title, ...section.commands.flatMap(helpEntry)].join('\n'));
  return `${['Usage: retention <command> [options]', ...blocks, "One command's usage: retention <command> --help"].join('\n\n')}\n`;
}

/**
 * `retention <command> --help`: its usage, then what it does.
 *
 * @example
 * formatCommandHelp(command); // 'Usage: retention tenant show <id>\n\nsettings (secrets shown as "(sealed)") and …'
 */
export function formatCommandHelp(command: CliCommand): string {
  const [synopsis, ...more] = command.usage.split('\n');
  return [`Usage: retention ${synopsis ?? ''}`, ...more.map((line) => `  ${line}`), '', command.summary].join('\n');
}

/**
 * `retention <group> --help` (`retention tenant --help`): the commands whose names start with the group's words.
 *
 * @example
 * formatGroupHelp('hold', holdCommands);
 */
export function formatGroupHelp(group: string, commands: readonly CliCommand[]): string {
  return [`Usage: retention ${group} <command> [options]`, '', ...commands.flatMap(helpEntry)].join('\n');
}
