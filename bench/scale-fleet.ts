/**
 * Processes of `npm run bench:scale`: real worker processes (`worker/main.ts`, the entry `npm run worker` starts),
 * the MongoDB child (`portal-mongo-server.ts`), and the CPU time any of them, or Redis, has used.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { BenchMongoInfo } from './portal-mongo-server.js';

const benchDir = new URL('.', import.meta.url).pathname;
const workerEntry = new URL('../worker/main.ts', import.meta.url).pathname;

/** CPU time (user + system) a process has used so far, in microseconds, from `/proc/<pid>/stat`; NaN once it is gone. */
export function cpuMicrosOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s, counted after the command in parentheses.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** A worker process of the benchmark. */
export interface BenchWorker {
  child: ChildProcess;
  /** Resolves once the worker logged "worker started" (its boot reconciliation is done), with the time it took. */
  ready: Promise<number>;
  /** Log lines of level warn and above (pino levels 40+), by message, for the report. */
  warnings: Map<string, number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node --import tsx worker/main.ts` with `env` (the production composition root, configured through the
 * environment like `npm run worker`). Its JSON log is read for the start line and for warnings; nothing else of it is
 * kept. With `BENCH_CPU_PROF_DIR` set, each worker writes a V8 CPU profile there when it stops.
 */
export function startWorker(env: NodeJS.ProcessEnv): BenchWorker {
  const started = Date.now();
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', workerEntry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const warnings = new Map<string, number>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const ready = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: { level?: number; msg?: string };
      try {
        entry = JSON.parse(line) as { level?: number; msg?: string };
      } catch {
        return;
      }
      if (entry.msg === 'worker started') resolve(Date.now() - started);
      if ((entry.level ?? 0) >= 40) warnings.set(entry.msg ?? '?', (warnings.get(entry.msg ?? '?') ?? 0) + 1);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`worker process ${String(child.pid)} exited before it started (${String(code ?? signal)}): ${stderr.trim() || 'no stderr'}`)),
    );
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    warnings,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type MongoChild = ChildProcessByStdio<Writable, Readable, null>;

/** Starts `portal-mongo-server.ts` in a child process (its CPU apart from the workers') and reads its line. */
export async function startMongoChild(): Promise<{ info: BenchMongoInfo; child: MongoChild }> {
  const child = spawn(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', `${benchDir}portal-mongo-server.ts`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
  if (line === undefined) throw new Error('the MongoDB child process exited before it answered');
  return { info: JSON.parse(line) as BenchMongoInfo, child };
}

/** Closes the MongoDB child's stdin (it stops then) and waits for it, killing it after 10 s. */
export async function stopMongoChild(child: MongoChild): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A busy loop for `ms` that prints how many rounds it did. */
const SPIN =
  'const end = Date.now() + Number(process.argv[1]); let rounds = 0; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e4; i++) x += Math.sqrt(i); rounds += 1; } console.log(rounds, x > 0 ? "" : "-");';

async function spinRounds(processes: number, ms: number): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: processes }, async () => {
      const child = spawn(process.execPath, ['-e', SPIN, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await once(child, 'exit');
      return Number.parseInt(out, 10);
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

/**
 * What the machine gives two busy processes right now compared to one (2.0 on two idle cores; less when other work
 * shares them): the ceiling of any two-worker ratio measured at the same time.
 */
export async function measureCpuScaling(ms = 1_500): Promise<number> {
  const one = await spinRounds(1, ms);
  const two = await spinRounds(2, ms);
  return two / one;
}
