/**
 * `npm run bench:export [count] [gzip-on|gzip-off]`: one million demo call logs (or `count`) through the export path: demo source,
 * validation, JSON encoding (gzip off and on) and SFTP upload to a private OpenSSH server on loopback.
 *
 * Two baselines on the same records, measured in the same run: encoding alone (same source, validation and encoder,
 * no upload) and OpenSSH's own `sftp -b` uploading the files that encoding produced. Each measured phase runs in a
 * fresh child process so its peak RSS is its own. Prints records/s, MB/s, peak RSS and the pipeline's ratio to the
 * slower baseline.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { recordFileName } from '../src/archive/drop-layout.js';
import { writeRecordFiles } from '../src/archive/record-file-writer.js';
import { SftpTarget } from '../src/delivery/sftp-target.js';
import { HostSemaphore } from '../src/queue/host-semaphore.js';
import { parseRecord } from '../src/records/parse-record.js';
import { DemoSource } from '../src/sources/demo-source.js';
import { startSftpServer } from '../test/support/sftp-server.js';
import { testDestinations } from '../test/support/destinations.js';
import { exportSlice } from '../worker/processors/chunk-processor.js';

const RATE_PER_HOUR = 20_000;
const FROM = new Date('2026-01-01T00:00:00Z');
const MAX_RECORDS_PER_FILE = 100_000;

interface PhaseResult {
  seconds: number;
  records: number;
  bytes: number;
  files: number;
  peakRssMb: number;
}

const windowFor = (count: number) => ({ from: FROM, to: new Date(FROM.getTime() + Math.ceil(count / RATE_PER_HOUR) * 3600_000) });
const source = () => new DemoSource({ tenantId: 'bench', seed: 1, ratesPerHour: { 'call-logs': RATE_PER_HOUR }, pageSize: 1000 });
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function* validated(count: number): AsyncGenerator<unknown> {
  let n = 0;
  for await (const page of source().read('call-logs', windowFor(count))) {
    for (const raw of page.records) {
      if (n >= count) return;
      const parsed = parseRecord('call-logs', raw);
      if (parsed.ok) yield parsed.record;
      n += 1;
    }
  }
}

/** Baseline 1, in a child: source + validation + encoding into `dir`, no upload. */
async function encodePhase(count: number, gzip: boolean, dir: string): Promise<PhaseResult> {
  const window = windowFor(count);
  const started = performance.now();
  const files = await writeRecordFiles(validated(count), {
    directory: dir,
    encoding: 'json',
    gzip,
    maxRecords: MAX_RECORDS_PER_FILE,
    fileName: (part) => recordFileName({ type: 'call-logs', window, part, encoding: 'json', gzip, runId: 'bench' }),
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    records: files.reduce((n, f) => n + f.records, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    files: files.length,
    peakRssMb: peakRssMb(),
  };
}

/** The pipeline, in a child: the chunk code path (`exportSlice`) with the real SFTP target and host semaphore. */
async function pipelinePhase(
  count: number,
  gzip: boolean,
  spool: string,
  server: { host: string; port: number; username: string; key: string; fingerprint: string; root: string },
): Promise<PhaseResult> {
  const limitedSource = {
    kind: 'demo',
    read: async function* (type: 'call-logs', window: { from: Date; to: Date }) {
      let n = 0;
      for await (const page of source().read(type, window)) {
        const records = page.records.slice(0, Math.max(0, count - n));
        n += records.length;
        yield { records };
        if (n >= count) return;
      }
    },
  };
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const target = new SftpTarget({
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.key,
    hostKeyFingerprint: server.fingerprint,
    root: server.root,
    network: testDestinations().network,
  });
  const window = windowFor(count);
  const started = performance.now();
  const result = await exportSlice(
    {
      job: { tenantId: 'bench', runId: 'bench', type: 'call-logs', index: 0, from: window.from.toISOString(), to: window.to.toISOString() },
      source: limitedSource as never,
      target,
      hostKey: `bench-${process.pid}`,
      hostSemaphore: new HostSemaphore(redis, { prefix: `bench-${process.pid}`, limit: 2 }),
      files: { format: 'json', gzip, maxRecords: MAX_RECORDS_PER_FILE, maxBytes: 1024 ** 3 },
      spool,
    },
    async () => undefined,
  );
  const seconds = (performance.now() - started) / 1000;
  await target.close();
  redis.disconnect();
  return { seconds, records: result.records, bytes: result.bytes, files: result.files.length, peakRssMb: peakRssMb() };
}

async function runChild(args: string[]): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PhaseResult) : reject(new Error(`phase ${args[0]} exited with ${code}`)),
    );
  });
}

