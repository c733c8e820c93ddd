/**
 * Worker processes of `npm run bench:scale`: real worker processes (`worker/main.ts`, the entry `npm run worker`
 * starts), and the CPU the machine can give them (the MongoDB child is in `mongo-child.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const workerEntry = new URL('../worker/main.ts', import.meta.url).pathname;

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
