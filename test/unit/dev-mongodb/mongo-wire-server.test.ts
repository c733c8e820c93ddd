import { connect } from 'node:net';
import { deserialize, serialize, type Document } from 'bson';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMongoWireServer, type MongoWireServer } from '../../../src/dev-mongodb/mongo-wire-server.js';
import { MessageFramer, OpCode } from '../../../src/dev-mongodb/wire-protocol.js';

let server: MongoWireServer;

beforeEach(async () => {
  server = await startMongoWireServer({ port: 0 });
});

afterEach(async () => {
  await server.close();
});

function opQuery(requestId: number, namespace: string, query: Document): Buffer {
  const ns = Buffer.from(`${namespace}\0`, 'utf8');
  const body = Buffer.from(serialize(query));
  const message = Buffer.alloc(16 + 4 + ns.length + 8 + body.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(0, 8);
  message.writeInt32LE(OpCode.OP_QUERY, 12);
  message.writeInt32LE(0, 16);
  ns.copy(message, 20);
  message.writeInt32LE(0, 20 + ns.length);
  message.writeInt32LE(-1, 24 + ns.length);
  body.copy(message, 28 + ns.length);
  return message;
}

interface ReplyFrame {
  responseTo: number;
  opCode: number;
  numberReturned: number;
  document: Document;
}

async function sendRaw(message: Buffer): Promise<ReplyFrame> {
  const socket = connect(server.port, '127.0.0.1');
  try {
    return await new Promise<ReplyFrame>((resolve, reject) => {
      const framer = new MessageFramer();
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        const [frame] = framer.push(chunk);
        if (!frame) return;
        resolve({
          responseTo: frame.readInt32LE(8),
          opCode: frame.readInt32LE(12),
          numberReturned: frame.readInt32LE(32),
          document: deserialize(frame.subarray(36)),
        });
      });
      socket.write(message);
    });
  } finally {
    socket.destroy();
  }
}

async function firstSuccess<T>(operation: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('startMongoWireServer', () => {
  it('answers an unsupported command with CommandNotFound naming it', async () => {
    const client = await new MongoClient(server.url).connect();
    try {
      const error: unknown = await client
        .db('wire_unit')
        .command({ someUnknownCommand: 1 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MongoServerError);
      expect((error as MongoServerError).code).toBe(59);
      expect((error as MongoServerError).message).toContain('someUnknownCommand');
    } finally {
      await client.close();
    }
  });

  it.each(['hello', 'isMaster', 'ismaster'])('answers the legacy OP_QUERY %s handshake with OP_REPLY', async (command) => {
    const reply = await sendRaw(opQuery(42, 'admin.$cmd', { [command]: 1, helloOk: true }));
    expect(reply).toMatchObject({ responseTo: 42, opCode: OpCode.OP_REPLY, numberReturned: 1 });
    expect(reply.document).toMatchObject({ ok: 1, maxWireVersion: 21, minWireVersion: 0, helloOk: true });
    expect(reply.document.isWritablePrimary ?? reply.document.ismaster).toBe(true);
  });

  it('rejects other commands sent as OP_QUERY, as MongoDB 7 does', async () => {
    const reply = await sendRaw(opQuery(7, 'app.$cmd', { find: 'users' }));
    expect(reply.document).toMatchObject({ ok: 0, code: 352 });
  });

  it('drops connections while paused and serves again after resume', async () => {
    const client = await new MongoClient(server.url, { serverSelectionTimeoutMS: 500, heartbeatFrequencyMS: 500 }).connect();
    try {
      const items = client.db('wire_unit').collection('items');
      await items.insertOne({ _id: 1 } as Document);
      server.pause();
      expect(server.connectionCount).toBe(0);
      await expect(items.findOne({ _id: 1 } as Document)).rejects.toThrow();
      server.resume();
      expect(await firstSuccess(() => items.findOne({ _id: 1 } as Document), 5_000)).toEqual({ _id: 1 });
    } finally {
      await client.close();
    }
  });

  it('closes open connections and lets clients reconnect', async () => {
    const client = await new MongoClient(server.url, { serverSelectionTimeoutMS: 2_000 }).connect();
    try {
      await client.db('wire_unit').command({ ping: 1 });
      expect(server.connectionCount).toBeGreaterThan(0);
      const closed = new Promise<void>((resolve) => client.once('connectionClosed', () => resolve()));
      server.closeConnections();
      expect(server.connectionCount).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(client.db('wire_unit').command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
      await closed;
      expect(server.connectionCount).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