/** Baseline 2: OpenSSH's `sftp -b` uploading the encoded files to the same server. */
async function sftpBatchPhase(dir: string, server: { host: string; port: number; username: string; keyFile: string }, remoteDir: string): Promise<PhaseResult> {
  const files = (await readdir(dir)).sort();
  const batch = join(dir, '..', `batch-${remoteDir}.txt`);
  await writeFile(batch, [`-mkdir ${remoteDir}`, ...files.map((f) => `put ${join(dir, f)} ${remoteDir}/${f}`)].join('\n'));
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(dir, f))).size;
  const started = performance.now();
  await promisify(execFile)('sftp', [
    '-q',
    '-b',
    batch,
    '-i',
    server.keyFile,
    '-P',
    String(server.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    `${server.username}@${server.host}`,
  ]);
  return { seconds: (performance.now() - started) / 1000, records: 0, bytes, files: files.length, peakRssMb: 0 };
}

async function orchestrate(count: number, modes: boolean[]): Promise<void> {
  const server = await startSftpServer();
  const work = await mkdtemp(join(tmpdir(), 'retention-bench-'));
  const keyFile = join(work, 'client-key');
  await writeFile(keyFile, server.clientPrivateKey, { mode: 0o600 });
  const facts = JSON.stringify({
    host: server.host,
    port: server.port,
    username: server.username,
    key: server.clientPrivateKey,
    fingerprint: server.hostKeyFingerprint,
    root: '/',
  });
  const mb = (bytes: number, seconds: number) => (bytes / 1024 ** 2 / seconds).toFixed(1);
  const rps = (records: number, seconds: number) => Math.round(records / seconds).toLocaleString('en-US');
  console.log(
    `Export benchmark: ${count.toLocaleString('en-US')} demo call logs, JSON, ${MAX_RECORDS_PER_FILE.toLocaleString('en-US')} records per file, OpenSSH sshd on loopback`,
  );
  try {
    for (const gzip of modes) {
      const label = gzip ? 'gzip on ' : 'gzip off';
      const encodedDir = join(work, `encoded-${gzip}`);
      await mkdir(encodedDir);
      const encode = await runChild(['encode', String(count), String(gzip), encodedDir]);
      const sftp = await sftpBatchPhase(encodedDir, { ...server, keyFile }, `sftp-b-${gzip}`);
      await rm(encodedDir, { recursive: true, force: true });
      const spool = join(work, `spool-${gzip}`);
      await mkdir(spool);
      const pipeline = await runChild(['pipeline', String(count), String(gzip), spool, facts]);
      const sftpRecordsPerSecond = encode.records / sftp.seconds;
      const slower = Math.min(encode.records / encode.seconds, sftpRecordsPerSecond);
      const ratio = pipeline.records / pipeline.seconds / slower;
      console.log(`\n${label}  (${(encode.bytes / 1024 ** 2).toFixed(0)} MB in ${encode.files} files)`);
      console.log(
        `  baseline encode alone : ${rps(encode.records, encode.seconds).padStart(9)} records/s  ${mb(encode.bytes, encode.seconds).padStart(7)} MB/s  peak RSS ${encode.peakRssMb} MB`,
      );
      console.log(
        `  baseline sftp -b      : ${rps(encode.records, sftp.seconds).padStart(9)} records/s  ${mb(sftp.bytes, sftp.seconds).padStart(7)} MB/s  (upload of the same files only)`,
      );
      console.log(
        `  pipeline              : ${rps(pipeline.records, pipeline.seconds).padStart(9)} records/s  ${mb(pipeline.bytes, pipeline.seconds).padStart(7)} MB/s  peak RSS ${pipeline.peakRssMb} MB`,
      );
      console.log(`  ratio to the slower baseline: ${ratio.toFixed(2)} (target >= 0.70); peak RSS ${pipeline.peakRssMb <= 300 ? 'within' : 'OVER'} 300 MB`);
    }
  } finally {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

const [phase, ...args] = process.argv.slice(2);
if (phase === 'encode') {
  console.log(JSON.stringify(await encodePhase(Number(args[0]), args[1] === 'true', args[2] as string)));
} else if (phase === 'pipeline') {
  console.log(JSON.stringify(await pipelinePhase(Number(args[0]), args[1] === 'true', args[2] as string, JSON.parse(args[3] as string))));
  process.exit(0);
} else {
  const only = args[0];
  if (only !== undefined && only !== 'gzip-on' && only !== 'gzip-off') throw new Error('usage: export.bench.ts [count] [gzip-on|gzip-off]');
  await orchestrate(Number(phase ?? 1_000_000), only === undefined ? [false, true] : [only === 'gzip-on']);
}
