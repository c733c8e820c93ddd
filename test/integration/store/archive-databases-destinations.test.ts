import { createServer, type AddressInfo, type Server } from 'node:net';
import { BSON, MongoClient, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { RetentionError } from '../../../src/errors.js';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { archiveUriRefusal } from '../../../src/network/mongodb-uri-destinations.js';
import { NetworkPolicy, systemResolver, type HostResolver } from '../../../src/network/network-policy.js';
import { isPermanentFailure } from '../../../src/queue/permanent-failure.js';
import { ArchiveDatabases } from '../../../src/store/archive/archive-databases.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { staticResolver } from '../../support/destinations.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { encodeOpMsgReply, encodeOpReply, MessageFramer, parseMessage } from '../../../src/dev-mongodb/wire-protocol.js';

const keyring = parseKeyring(`test-k1:${Buffer.alloc(32, 5).toString('base64')}`);
const mongoPort = Number(new URL(inject('mongoUrl')).port);
/** Short server selection: a refusal by the socket lookup surfaces when selection gives up. */
const clientOptions = { serverSelectionTimeoutMS: 600, connectTimeoutMS: 600 };
let shared: MongoClient;
/** A TCP listener on loopback that counts who connects: a refused destination must never be dialled. */
let counter: Server;
let counterPort: number;
let dialled = 0;

function listen(server: Server): Promise<number> {
  return new Promise((ready) => server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  shared = await MongoClient.connect(inject('mongoUrl'));
  counter = createServer((socket) => {
    dialled += 1;
    socket.destroy();
  });
  counterPort = await listen(counter);
});
afterAll(async () => {
  await shared?.close();
  await new Promise((done) => counter?.close(done));
});

/** An ArchiveDatabases whose tenant `acme` has the own archive URI `uri`, within `network` (the strict default when absent). */
function archivesFor(uri: string | undefined, network?: NetworkPolicy): ArchiveDatabases {
  const sealed = uri === undefined ? undefined : sealSecret(keyring, uri, secretContext('acme', 'archiveMongoUri'));
  return new ArchiveDatabases({
    client: shared,
    prefix: 'adt_',
    keyring,
    settings: async () => (sealed === undefined ? {} : { archiveMongoUri: sealed }),
    clientOptions,
    ...(network ? { network } : {}),
  });
}

async function refusalOf(archives: ArchiveDatabases): Promise<RetentionError> {
  try {
    await archives.forTenant('acme');
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  } finally {
    await archives.close();
  }
  throw new Error('expected the archive URI to be refused');
}

/** A resolver answering `first` to the first question about `name`, then `later` (a rebinding DNS server). */
function rebinding(name: string, first: string[], later: string[]): HostResolver {
  let asked = 0;
  return staticResolver({ [name]: () => (asked++ === 0 ? first : later) });
}

/**
 * A fake replica-set primary on loopback: answers the handshake and heartbeats with a hello naming itself (as `me`)
 * and the `members` given as the set's other hosts; every other command succeeds. Enough for the driver to discover
 * the members.
 */
async function startReplicaSeed(me: () => string, members: () => string[]): Promise<{ port: number; close: () => Promise<void> }> {
  const electionId = new BSON.ObjectId();
  const server = createServer((socket) => {
    const framer = new MessageFramer();
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      for (const message of framer.push(chunk)) {
        const request = parseMessage(message);
        if (request.kind !== 'msg' && request.kind !== 'query') return void socket.destroy();
        const name = Object.keys(request.command)[0] ?? '';
        const hello: Document = {
          helloOk: true,
          isWritablePrimary: true,
          ismaster: true,
          setName: 'rs-test',
          setVersion: 1,
          electionId,
          hosts: [me(), ...members()],
          primary: me(),
          me: me(),
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          connectionId: 1,
          minWireVersion: 0,
          maxWireVersion: 21,
          ok: 1,
        };
        const answer = ['hello', 'isMaster', 'ismaster'].includes(name) ? hello : { ok: 1 };
        socket.write(request.kind === 'msg' ? encodeOpMsgReply(1, request.requestId, answer) : encodeOpReply(1, request.requestId, answer));
      }
    });
  });
  const port = await listen(server);
  return { port, close: () => new Promise<void>((done) => server.close(() => done())) };
}

