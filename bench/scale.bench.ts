/**
 * `npm run bench:scale [tenants]`: many tenants (default 2,000, at least 10) scheduled on the same minute, run by real
 * worker processes (`worker/main.ts`, configured through the environment like `npm run worker`). Each tenant has the
 * demo source (contacts, 60 records an hour), a local-directory target of its own in a temporary directory and a window of about
 * a minute (its checkpoint is set just before the slot), so a run is mostly the pipeline's fixed costs: run job,
 * chunk job, finalize job, their MongoDB control-plane writes and Redis round trips.
 *
 * 1. **boot**: three worker processes started at the same moment against every tenant (each with its own cron and
 *    time zone, every tenth paused) must leave exactly one job scheduler per scheduled tenant, each with one next job.
 * 2. **one worker** (two of the three stop), then **two workers** (one more starts): every tenant's schedule is moved
 *    to the same coming minute (the stored settings, then the schedulers through the reconciliation every worker
 *    runs); runs/s = tenants / (last run done − slot). Runs are counted per tenant in the control plane and per run
 *    job in the queue's events: none missed, none doubled.
 * 3. **stall**: the two workers, 100 tenants and one more whose SFTP server (its own sshd) gets SIGSTOP before their
 *    common slot. The stalled chunk holds one worker slot until the SFTP connect timeout and is retried once the
 *    server resumes; the other tenants, few enough not to queue behind each other, must all be done before that
 *    timeout.
 *
 * Prints a table, the ratio two ÷ one (goal ≥ 1.6 on two cores), the CPU time per run of the workers, MongoDB and
 * Redis (from `/proc`), and the machine (cores, load, Node). MongoDB: `MONGODB_URL`, else a `mongod` on PATH, else the
 * wire-compatible development server, each in a child process; the wire server's speed says nothing about MongoDB's.
 * Redis: `REDIS_URL` (default 127.0.0.1:6379), under key prefixes of its own, removed at the end. Everything it
 * started (processes, sshd, temporary directories, Redis keys, databases) is removed at the end, also on failure or
 * Ctrl-C. Waiting for the minute boundaries takes up to a minute per phase; the whole run stays under about five
 * minutes on two cores with 2,000 tenants.
 *
 * For quick tries: fewer tenants (`npm run bench:scale 200`), `BENCH_SCALE_PHASES=one,two` (of boot, one, two, stall),
 * and `BENCH_CPU_PROF_DIR=<dir>` for a V8 CPU profile of every worker process.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { parseKeyring } from '../src/crypto/keyring.js';
import { sealSecret } from '../src/crypto/secret-box.js';
import type { RunJobData } from '../src/queue/job-payloads.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { loadTenantSettings } from '../src/queue/queue-reconciler.js';
import { syncAllSchedules } from '../src/queue/tenant-schedules.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../src/store/control-plane.js';
import type { RetentionSettingsInput } from '../src/tenants/retention-settings.js';
import { secretContext } from '../src/tenants/secret-context.js';
import { startSftpServer, type SftpServer } from '../test/support/sftp-server.js';
import { cleanupPrefix } from '../test/support/redis.js';
import { cpuMicrosOf, startMongoChild, stopMongoChild } from './mongo-child.js';
import { measureCpuScaling, startWorker, type BenchWorker } from './scale-fleet.js';

const USAGE = 'usage: npm run bench:scale [tenants >= 10, default 2000]';
const MASTER_KEYS = `bench-k1:${Buffer.alloc(32, 9).toString('base64')}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The worker's default settle lag (SETTLE_LAG_SECONDS); a run's window ends this long before it is planned. */
const SETTLE_LAG_MS = 300_000;
/** How much of the source each run covers: the checkpoint is put this long before the first settled instant. */
const WINDOW_MS = 60_000;
/** A slot that never comes during the benchmark (1 January, 03:00): the schedule tenants boot with. */
const FAR_CRON = '0 3 1 1 *';
/** The SFTP target's connect timeout (`SftpTarget`'s default): how long a stopped server holds one chunk. */
const STALLED_TIMEOUT_MS = 15_000;
const CRONS = ['0 2 * * *', '30 4 * * 1-5', '15 */6 * * *', '45 23 * * 0'] as const;
const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'] as const;
const SAVE_CONCURRENCY = 50;

