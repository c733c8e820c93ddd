/**
 * `npm run bench:export [-- --scale 1] [--types call-logs,chats,contacts] [--gzip both|off|on] [--repeat 2] [--link-mbps 20]`
 *
 * Every stage of the export path, on the same records, in one run, for each record type: the source alone (page
 * texts of the export API read and parsed), + validation (`parseRecord`), + encoding (the chunk's code, `exportSlice`,
 * delivering to a target that discards), + gzip, + upload (the same code with the real SFTP target, a private OpenSSH
 * sshd on loopback: the pipeline). Against them, the floor: JSON.parse of the same page texts and JSON.stringify of
 * each record (and gzip of that text at the encoder's level when gzip is on), the work any exporter of JSON to JSON
 * must do. Prints records/s and the ratio to the floor of every stage, and the pipeline's ratio for each type, gzip
 * off and on (goal: >= 0.5), with the machine's load average at the start, after each type and at the end.
 *
 * The demo records are written to a page file before anything is measured, so the generator is in no figure. Each
 * type runs in a fresh child process (no JIT feedback from another type); stages alternate, `--repeat` times after a
 * warm-up, and the fastest run of each counts. Peak RSS comes from two more children per type that run only the
 * pipeline (gzip on), over the records and over four times as many (the page file read four times over): it should
 * not grow with the count.
 *
 * Default sizes (`--scale 1`, about two and a half minutes on two cores): 50,000 call logs, 10,000 chats (several KB
 * each) and 50,000 contacts. Needs Redis (`REDIS_URL`, for the host semaphore) and OpenSSH's sshd.
 * With `BENCH_CPU_PROF_DIR` set, every child writes a V8 CPU profile there.
 *
 * `--link-mbps N` adds two stages (gzip off) that upload through a relay carrying at most N MB/s towards the server,
 * as a customer's server behind a slower link: each file uploaded once it is complete (the target without
 * `uploadGrowing`), and each file uploaded while it is written (the chunk's default on SFTP). Loopback is faster than
 * the encoder, so only a slower link shows what following a file saves.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SftpTarget } from '../src/delivery/sftp-target.js';
import type { Target } from '../src/delivery/target.js';
import { HostSemaphore } from '../src/queue/host-semaphore.js';
import { isRecordType, RECORD_TYPES, type RecordType } from '../src/records/record-type.js';
import { testDestinations } from '../test/support/destinations.js';
import { startSftpServer } from '../test/support/sftp-server.js';
import { chunkExport, DiscardTarget, floor, sourceAlone, withValidation, type SliceDeps, type StageRun } from './export-stages.js';
import { writePageFile, type PageFile } from './page-file-source.js';
import { startThrottledLink, WholeFileUploads } from './throttled-link.js';

const DEFAULT_COUNTS: Readonly<Record<RecordType, number>> = { 'call-logs': 50_000, chats: 10_000, contacts: 50_000 };
const PAGE_SIZE = 500;
const WARM_UP_RECORDS = 5_000;
const GOAL = 0.5;
/** Peak RSS is measured on runs over the page file once and four times over: it should not grow with the count. */
const RSS_PASSES = [1, 4] as const;

/** Connection facts of the benchmark's SFTP server, handed to the children. */
interface ServerFacts {
  host: string;
  port: number;
  username: string;
  key: string;
  fingerprint: string;
  /** Local directory behind the server's `/`, emptied after every upload. */
  localRoot: string;
  /** The port of the throttled relay in front of the server (`--link-mbps`), if any. */
  linkPort?: number;
}

type StageName = 'source' | 'validation' | 'encoding' | 'gzip' | 'upload-off' | 'upload-on' | 'link-whole' | 'link-growing' | 'floor-off' | 'floor-on';

const STAGE_LABELS: Readonly<Record<StageName, string>> = {
  source: 'source alone (page text -> JSON.parse)',
  validation: '+ validation (parseRecord)',
  encoding: '+ encoding, gzip off (exportSlice, discarded)',
  gzip: '+ gzip (exportSlice, discarded)',
  'upload-off': '+ upload, gzip off = PIPELINE',
  'upload-on': '+ upload, gzip on  = PIPELINE',
  'link-whole': 'over the link, each file once complete',
  'link-growing': 'over the link, each file while written',
  'floor-off': 'floor, gzip off (parse + stringify)',
  'floor-on': 'floor, gzip on (parse + stringify + gzip)',
};