describe('ArchiveDatabases: a tenant archive URI stays within the destination policy (issue #10.6)', () => {
  it('does not check the shared control-plane MongoDB, the operator own (here on loopback, with the strict policy)', async () => {
    const archives = archivesFor(undefined);
    try {
      const db = await archives.forTenant('acme');
      expect(db.databaseName).toBe('adt_acme');
      expect((await db.command({ ping: 1 })).ok).toBe(1);
    } finally {
      await archives.close();
    }
  });

  it.each([
    ['a loopback address', () => `mongodb://arch:S3cret-pw@127.0.0.1:${counterPort}/acme`],
    ['localhost', () => `mongodb://arch:S3cret-pw@localhost:${counterPort}/acme`],
    ['the IPv6 loopback address', () => `mongodb://arch:S3cret-pw@[::1]:${counterPort}/acme`],
    ['a private 10.x address', () => 'mongodb://arch:S3cret-pw@10.255.1.2:27017/acme'],
    ['a host list whose second host is private', () => `mongodb://arch:S3cret-pw@public.test:27017,127.0.0.1:${counterPort}/acme`],
  ])('refuses %s before any connection, with the permanent ERR_DESTINATION_NOT_ALLOWED and no credentials', async (_label, uri) => {
    const before = dialled;
    const network = new NetworkPolicy({ resolve: staticResolver({ 'public.test': ['93.184.216.34'] }, systemResolver) });
    const err = await refusalOf(archivesFor(uri(), network));
    expect(err.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(err.message).toContain('archive MongoDB');
    expect(err.message).not.toContain('S3cret-pw');
    expect(isPermanentFailure(err)).toBe(true);
    expect(dialled).toBe(before);
  });

  it('refuses a host name that passed the save check (not in DNS yet) but resolves to a private address when the worker connects', async () => {
    const answers: Record<string, string[]> = {};
    const network = new NetworkPolicy({ resolve: staticResolver(answers) });
    const uri = `mongodb://late.test:${counterPort}/acme`;
    expect(await archiveUriRefusal(network, uri)).toBeUndefined();
    answers['late.test'] = ['127.0.0.1'];
    const before = dialled;
    const err = await refusalOf(archivesFor(uri, network));
    expect(err.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(err.message).toContain('"late.test" resolves to the loopback');
    expect(dialled).toBe(before);
  });

  it('refuses a name whose DNS answer turns private after the check (rebinding): the socket lookup refuses it, unwrapped from the driver error', async () => {
    const network = new NetworkPolicy({ resolve: rebinding('rebind.test', ['93.184.216.34'], ['127.0.0.1']) });
    const before = dialled;
    const started = Date.now();
    const err = await refusalOf(archivesFor(`mongodb://rebind.test:${counterPort}/acme`, network));
    expect(err).toBeInstanceOf(RetentionError);
    expect(err.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    expect(err.message).toContain('"rebind.test" resolves to the loopback');
    expect(dialled).toBe(before);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('connects through the lookup to a private server the operator allowed, by host name or address block', async () => {
    const dbName = uniqueDbName('adt_own');
    const byName = new NetworkPolicy({ allowlist: parseDestinationAllowlist('archive.lan'), resolve: staticResolver({ 'archive.lan': ['127.0.0.1'] }) });
    const byBlock = new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.0/8') });
    try {
      for (const [uri, network] of [
        [`mongodb://archive.lan:${mongoPort}/${dbName}`, byName],
        [`mongodb://127.0.0.1:${mongoPort}/${dbName}`, byBlock],
      ] as const) {
        const archives = archivesFor(uri, network);
        try {
          const db = await archives.forTenant('acme');
          expect(db.databaseName).toBe(dbName);
          await db.collection('probe').updateOne({ _id: 'own-uri' } as never, { $inc: { writes: 1 } }, { upsert: true });
        } finally {
          await archives.close();
        }
      }
      expect(await shared.db(dbName).collection('probe').findOne({})).toEqual({ _id: 'own-uri', writes: 2 });
    } finally {
      await dropTestDatabase(shared, dbName);
    }
  });

  it('never dials a replica-set member the server reports by a name that resolves to a private address', async () => {
    let seedPort = 0;
    const seed = await startReplicaSeed(
      () => `seed.lan:${seedPort}`,
      () => [`member.test:${counterPort}`],
    );
    seedPort = seed.port;
    const network = new NetworkPolicy({
      allowlist: parseDestinationAllowlist('seed.lan'),
      resolve: staticResolver({ 'seed.lan': ['127.0.0.1'], 'member.test': ['127.0.0.1'] }),
    });
    const archives = archivesFor(`mongodb://seed.lan:${seedPort}/acme?replicaSet=rs-test`, network);
    const before = dialled;
    try {
      expect((await archives.forTenant('acme')).databaseName).toBe('acme');
      await new Promise((settle) => setTimeout(settle, 300));
      expect(dialled).toBe(before);
    } finally {
      await archives.close();
      await seed.close();
    }
  });

  it('refuses the archive when a server reports a replica-set member at a refused address, and keeps refusing it', async () => {
    let seedPort = 0;
    const seed = await startReplicaSeed(
      () => `seed.lan:${seedPort}`,
      () => [`127.0.0.1:${counterPort}`],
    );
    seedPort = seed.port;
    const network = new NetworkPolicy({ allowlist: parseDestinationAllowlist('seed.lan'), resolve: staticResolver({ 'seed.lan': ['127.0.0.1'] }) });
    const archives = archivesFor(`mongodb://seed.lan:${seedPort}/acme?replicaSet=rs-test`, network);
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const err = await archives.forTenant('acme').then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(err).toBeInstanceOf(RetentionError);
        expect((err as RetentionError).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
        expect((err as RetentionError).message).toContain('"127.0.0.1" is the loopback');
      }
    } finally {
      await archives.close();
      await seed.close();
    }
  });
});