const PHASES = ['boot', 'one', 'two', 'stall'] as const;
const phases = new Set((process.env.BENCH_SCALE_PHASES ?? PHASES.join(',')).split(',').map((p) => p.trim()));
for (const phase of phases)
  if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`BENCH_SCALE_PHASES: unknown phase "${phase}" (${PHASES.join(', ')})`);
const raw = process.argv[2];
const tenantCount = raw === undefined ? 2_000 : Number(raw.replaceAll('_', ''));
if (!Number.isInteger(tenantCount) || tenantCount < 10 || tenantCount > 100_000) throw new Error(`${USAGE} (got "${raw}")`);

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
const tenantIdOf = (i: number) => `scale-${String(i).padStart(5, '0')}`;
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** Runs `work` over `items`, `limit` at a time. */
async function inBatches<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += limit) await Promise.all(items.slice(start, start + limit).map((item, i) => work(item, start + i)));
}

/** Undo steps, run last first, at the end or on failure or Ctrl-C. */
const undo: Array<() => Promise<unknown>> = [];
let undoing: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  undoing ??= (async () => {
    while (undo.length > 0) {
      const step = undo.pop();
      await step?.().catch((err: unknown) => console.error(`cleanup step failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  })();
  return undoing;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

interface Fleet {
  db: Db;
  controlPlane: ControlPlane;
  dropDir: string;
  tenants: string[];
  /** The boot phase's schedule of tenant `i`. */
  scheduleOf: (i: number) => { cron: string; timezone: string; paused: boolean };
}

const startedAt = Date.now();
const loadAtStart = load();
const mongo = await startMongoChild(4096);
undo.push(() => stopMongoChild(mongo.child));
const client = await MongoClient.connect(mongo.info.url);
undo.push(() => client.close());
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
undo.push(() => redis.quit());
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
const baseDir = await mkdtemp(join(tmpdir(), 'bench-scale-'));
undo.push(() => rm(baseDir, { recursive: true, force: true }));
const keyring = parseKeyring(MASTER_KEYS);
const runTag = randomBytes(3).toString('hex');

const settingsOf = (dropDir: string, cron: string, timezone = 'UTC', paused = false): RetentionSettingsInput => ({
  mode: 'offline',
  dataTypes: ['contacts'],
  schedule: { cron, timezone, paused },
  source: { kind: 'demo', seed: 42, recordsPerHour: 60 },
  target: { kind: 'local', directory: dropDir },
});

/**
 * The control-plane database with `count` tenants, their settings (through the store, each its own cron and time
 * zone, every tenth paused) and checkpoints. Every phase works on it; each phase has a queue prefix of its own.
 */
async function seedFleet(count: number): Promise<Fleet> {
  const db = client.db(`bench_scale_${runTag}`);
  undo.push(() => db.dropDatabase());
  const dropDir = await mkdtemp(join(baseDir, 'drop-'));
  const controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  const scheduleOf = (i: number) => ({ cron: CRONS[i % CRONS.length] ?? FAR_CRON, timezone: TIMEZONES[i % TIMEZONES.length] ?? 'UTC', paused: i % 10 === 9 });
  const tenants = Array.from({ length: count }, (_, i) => tenantIdOf(i));
  await inBatches(tenants, SAVE_CONCURRENCY, async (tenantId, i) => {
    const { cron, timezone, paused } = scheduleOf(i);
    // Each tenant its own drop directory, as customers' local targets are (each one its own upload-limit pool).
    await mkdir(join(dropDir, tenantId));
    await controlPlane.tenants.create({ id: tenantId, displayName: `Scale ${i}` });
    await controlPlane.settings.putRetention(tenantId, settingsOf(join(dropDir, tenantId), cron, timezone, paused), { actor: 'bench' });
  });
  const now = new Date();
  await db
    .collection('checkpoints')
    .insertMany(tenants.map((tenantId) => ({ _id: tenantId as never, through: { contacts: now }, head: null, activeRunId: null, updatedAt: now })));
  return { db, controlPlane, dropDir, tenants, scheduleOf };
}

/** The environment of a worker process on `fleet`'s database and the queue prefix `prefix`. */
function workerEnv(fleet: Fleet, prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    MONGODB_URL: mongo.info.url,
    MONGODB_DATABASE: fleet.db.databaseName,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    RETENTION_MASTER_KEYS: MASTER_KEYS,
    SPOOL_DIR: join(baseDir, 'spool'),
    LOCAL_TARGET_BASE_DIR: baseDir,
    ALLOWED_PRIVATE_DESTINATIONS: '127.0.0.1/32',
  };
}

/** The queue prefix of this run (every phase works under it), removed at the end. */
const queuePrefixOfRun = `bench-scale-${runTag}`;
undo.push(() => cleanupPrefix(redis, queuePrefixOfRun));

/** Every worker process started, for the warnings they logged. */
const everyWorker: BenchWorker[] = [];

/** Starts `count` worker processes at the same moment; resolves once all of them started, with the slowest start. */
async function startWorkers(env: NodeJS.ProcessEnv, count: number): Promise<{ workers: BenchWorker[]; bootMs: number }> {
  const workers = Array.from({ length: count }, () => startWorker(env));
  everyWorker.push(...workers);
  for (const worker of workers) undo.push(() => worker.stop());
  const times = await Promise.all(workers.map((w) => w.ready));
  return { workers, bootMs: Math.max(...times) };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Three workers booting at once

interface BootResult {
  tenants: number;
  scheduled: number;
  schedulers: number;
  wrong: number;
  missing: number;
  extra: number;
  pendingJobs: number;
  bootMs: number;
}

/** Starts three worker processes at the same moment and counts the schedulers they leave; the workers keep running. */
async function bootPhase(fleet: Fleet): Promise<{ result: BootResult; workers: BenchWorker[] }> {
  console.log(`boot: starting three worker processes at the same moment against ${fleet.tenants.length} tenants`);
  const { workers, bootMs } = await startWorkers(workerEnv(fleet, queuePrefixOfRun), 3);
  const runs = new Queue<RunJobData>(QUEUE_NAMES.runs, { connection: redis, prefix: queuePrefixOfRun });
  try {
    const schedulers = new Map((await runs.getJobSchedulers(0, -1)).map((sch) => [sch.key, sch]));
    const pending = await runs.getJobs(['delayed', 'wait', 'prioritized']);
    let wrong = 0;
    let missing = 0;
    let scheduled = 0;
    for (const [i, tenantId] of fleet.tenants.entries()) {
      const want = fleet.scheduleOf(i);
      const have = schedulers.get(`tenant.${tenantId}`);
      if (want.paused) continue;
      scheduled += 1;
      if (have === undefined) missing += 1;
      else if (have.pattern !== want.cron || have.tz !== want.timezone) wrong += 1;
    }
    const result: BootResult = {
      tenants: fleet.tenants.length,
      scheduled,
      schedulers: schedulers.size,
      wrong,
      missing,
      extra: schedulers.size - (scheduled - missing),
      pendingJobs: pending.filter((job) => job.repeatJobKey?.startsWith('tenant.')).length,
      bootMs,
    };
    return { result, workers };
  } finally {
    await runs.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. and 3. Everyone due on the same minute

interface SlotResult {
  label: string;
  workers: number;
  tenants: number;
  done: number;
  missed: number;
  doubled: number;
  /** Completed run jobs of the slot seen in the runs queue's events (one per tenant when nothing doubled). */
  runJobs: number;
  drainMs: number;
  runsPerSecond: number;
  delays: number[];
  cpuMsPerRun: { workers: number; mongo: number; redis: number };
  stalled?: { status: string; attempts: number; code: string | undefined; firstFailureMs: number | undefined; doneAfterMs: number | undefined };
}

/** The next whole minute at least `leadMs` from now. */
const nextMinuteAfter = (leadMs: number): Date => new Date(Math.ceil((Date.now() + leadMs) / 60_000) * 60_000);

const STALLED_TENANT = 'scale-stalled';
/** How long moving one tenant's schedule took, at most so far (the next slot leaves time for all of them). */
let reconcileMsPerTenant = 3;
/** Tenants besides the stalled one in the stall phase: few enough that none of them waits for another's capacity. */
const STALL_TENANTS = 100;
const quietLogger = pino({ level: 'error' });

/** Adds the tenant whose SFTP target is `sshd` (its own server) to the fleet. */
async function addStalledTenant(fleet: Fleet, sshd: SftpServer): Promise<void> {
  await fleet.controlPlane.tenants.create({ id: STALLED_TENANT, displayName: 'Stalled SFTP server' });
  await fleet.controlPlane.settings.putRetention(
    STALLED_TENANT,
    {
      ...settingsOf(fleet.dropDir, FAR_CRON),
      target: {
        kind: 'sftp',
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKey: sealSecret(keyring, sshd.clientPrivateKey, secretContext(STALLED_TENANT, 'target.privateKey')),
        hostKeyFingerprint: sshd.hostKeyFingerprint,
        root: sshd.clientRoot,
      },
    },
    { actor: 'bench' },
  );
  await fleet.db.collection('checkpoints').insertOne({ _id: STALLED_TENANT as never, through: {}, head: null, activeRunId: null, updatedAt: new Date() });
}

/** Rewrites the stored schedules of `tenants` in one update (the settings store has no bulk method). */
async function setSchedules(fleet: Fleet, tenants: readonly string[], schedule: { cron?: string; paused: boolean }): Promise<void> {
  await fleet.db.collection('settings').updateMany(
    { kind: 'retention', tenantId: { $in: [...tenants] } },
    {
      $set: {
        ...(schedule.cron !== undefined ? { 'value.schedule.cron': schedule.cron } : {}),
        'value.schedule.timezone': 'UTC',
        'value.schedule.paused': schedule.paused,
      },
      $inc: { version: 1 },
    },
  );
}

/**
 * The phase's tenants due on the same coming minute, with the running `workers`: the stored schedules are moved to the
 * first whole minute that leaves time to reconcile (the other tenants paused), the checkpoints put a minute before
 * that slot's settled end, and the schedulers reconciled with the settings ({@link syncAllSchedules}, what every
 * worker runs each interval).
 */
async function slotPhase(fleet: Fleet, label: string, workers: BenchWorker[], tenants: readonly string[], stall?: SftpServer): Promise<SlotResult> {
  const everyone = stall ? [...tenants, STALLED_TENANT] : [...tenants];
  const others = fleet.tenants.filter((tenantId) => !tenants.includes(tenantId));
  const runs = new Queue<RunJobData>(QUEUE_NAMES.runs, { connection: redis, prefix: queuePrefixOfRun });
  const finalize = new Queue(QUEUE_NAMES.finalize, { connection: redis, prefix: queuePrefixOfRun });
  // Each run job's completion, from the queue's event stream: a slot that became two run jobs shows here.
  const runEvents = new QueueEvents(QUEUE_NAMES.runs, { connection: redis.duplicate(), prefix: queuePrefixOfRun });
  try {
    const slot = nextMinuteAfter(1_500 + fleet.tenants.length * reconcileMsPerTenant * 1.5);
    const cron = `${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
    const moveStarted = Date.now();
    await setSchedules(fleet, everyone, { cron, paused: false });
    if (others.length > 0) await setSchedules(fleet, others, { paused: true });
    await fleet.db
      .collection('checkpoints')
      .updateMany({}, { $set: { through: { contacts: new Date(slot.getTime() - SETTLE_LAG_MS - WINDOW_MS) }, activeRunId: null } });
    const moved = await syncAllSchedules(runs, () => loadTenantSettings(fleet.controlPlane, quietLogger));
    reconcileMsPerTenant = Math.max(reconcileMsPerTenant, (Date.now() - moveStarted) / fleet.tenants.length);
    const armed = (await runs.getJobSchedulers(0, -1)).filter((sch) => sch.next === slot.getTime()).length;
    const lead = slot.getTime() - Date.now();
    if (armed !== everyone.length || lead < 300) {
      throw new Error(
        `${label}: ${armed} of ${everyone.length} schedulers armed for ${slot.toISOString()} (${moved.updated.length + moved.created.length} moved, ${moved.failed.length} failed), ${seconds(lead)} before it; the machine is too busy, try again or with fewer tenants`,
      );
    }
    console.log(
      `${label}: ${workers.length} worker process${workers.length > 1 ? 'es' : ''}, ${armed} schedulers armed for ${slot.toISOString()}, ${seconds(lead)} to go`,
    );
    await runEvents.waitUntilReady();
    const runJobs = new Map<string, string[]>();
    runEvents.on('completed', ({ jobId, returnvalue }) => {
      const tenantId = /^repeat:tenant\.([^:]+):/.exec(jobId)?.[1] ?? jobId;
      const status = (typeof returnvalue === 'string' ? (JSON.parse(returnvalue) as { status?: string }) : (returnvalue as { status?: string })).status ?? '?';
      runJobs.set(tenantId, [...(runJobs.get(tenantId) ?? []), status]);
    });
    const finalizedBefore = await finalize.getCompletedCount();

    if (stall) {
      await sleep(Math.max(0, slot.getTime() - Date.now() - 2_000));
      stall.pause();
    }
    await sleep(Math.max(0, slot.getTime() - Date.now() - 300));
    const pids = [...workers.map((w) => w.child.pid), mongo.child.pid, redisPid];
    const cpuBefore = pids.map((pid) => cpuMicrosOf(pid));
    const expected = tenants.length;
    const deadline = slot.getTime() + Math.max(120_000, expected * 100);
    while ((await finalize.getCompletedCount()) - finalizedBefore < expected && Date.now() < deadline) await sleep(250);
    const cpu = pids.map((pid, i) => (cpuMicrosOf(pid) - (cpuBefore[i] ?? Number.NaN)) / 1000);
    const drainEnd = Date.now();

    let stalled: SlotResult['stalled'];
    if (stall) {
      const latest = async () =>
        (await fleet.controlPlane.runs.listByTenant(STALLED_TENANT, { limit: 1 })).find((r) => r.createdAt >= new Date(slot.getTime() - 1_000));
      // The server stays stopped until the stalled chunk has hit its timeout once (or for 40 s), then it resumes.
      const stopUntil = slot.getTime() + 40_000;
      let run = await latest();
      while ((run?.errors.length ?? 0) === 0 && Date.now() < stopUntil) {
        await sleep(250);
        run = await latest();
      }
      const firstFailureMs = run?.errors[0] ? run.errors[0].at.getTime() - slot.getTime() : undefined;
      stall.resume();
      const until = Date.now() + 60_000;
      while (run?.status !== 'done' && Date.now() < until) {
        await sleep(500);
        run = await latest();
      }
      stalled = {
        status: run?.status ?? 'not planned',
        attempts: (run?.errors.length ?? 0) + (run?.status === 'done' ? 1 : 0),
        code: run?.errors[0]?.code,
        firstFailureMs,
        doneAfterMs: run?.finishedAt ? run.finishedAt.getTime() - slot.getTime() : undefined,
      };
    } else {
      // Anything doubled would still be on its way: give it a moment to show.
      await sleep(2_000);
    }

    const docs = await fleet.db
      .collection<{ tenantId: string; status: string; trigger: string; createdAt: Date; finishedAt: Date | null }>('runs')
      .find({ createdAt: { $gte: new Date(slot.getTime() - 1_000) } }, { projection: { tenantId: 1, status: 1, trigger: 1, createdAt: 1, finishedAt: 1 } })
      .toArray();
    const byTenant = new Map<string, typeof docs>();
    for (const doc of docs) byTenant.set(doc.tenantId, [...(byTenant.get(doc.tenantId) ?? []), doc]);
    let missed = 0;
    let doubled = 0;
    const delays: number[] = [];
    for (const tenantId of tenants) {
      const own = byTenant.get(tenantId) ?? [];
      const done = own.filter((r) => r.status === 'done' && r.trigger === 'schedule');
      const jobs = runJobs.get(tenantId) ?? [];
      if (done.length === 0) missed += 1;
      if (own.length > 1 || jobs.length > 1) doubled += 1;
      for (const r of done) if (r.finishedAt) delays.push(r.finishedAt.getTime() - slot.getTime());
    }
    delays.sort((a, b) => a - b);
    const drainMs = delays.length === expected ? (delays.at(-1) ?? Number.NaN) : drainEnd - slot.getTime();
    const perRun = (ms: number | undefined) => (ms ?? Number.NaN) / Math.max(1, delays.length);
    return {
      label,
      workers: workers.length,
      tenants: tenants.length,
      done: delays.length,
      missed,
      doubled,
      runJobs: tenants.reduce((n, tenantId) => n + (runJobs.get(tenantId)?.length ?? 0), 0),
      drainMs,
      runsPerSecond: delays.length / (drainMs / 1000),
      delays,
      cpuMsPerRun: {
        workers: perRun(cpu.slice(0, workers.length).reduce((sum, ms) => sum + ms, 0)),
        mongo: perRun(cpu[workers.length]),
        redis: perRun(cpu[workers.length + 1]),
      },
      ...(stalled ? { stalled } : {}),
    };
  } finally {
    stall?.resume();
    await runEvents.close();
    await finalize.close();
    await runs.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------

const results: SlotResult[] = [];
let boot: BootResult | undefined;
const cpuScaling: number[] = [];
try {
  cpuScaling.push(await measureCpuScaling());
  console.log(`bench:scale with ${fmt(tenantCount)} tenants; MongoDB: ${mongo.info.description}; Redis: ${REDIS_URL}`);
  if (mongo.info.kind === 'wire')
    console.log('NOTE: the wire-compatible development server evaluates every command in JavaScript; set MONGODB_URL to measure against a real MongoDB.');
  const seedStarted = Date.now();
  const fleet = await seedFleet(tenantCount);
  console.log(`seed: ${fleet.tenants.length} tenants with settings and checkpoints in ${seconds(Date.now() - seedStarted)}`);
  let workers: BenchWorker[] = [];
  /** Stops or starts worker processes until `count` run. */
  const runWorkers = async (count: number): Promise<void> => {
    while (workers.length > count) await workers.pop()?.stop();
    if (workers.length === count) return;
    const started = await startWorkers(workerEnv(fleet, queuePrefixOfRun), count - workers.length);
    workers = [...workers, ...started.workers];
    console.log(`started ${started.workers.length} more worker process${started.workers.length > 1 ? 'es' : ''} in ${seconds(started.bootMs)}`);
  };
  if (phases.has('boot')) {
    const started = await bootPhase(fleet);
    boot = started.result;
    workers = started.workers;
    console.log(
      `boot: ${boot.schedulers} schedulers for ${boot.scheduled} scheduled tenants (${boot.missing} missing, ${boot.extra} extra, ${boot.wrong} wrong), ${boot.pendingJobs} next jobs, started in ${seconds(boot.bootMs)}`,
    );
  }
  for (const [label, count] of [
    ['one', 1],
    ['two', 2],
  ] as const) {
    if (!phases.has(label)) continue;
    await runWorkers(count);
    const result = await slotPhase(fleet, label, workers, fleet.tenants);
    results.push(result);
    console.log(`${label}: ${result.done}/${result.tenants} runs in ${seconds(result.drainMs)}: ${fmt(result.runsPerSecond, 1)} runs/s`);
  }
  if (phases.has('stall')) {
    await runWorkers(2);
    const sshd = await startSftpServer();
    undo.push(() => sshd.destroy());
    await addStalledTenant(fleet, sshd);
    const stalled = await slotPhase(fleet, 'stall', workers, fleet.tenants.slice(0, STALL_TENANTS), sshd);
    results.push(stalled);
    console.log(`stall: ${stalled.done}/${stalled.tenants} runs of the other tenants in ${seconds(stalled.drainMs)}`);
  }
  await Promise.all(workers.map((w) => w.stop()));
  cpuScaling.push(await measureCpuScaling());
} finally {
  await cleanUp();
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`\nmachine: ${availableParallelism()} cores (${cpu}), Node ${process.version}, load average at start ${loadAtStart}, at end ${load()}`);
console.log(`MongoDB: ${mongo.info.description}; Redis ${REDIS_URL} (shared with anything else on this machine)`);
console.log(
  `CPU scaling of this machine (two busy processes ÷ one, 2.0 on two idle cores): ${cpuScaling.map((r) => fmt(r, 2)).join(' before, ')} after the phases`,
);
console.log(
  `tenants: ${fmt(tenantCount)}, demo source (contacts, 60/h), local target, a window of ~${WINDOW_MS / 1000} s per run, WORKER_CONCURRENCY 4 (default)\n`,
);
if (boot) {
  const ok = boot.missing === 0 && boot.extra === 0 && boot.wrong === 0 && boot.pendingJobs === boot.scheduled;
  console.log('three worker processes started at the same moment:');
  console.log(
    `  ${boot.scheduled} scheduled tenants (${boot.tenants - boot.scheduled} paused) -> ${boot.schedulers} job schedulers, ${boot.missing} missing, ${boot.extra} extra, ${boot.wrong} with a wrong cron/time zone, ${boot.pendingJobs} next jobs: ${ok ? 'exactly one per tenant' : 'NOT one per tenant'}\n`,
  );
}
const cpuPerRun = (r: SlotResult) => r.cpuMsPerRun.workers + r.cpuMsPerRun.mongo + r.cpuMsPerRun.redis;
const header = [
  'phase',
  'workers',
  'runs done',
  'run jobs',
  'missed',
  'doubled',
  'drain',
  'runs/s',
  'delay p50',
  'p99',
  'max',
  'CPU ms/run: workers',
  'mongo',
  'redis',
  'cores busy',
];
const rows = results.map((r) => [
  r.label,
  String(r.workers),
  `${r.done}/${r.tenants}`,
  String(r.runJobs),
  String(r.missed),
  String(r.doubled),
  seconds(r.drainMs),
  fmt(r.runsPerSecond, 1),
  seconds(percentile(r.delays, 0.5)),
  seconds(percentile(r.delays, 0.99)),
  seconds(r.delays.at(-1) ?? Number.NaN),
  fmt(r.cpuMsPerRun.workers, 2),
  fmt(r.cpuMsPerRun.mongo, 2),
  fmt(r.cpuMsPerRun.redis, 2),
  fmt((cpuPerRun(r) * r.runsPerSecond) / 1000, 2),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));

const one = results.find((r) => r.label === 'one');
const two = results.find((r) => r.label === 'two');
const stall = results.find((r) => r.label === 'stall');
if (one && two) {
  const ratio = two.runsPerSecond / one.runsPerSecond;
  console.log(`\nruns/s two workers ÷ one worker: ${fmt(ratio, 2)} (goal ≥ 1.6 on two cores): ${ratio >= 1.6 ? 'met' : 'NOT met'}`);
  // What the CPU allows: the workers, MongoDB and Redis share this machine's cores.
  const ceiling = (availableParallelism() * 1000) / cpuPerRun(two);
  console.log(
    `  one worker process used CPU for ${fmt((one.cpuMsPerRun.workers * one.runsPerSecond) / 10)} % of the drain (threads included); with MongoDB and Redis on the same ${availableParallelism()} cores, ` +
      `${fmt(cpuPerRun(two), 1)} ms CPU per run allow at most ${fmt(ceiling, 1)} runs/s, a ratio of at most ${fmt(Math.min(two.workers / one.workers, ceiling / one.runsPerSecond), 2)} (with nothing else running)`,
  );
}
if (stall?.stalled) {
  const s = stall.stalled;
  const last = stall.delays.at(-1) ?? Number.NaN;
  console.log(
    `stalled SFTP server (SIGSTOP on its own sshd from 2 s before the slot): the ${stall.tenants} other tenants due with it were all done ${seconds(last)} after the slot ` +
      `(p50 ${seconds(percentile(stall.delays, 0.5))}); its own timeout is ${seconds(STALLED_TIMEOUT_MS)}: ${last <= STALLED_TIMEOUT_MS ? 'nobody waited for it' : 'NOT within'}`,
  );
  console.log(
    `  the stalled tenant's run: ${s.status}${s.code ? `; first attempt failed ${s.firstFailureMs !== undefined ? seconds(s.firstFailureMs) : '?'} after the slot with ${s.code}` : '; no attempt failed'}` +
      `, ${s.attempts} attempt(s)${s.doneAfterMs !== undefined ? `, done ${seconds(s.doneAfterMs)} after the slot once the server resumed` : ''}`,
  );
}
const warnings = new Map<string, number>();
for (const w of everyWorker) for (const [msg, n] of w.warnings) warnings.set(msg, (warnings.get(msg) ?? 0) + n);
if (warnings.size > 0) {
  console.log('\nworker warnings and errors over the whole run (by message):');
  for (const [msg, n] of warnings) console.log(`  ${n} x ${msg}`);
}
console.log(`\ntotal time ${seconds(Date.now() - startedAt)}`);
const failed = results.some((r) => r.missed > 0 || r.doubled > 0) || (boot !== undefined && (boot.missing > 0 || boot.extra > 0 || boot.wrong > 0));
process.exit(failed ? 1 : 0);
