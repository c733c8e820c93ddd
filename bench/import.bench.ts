/**
 * `npm run bench:import [count]`: imports a drop of one million records (or `count`): 70 % call logs, 20 % contacts,
 * 10 % chats (each with its transcript), written by the archive writers as the export delivers them (gzipped JSON,
 * 100,000 records per file). Times the import of the manifest alone (download and checksum of every file into the
 * spool, parsing, validation, guarded unordered bulk upserts) and counts the commands sent to MongoDB through the
 * driver's command monitoring. Prints records/s, round trips per 1,000 records and the server it ran against:
 * `MONGODB_URL`, else a `mongod` on PATH, else the wire-compatible test server, whose speed says nothing about
 * MongoDB's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { parseKeyring } from '../src/crypto/keyring.js';
import { importManifest } from '../src/import/import-manifest.js';
import { buildImportDeps } from '../src/import/open-import-deps.js';
import { generateRecords } from '../src/records/demo-generator.js';
import type { RecordType } from '../src/records/record-type.js';
import { DEFAULT_ARCHIVE_BATCH_SIZE } from '../src/store/archive/archive-writer.js';
import { createControlPlane } from '../src/store/control-plane.js';
import { DropBuilder } from '../test/support/import/drop-builder.js';
import { startTestMongo } from '../test/support/mongo.js';
import { testDestinations } from '../test/support/destinations.js';

const TENANT = 'bench-import';
const FROM = new Date('2026-01-01T00:00:00Z');
const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'find', 'getMore']);

const count = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(count) || count < 10) throw new Error('count must be a whole number of at least 10');
const shares: Record<RecordType, number> = { 'call-logs': 0.7, contacts: 0.2, chats: 0.1 };

const mongo = await startTestMongo();
const dropRoot = await mkdtemp(join(tmpdir(), 'bench-import-drop-'));
const spoolDir = await mkdtemp(join(tmpdir(), 'bench-import-spool-'));
const client = await MongoClient.connect(mongo.url, { monitorCommands: true });
const controlName = `bench_import_cp_${process.pid}`;
const prefix = `bench_import_${process.pid}_`;
let commands = 0;
client.on('commandStarted', (event) => {
  if (event.databaseName.startsWith(prefix) && WRITE_COMMANDS.has(event.commandName)) commands += 1;
});

try {
  console.log(`server: ${mongo.description}`);
  if (mongo.kind === 'wire')
    console.log(
      'NOTE: the wire-compatible test server keeps data in memory and evaluates every update with mingo; its speed says nothing about MongoDB. Set MONGODB_URL to measure a real server.',
    );
  const drop = new DropBuilder(dropRoot, TENANT);
  const hours = 24;
  const records: Partial<Record<RecordType, unknown[]>> = {};
  let messages = 0;
  for (const [type, share] of Object.entries(shares) as [RecordType, number][]) {
    const wanted = Math.round(count * share);
    const list = [
      ...generateRecords({
        seed: 1,
        tenantId: TENANT,
        type,
        from: FROM,
        to: new Date(FROM.getTime() + hours * 3600_000),
        ratesPerHour: { [type]: Math.ceil(wanted / hours) + 1 },
      }),
    ].slice(0, wanted);
    if (type === 'chats') messages = list.reduce((n: number, chat) => n + (chat as { messages: unknown[] }).messages.length, 0);
    records[type] = list;
  }
  const total = Object.values(records).reduce((n, list) => n + (list?.length ?? 0), 0);
  const generatedAt = Date.now();
  const link = await drop.deliver({ runId: 'bench', window: { from: FROM, to: new Date(FROM.getTime() + hours * 3600_000) }, records, maxRecords: 100_000 });
  console.log(`drop: ${total} records (${messages} chat messages) written in ${((Date.now() - generatedAt) / 1000).toFixed(1)} s`);

  const keyring = parseKeyring(`bench:${Buffer.alloc(32, 1).toString('base64')}`);
  const controlDb = client.db(controlName);
  const controlPlane = createControlPlane(controlDb);
  await controlPlane.settings.putRetention(
    TENANT,
    {
      mode: 'online',
      dataTypes: ['call-logs', 'chats', 'contacts'],
      schedule: { cron: '0 2 * * *' },
      source: { kind: 'demo', seed: 1 },
      target: { kind: 'local', directory: dropRoot },
    },
    { actor: 'bench' },
  );
  const deps = await buildImportDeps({
    client,
    db: controlDb,
    controlPlane,
    archiveDbPrefix: prefix,
    keyring,
    destinations: testDestinations(),
    logger: pino({ level: 'silent' }),
    spoolDir,
  });
  await deps.archiveStore.ensureIndexes(TENANT);
  commands = 0;
  const started = process.hrtime.bigint();
  const outcome = await importManifest(deps, TENANT, link.path);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (outcome.status !== 'imported') throw new Error(`unexpected outcome ${outcome.status}`);
  const roundTrips = commands;
  console.log(`import: ${total} records (+${messages} messages) in ${seconds.toFixed(1)} s = ${Math.round(total / seconds)} records/s`);
  console.log(
    `round trips: ${roundTrips} data commands (insert, update, delete, find) = ${((roundTrips / total) * 1000).toFixed(2)} per 1,000 records, ${((roundTrips / (total + messages)) * 1000).toFixed(2)} per 1,000 documents written; batch size ${DEFAULT_ARCHIVE_BATCH_SIZE}`,
  );
  console.log(`counts: ${JSON.stringify(outcome.counts.types)} messages ${JSON.stringify(outcome.counts.messages)}`);
  await (await deps.archives.forTenant(TENANT)).dropDatabase();
  await deps.archives.close();
  await controlDb.dropDatabase();
} finally {
  await client.close();
  await mongo.stop();
  await rm(dropRoot, { recursive: true, force: true });
  await rm(spoolDir, { recursive: true, force: true });
}