/** What a stages child reports. */
interface StagesReport {
  type: RecordType;
  records: number;
  pageBytes: number;
  best: Partial<Record<StageName, StageRun>>;
}

type TargetKind = 'sftp' | 'discard' | 'link-whole' | 'link-growing';

function targetOf(facts: ServerFacts, kind: TargetKind): Target {
  if (kind === 'discard') return new DiscardTarget();
  const viaLink = kind === 'link-whole' || kind === 'link-growing';
  if (viaLink && facts.linkPort === undefined) throw new Error(`the ${kind} stage needs --link-mbps`);
  const sftp = new SftpTarget({
    host: facts.host,
    port: viaLink ? (facts.linkPort as number) : facts.port,
    username: facts.username,
    privateKey: facts.key,
    hostKeyFingerprint: facts.fingerprint,
    root: '/',
    network: testDestinations().network,
  });
  return kind === 'link-whole' ? new WholeFileUploads(sftp) : sftp;
}

function sliceDeps(facts: ServerFacts, redis: Redis, target: TargetKind, runId: string): SliceDeps {
  return {
    target: targetOf(facts, target),
    hostSemaphore: new HostSemaphore(redis, { prefix: `bench-${process.pid}`, limit: 2 }),
    hostKey: `bench-${process.pid}`,
    runId,
  };
}

async function emptyDirectory(path: string): Promise<void> {
  for (const entry of await readdir(path)) await rm(join(path, entry), { recursive: true, force: true });
}

/** Which records a run reads: the first `limit` of the page file, or all of them `passes` times over. */
interface RunSize {
  limit?: number;
  passes?: number;
}

async function runStage(stage: StageName, file: PageFile, facts: ServerFacts, redis: Redis, runId: string, size: RunSize = {}): Promise<StageRun> {
  switch (stage) {
    case 'source':
      return sourceAlone(file, size.limit);
    case 'validation':
      return withValidation(file, size.limit);
    case 'floor-off':
      return floor(file, false, size.limit);
    case 'floor-on':
      return floor(file, true, size.limit);
    case 'encoding':
    case 'gzip':
      return chunkExport(file, stage === 'gzip', sliceDeps(facts, redis, 'discard', runId), size);
    case 'upload-off':
    case 'upload-on':
    case 'link-whole':
    case 'link-growing': {
      const deps = sliceDeps(facts, redis, stage.startsWith('link-') ? (stage as TargetKind) : 'sftp', runId);
      try {
        return await chunkExport(file, stage === 'upload-on', deps, size);
      } finally {
        await deps.target.close();
        await emptyDirectory(facts.localRoot);
      }
    }
  }
}

/** Child: every stage of one type, a warm-up, then `repeat` alternating rounds; the fastest run of each stage. */
async function stagesChild(file: PageFile, stages: StageName[], repeat: number, facts: ServerFacts): Promise<StagesReport> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const best: Partial<Record<StageName, StageRun>> = {};
  try {
    let run = 0;
    for (const stage of stages) await runStage(stage, file, facts, redis, `warm-${(run += 1)}`, { limit: Math.min(WARM_UP_RECORDS, file.records) });
    for (let round = 0; round < repeat; round += 1) {
      for (const stage of stages) {
        const result = await runStage(stage, file, facts, redis, `run-${(run += 1)}`);
        if (result.records !== file.records) throw new Error(`${stage} handled ${result.records} of ${file.records} ${file.type}`);
        const previous = best[stage];
        if (previous === undefined || result.seconds < previous.seconds) best[stage] = result;
      }
    }
  } finally {
    redis.disconnect();
  }
  return { type: file.type, records: file.records, pageBytes: file.bytes, best };
}

/** Child: the pipeline once (gzip on) over the page file read `passes` times; its peak RSS. */
async function rssChild(file: PageFile, passes: number, facts: ServerFacts): Promise<{ records: number; peakRssMb: number }> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  try {
    const result = await runStage('upload-on', file, facts, redis, `rss-${passes}`, { passes });
    return { records: result.records, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    redis.disconnect();
  }
}

