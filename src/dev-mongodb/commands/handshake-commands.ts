import type { Document } from 'bson';
import type { CommandContext, CommandHandler } from './command-context.js';

/** Version string reported by `buildInfo`. */
export const WIRE_SERVER_VERSION = '7.0.0-retention-wire';
/** Wire version of MongoDB 7.0. */
export const MAX_WIRE_VERSION = 21;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;
export const MAX_WRITE_BATCH_SIZE = 100_000;

/**
 * The `hello` / `isMaster` reply of a standalone server. No `topologyVersion`, so drivers poll instead of using
 * the streaming (exhaust) protocol; no `setName`, so there are no transactions or retryable writes.
 */
export function helloReply(context: Pick<CommandContext, 'connectionId'>, legacy: boolean): Document {
  return {
    helloOk: true,
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
}

/** hello, isMaster, ping, buildInfo, endSessions and other connection-level commands. */
export const handshakeCommands: Record<string, CommandHandler> = {
  hello: (_command, context) => helloReply(context, false),
  isMaster: (_command, context) => helloReply(context, true),
  ismaster: (_command, context) => helloReply(context, true),
  ping: () => ({}),
  buildInfo: () => ({
    version: WIRE_SERVER_VERSION,
    gitVersion: 'retention-wire',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['memory'],
    javascriptEngine: 'none',
  }),
  endSessions: () => ({}),
  whatsmyuri: (_command, context) => ({ you: `connection ${context.connectionId}` }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
};
