import { Double, type Document } from 'bson';
import { CommandError, ErrorCode, toCommandError } from './command-error.js';
import type { CommandHandler } from './commands/command-context.js';
import { findAndModifyCommands } from './commands/find-and-modify-command.js';
import { handshakeCommands } from './commands/handshake-commands.js';
import { indexCommands } from './commands/index-commands.js';
import { namespaceCommands } from './commands/namespace-commands.js';
import { queryCommands } from './commands/query-commands.js';
import { writeCommands } from './commands/write-commands.js';
import type { CursorRegistry } from './cursor-registry.js';
import type { MemoryStorage } from './memory-storage.js';

const HANDLERS = new Map<string, CommandHandler>(
  Object.entries({
    ...handshakeCommands,
    ...writeCommands,
    ...queryCommands,
    ...findAndModifyCommands,
    ...indexCommands,
    ...namespaceCommands,
  }),
);

/**
 * Routes a command document to its handler by its first field name and shapes the reply: `ok: 1` on success,
 * `{ ok: 0, errmsg, code, codeName }` on failure. Unknown commands answer CommandNotFound (59).
 *
 * @example
 * ```ts
 * dispatcher.run({ ping: 1, $db: 'admin' }, 1); // { ok: 1 }
 * ```
 */
export class CommandDispatcher {
  constructor(
    private readonly storage: MemoryStorage,
    private readonly cursors: CursorRegistry,
  ) {}

  run(command: Document, connectionId: number, defaultDatabase = 'admin'): Document {
    try {
      const name = Object.keys(command)[0];
      if (name === undefined) throw new CommandError(ErrorCode.FailedToParse, 'empty command document');
      const handler = HANDLERS.get(name);
      if (!handler) throw new CommandError(ErrorCode.CommandNotFound, `no such command: '${name}'`);
      if ('txnNumber' in command || 'startTransaction' in command || 'autocommit' in command) {
        throw new CommandError(ErrorCode.IllegalOperation, 'Transaction numbers are only allowed on a replica set member or mongos');
      }
      const databaseName = typeof command.$db === 'string' ? command.$db : defaultDatabase;
      const reply = handler(command, { databaseName, storage: this.storage, cursors: this.cursors, connectionId });
      return { ...reply, ok: new Double(1) };
    } catch (error) {
      const failure = toCommandError(error);
      return { ...failure.toReply(), ok: new Double(0) };
    }
  }
}