function runChild<T>(args: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', new URL(import.meta.url).pathname, '--child', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`benchmark child exited with ${String(code)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? 'null') as T);
    });
  });
}

interface Options {
  counts: Record<RecordType, number>;
  types: RecordType[];
  gzipModes: ('off' | 'on')[];
  repeat: number;
  /** MB/s of the throttled link's upstream (`--link-mbps`), or undefined for no link stages. */
  linkMbps?: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string', default: '1' },
      types: { type: 'string' },
      gzip: { type: 'string', default: 'both' },
      repeat: { type: 'string', default: '2' },
      'link-mbps': { type: 'string' },
    },
  });
  const scale = Number(values.scale);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
  const types = values.types === undefined ? [...RECORD_TYPES] : values.types.split(',');
  for (const type of types) if (!isRecordType(type)) throw new Error(`--types takes ${RECORD_TYPES.join(', ')}; got ${type}`);
  if (!['both', 'off', 'on'].includes(values.gzip)) throw new Error(`--gzip must be both, off or on, got ${values.gzip}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number >= 1, got ${values.repeat}`);
  const linkMbps = values['link-mbps'] === undefined ? undefined : Number(values['link-mbps']);
  if (linkMbps !== undefined && !(linkMbps > 0 && linkMbps <= 10_000))
    throw new Error(`--link-mbps must be a number of MB/s above 0 and at most 10000, got ${values['link-mbps']}`);
  const counts = { ...DEFAULT_COUNTS };
  for (const type of RECORD_TYPES) counts[type] = Math.max(1000, Math.round(DEFAULT_COUNTS[type] * scale));
  return {
    counts,
    types: types as RecordType[],
    gzipModes: values.gzip === 'both' ? ['off', 'on'] : [values.gzip as 'off' | 'on'],
    repeat,
    ...(linkMbps === undefined ? {} : { linkMbps }),
  };
}

const number = (value: number): string => Math.round(value).toLocaleString('en-US');

/** The 1, 5 and 15 minute load averages: what else shared the cores while the figures were taken. */
const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

function printType(report: StagesReport, rss: { records: number; peakRssMb: number }[], generatorPerSecond: number): Record<'off' | 'on', number | undefined> {
  const { best } = report;
  const perRecord = report.pageBytes / report.records;
  console.log(
    `\n${report.type}: ${number(report.records)} records, ${(report.pageBytes / 1e6).toFixed(1)} MB of page text (${number(perRecord)} B/record); demo generator alone ${number(generatorPerSecond)} records/s (not in any figure)`,
  );
  console.log(`  ${'stage'.padEnd(48)} ${'records/s'.padStart(10)} ${'MB/s'.padStart(7)}  time/floor`);
  const floorOf = (stage: StageName): StageRun | undefined =>
    stage === 'gzip' || stage === 'upload-on' || stage === 'floor-on' ? best['floor-on'] : best['floor-off'];
  for (const stage of Object.keys(STAGE_LABELS) as StageName[]) {
    const run = best[stage];
    if (run === undefined) continue;
    const base = floorOf(stage);
    const ratio = base === undefined ? '' : (base.seconds / run.seconds).toFixed(2).padStart(9);
    const mbps = (report.pageBytes / 1e6 / run.seconds).toFixed(1);
    console.log(`  ${STAGE_LABELS[stage].padEnd(48)} ${number(report.records / run.seconds).padStart(10)} ${mbps.padStart(7)}  ${ratio}`);
  }
  const ratios = {
    off: best['upload-off'] && best['floor-off'] ? best['floor-off'].seconds / best['upload-off'].seconds : undefined,
    on: best['upload-on'] && best['floor-on'] ? best['floor-on'].seconds / best['upload-on'].seconds : undefined,
  };
  const shown = (['off', 'on'] as const).filter((mode) => ratios[mode] !== undefined).map((mode) => `gzip ${mode} ${ratios[mode]?.toFixed(2)}`);
  console.log(`  pipeline / floor: ${shown.join(', ')} (goal >= ${GOAL})`);
  const whole = best['link-whole'];
  const growing = best['link-growing'];
  if (whole !== undefined && growing !== undefined) {
    console.log(
      `  over the link: ${whole.seconds.toFixed(2)} s uploading each file once complete, ${growing.seconds.toFixed(2)} s while written: ${(whole.seconds / growing.seconds).toFixed(2)} times as fast`,
    );
  }
  console.log(
    `  peak RSS of the pipeline (gzip on, fresh process): ${rss.map((entry) => `${number(entry.records)} records ${entry.peakRssMb} MB`).join(', ')}`,
  );
  return ratios;
}

