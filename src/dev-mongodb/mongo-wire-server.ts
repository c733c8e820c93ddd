import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Double, type Document } from 'bson';
import { CommandDispatcher } from './command-dispatcher.js';
import { CommandError, ErrorCode } from './command-error.js';
import { CursorRegistry } from './cursor-registry.js';
import { MemoryStorage } from './memory-storage.js';
import { encodeOpMsgReply, encodeOpReply, MessageFramer, parseMessage, type WireRequest } from './wire-protocol.js';

/** Options of {@link startMongoWireServer}. */
export interface MongoWireServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
}

/** A running wire-compatible server. */
export interface MongoWireServer {
  /** `mongodb://host:port`, ready for `new MongoClient(url)`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Number of client connections currently open. */
  readonly connectionCount: number;
  /** Drops every open connection (clients see a network error and reconnect). */
  closeConnections(): void;
  /** Drops every open connection and closes each new one as soon as it is accepted, until {@link resume}. */
  pause(): void;
  /** Accepts connections again after {@link pause}. */
  resume(): void;
  /** Stops listening, drops all connections; the in-memory data is gone. */
  close(): Promise<void>;
}

const LEGACY_HANDSHAKE_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);

/**
 * Starts a MongoDB-wire-compatible development server keeping its data in memory (query, update and aggregation
 * semantics from mingo). It speaks OP_MSG and answers the legacy OP_QUERY handshake with OP_REPLY, acting as a
 * standalone MongoDB 7.0 without transactions.
 *
 * @example
 * ```ts
 * const server = await startMongoWireServer();
 * const client = await new MongoClient(server.url).connect();
 * await client.db('app').collection('users').insertOne({ email: 'a@b.c' });
 * await client.close();
 * await server.close();
 * ```
 */
export async function startMongoWireServer(options: MongoWireServerOptions = {}): Promise<MongoWireServer> {
  const host = options.host ?? '127.0.0.1';
  const dispatcher = new CommandDispatcher(new MemoryStorage(), new CursorRegistry());
  const sockets = new Set<Socket>();
  let paused = false;
  let nextConnectionId = 0;
  let nextRequestId = 0;

  const reply = (socket: Socket, request: WireRequest, connectionId: number): void => {
    nextRequestId = (nextRequestId + 1) % 0x7fffffff;
    if (request.kind === 'msg') {
      const answer = dispatcher.run(request.command, connectionId);
      if (!request.moreToCome) socket.write(encodeOpMsgReply(nextRequestId, request.requestId, answer));
      return;
    }
    if (request.kind === 'query') {
      const name = Object.keys(request.command)[0] ?? '';
      const database = request.namespace.split('.')[0] ?? 'admin';
      const answer: Document = LEGACY_HANDSHAKE_COMMANDS.has(name)
        ? dispatcher.run(request.command, connectionId, database)
        : {
            ...new CommandError(
              ErrorCode.UnsupportedOpQueryCommand,
              `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade.`,
            ).toReply(),
            ok: new Double(0),
          };
      socket.write(encodeOpReply(nextRequestId, request.requestId, answer));
      return;
    }
    socket.destroy();
  };

  const server = createServer((socket) => {
    if (paused) {
      socket.destroy();
      return;
    }
    nextConnectionId += 1;
    const connectionId = nextConnectionId;
    const framer = new MessageFramer();
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of framer.push(chunk)) reply(socket, parseMessage(message), connectionId);
      } catch {
        socket.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const closeConnections = (): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    url: `mongodb://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    host,
    get connectionCount() {
      return sockets.size;
    },
    closeConnections,
    pause() {
      paused = true;
      closeConnections();
    },
    resume() {
      paused = false;
    },
    close() {
      closeConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
