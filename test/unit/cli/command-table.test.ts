import { MongoClient } from 'mongodb';
import { describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../../src/cli/cli-io.js';
import { CliServices } from '../../../src/cli/cli-services.js';
import { CLI_COMMANDS, CLI_SECTIONS, findCommand } from '../../../src/cli/command-table.js';
import { runCli } from '../../../src/cli/run-cli.js';

/** Nothing listens on port 9 (discard): a command that connected would fail or hang, not pass. */
const env = { MONGODB_URL: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200', REDIS_URL: 'redis://127.0.0.1:9' };
const synopsis = (usage: string) => usage.split('\n')[0] as string;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, readFile: () => '', now: () => new Date('2026-11-23T12:00:00Z') };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Spies on every way CliServices opens a connection (or reads a key), and on the MongoDB driver itself. */
function watchConnections() {
  return [
    vi.spyOn(CliServices.prototype, 'controlPlane'),
    vi.spyOn(CliServices.prototype, 'queues'),
    vi.spyOn(CliServices.prototype, 'importQueues'),
    vi.spyOn(CliServices.prototype, 'importDeps'),
    vi.spyOn(CliServices.prototype, 'sftpTarget'),
    vi.spyOn(CliServices.prototype, 'keyring'),
    vi.spyOn(MongoClient, 'connect'),
  ];
}

describe('the command table', () => {
  it('gives every command a unique name, a usage that starts with it and a summary', () => {
    const names = CLI_COMMANDS.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(15);
    for (const command of CLI_COMMANDS) {
      expect(command.name).toMatch(/^[a-z][a-z-]*( [a-z][a-z-]*)*$/);
      expect(synopsis(command.usage) === command.name || synopsis(command.usage).startsWith(`${command.name} `)).toBe(true);
      expect(command.summary.trim()).not.toBe('');
    }
    for (const section of CLI_SECTIONS) expect(section.commands.length).toBeGreaterThan(0);
  });

  it.each([
    [['tenant', 'allowlist', 'add', 'acme', '10.0.0.0/8'], 'tenant allowlist add', ['acme', '10.0.0.0/8']],
    [['tenant', 'show', 'acme'], 'tenant show', ['acme']],
    [['runs', 'acme', '--limit', '5'], 'runs', ['acme', '--limit', '5']],
    [['keys', 'rotate'], 'keys rotate', []],
  ])('finds %j as the command %s', (argv, name, args) => {
    expect(findCommand(CLI_COMMANDS, argv)).toMatchObject({ kind: 'command', command: { name }, args });
  });

  it.each([
    [['tenant'], 'tenant', []],
    [['tenant', 'allowlist', 'remove', 'acme'], 'tenant allowlist', ['remove', 'acme']],
    [['hold', 'frobnicate'], 'hold', ['frobnicate']],
  ])('finds %j as the group %s', (argv, group, args) => {
    expect(findCommand(CLI_COMMANDS, argv)).toMatchObject({ kind: 'group', group, args });
  });

  it('knows no command named by an unknown first word, nor by words run together', () => {
    expect(findCommand(CLI_COMMANDS, ['frobnicate', 'tenant'])).toEqual({ kind: 'unknown' });
    expect(findCommand(CLI_COMMANDS, ['tenant list'])).toEqual({ kind: 'unknown' });
  });
});

describe('the connection watch', () => {
  it('sees a command that asks for its connections', async () => {
    const [controlPlane] = watchConnections();
    controlPlane!.mockRejectedValue(new Error('no control plane in a unit test'));
    expect(await cli(['tenant', 'list'])).toMatchObject({ code: 1, err: 'error: no control plane in a unit test' });
    expect(controlPlane).toHaveBeenCalledOnce();
  });
});

describe('retention help', () => {
  it('lists every command, under its heading, opening no connection', async () => {
    const connections = watchConnections();
    const result = await cli(['help']);
    expect(result.code).toBe(0);
    for (const section of CLI_SECTIONS) expect(result.out).toContain(`\n${section.title}\n`);
    for (const command of CLI_COMMANDS) {
      expect(result.out).toContain(`  ${synopsis(command.usage)}`);
      for (const line of command.summary.split('\n')) expect(result.out).toContain(line);
    }
    for (const spy of connections) expect(spy).not.toHaveBeenCalled();
  });

  it.each([
    [['--help'], 0],
    [['-h'], 0],
    [[], 2],
  ])('answers %j with the same list and exit code %i', async (args, code) => {
    const help = await cli(['help']);
    expect(await cli(args)).toEqual({ code, out: help.out, err: '' });
  });

  it('says a command is unknown, lists the commands and exits 2', async () => {
    const connections = watchConnections();
    const result = await cli(['frobnicate', 'acme']);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toMatch(/^error \[ERR_CLI_USAGE\]: unknown command "frobnicate"\n\nUsage: retention <command>/);
    for (const command of CLI_COMMANDS) expect(result.err).toContain(`  ${synopsis(command.usage)}`);
    for (const spy of connections) expect(spy).not.toHaveBeenCalled();
  });

  it.each([
    [['tenant', 'frobnicate'], 'unknown tenant command "frobnicate": create, activation-link, password-reset-link, list, show, set or allowlist'],
    [['tenant', 'allowlist', 'remove', 'acme'], 'unknown tenant allowlist command "remove": show, set, add or clear'],
    [['hold'], 'unknown hold command "": place, release or list'],
    [['keys', 'turn'], 'unknown keys command "turn": rotate'],
  ])('says the subcommand of %j is unknown and names those there are, exit 2', async (args, message) => {
    const connections = watchConnections();
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`error [ERR_CLI_USAGE]: ${message}\n\nUsage: retention <command>`);
    for (const spy of connections) expect(spy).not.toHaveBeenCalled();
  });
});

describe('retention <command> --help', () => {
  it.each(CLI_COMMANDS.map((command) => [command.name]))('prints the usage of %s and opens no connection', async (name) => {
    const command = CLI_COMMANDS.find((c) => c.name === name)!;
    const connections = watchConnections();
    const result = await cli([...name.split(' '), '--help']);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out.startsWith(`Usage: retention ${synopsis(command.usage)}\n`)).toBe(true);
    expect(result.out).toContain(command.summary);
    for (const spy of connections) expect(spy).not.toHaveBeenCalled();
  });

  it('takes -h too, wherever it stands among the options, but not after --', async () => {
    expect((await cli(['tenant', 'show', 'acme', '-h'])).out).toMatch(/^Usage: retention tenant show <id>\n/);
    expect((await cli(['backfill', 'acme', '--from', '2026-11-01', '--help'])).out).toMatch(/^Usage: retention backfill /);
    const connections = watchConnections();
    const positional = await cli(['tenant', 'create', '--', '--help']);
    expect(positional.code).toBe(1);
    expect(positional.err).toContain('ERR_TENANT_ID_INVALID');
    for (const spy of connections) expect(spy).not.toHaveBeenCalled();
  });

  it('lists the commands of a group: retention tenant allowlist --help', async () => {
    const result = await cli(['tenant', 'allowlist', '--help']);
    expect(result.code).toBe(0);
    expect(result.out.split('\n')[0]).toBe('Usage: retention tenant allowlist <command> [options]');
    const listed = CLI_COMMANDS.filter((command) => result.out.includes(`  ${synopsis(command.usage)}`)).map((command) => command.name);
    expect(listed).toEqual(['tenant allowlist show', 'tenant allowlist set', 'tenant allowlist add', 'tenant allowlist clear']);
  });
});