async function orchestrate(options: Options): Promise<void> {
  const server = await startSftpServer();
  const work = await mkdtemp(join(tmpdir(), 'retention-bench-'));
  const facts: ServerFacts = {
    host: server.host,
    port: server.port,
    username: server.username,
    key: server.clientPrivateKey,
    fingerprint: server.hostKeyFingerprint,
    localRoot: server.root,
  };
  const link = options.linkMbps === undefined ? undefined : await startThrottledLink(server, options.linkMbps * 1e6);
  if (link !== undefined) facts.linkPort = link.port;
  const stages: StageName[] = ['source', 'validation'];
  if (options.gzipModes.includes('off')) stages.push('floor-off', 'encoding', 'upload-off');
  if (options.gzipModes.includes('on')) stages.push('floor-on', 'gzip', 'upload-on');
  if (link !== undefined) stages.push('link-whole', 'link-growing');
  const startedAt = Date.now();
  const linkNote = options.linkMbps === undefined ? '' : `, and through a ${options.linkMbps} MB/s link`;
  console.log(
    `Export benchmark: JSON, pages of ${PAGE_SIZE}, default file settings, OpenSSH sshd on loopback${linkNote}; best of ${options.repeat} rounds after a warm-up; ratios are floor time / stage time in the same process; load average ${loadAverage()}`,
  );
  const summary: string[] = [];
  try {
    for (const type of options.types) {
      const count = options.counts[type];
      const generated = performance.now();
      const file = await writePageFile(join(work, `${type}.pages`), type, count, PAGE_SIZE);
      const generatorPerSecond = count / ((performance.now() - generated) / 1000);
      const report = await runChild<StagesReport>({ mode: 'stages', file, stages, repeat: options.repeat, facts });
      const rss: { records: number; peakRssMb: number }[] = [];
      for (const passes of RSS_PASSES) rss.push(await runChild({ mode: 'rss', file, passes, facts }));
      const ratios = printType(report, rss, generatorPerSecond);
      console.log(`  load average after ${type}: ${loadAverage()}`);
      const cells = (['off', 'on'] as const).map((mode) => (ratios[mode] === undefined ? '  -  ' : ratios[mode].toFixed(2)).padStart(8));
      summary.push(`  ${type.padEnd(10)} ${cells.join(' ')}   ${rss.map((entry) => `${entry.peakRssMb} MB`).join(' -> ')}`);
      await rm(file.path, { force: true });
    }
  } finally {
    await link?.close();
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  }
  console.log(`\npipeline / floor (goal >= ${GOAL})   gzip off  gzip on   peak RSS at ${RSS_PASSES.map((passes) => `${passes}x`).join(' -> ')} the records`);
  for (const line of summary) console.log(line);
  console.log(`(${((Date.now() - startedAt) / 1000).toFixed(0)} s, load average at the end ${loadAverage()})`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const job = JSON.parse(argv[1] ?? '{}') as
    | { mode: 'stages'; file: PageFile; stages: StageName[]; repeat: number; facts: ServerFacts }
    | { mode: 'rss'; file: PageFile; passes: number; facts: ServerFacts };
  const file = { ...job.file, window: { from: new Date(job.file.window.from), to: new Date(job.file.window.to) } };
  const result = job.mode === 'stages' ? await stagesChild(file, job.stages, job.repeat, job.facts) : await rssChild(file, job.passes, job.facts);
  console.log(JSON.stringify(result));
  process.exit(0);
} else {
  await orchestrate(parseOptions(argv));
}
