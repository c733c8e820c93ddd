/**
 * The MongoDB of a benchmark in a child process of its own (`portal-mongo-server.ts`), so the server's work never
 * shares the measured process's event loop and its CPU time can be read apart, and the CPU time any process has used.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { BenchMongoInfo } from './portal-mongo-server.js';

export type MongoChild = ChildProcessByStdio<Writable, Readable, null>;

const benchDir = new URL('.', import.meta.url).pathname;

/**
 * Starts the MongoDB child with a heap of up to `maxHeapMb` (the wire-compatible server keeps everything in memory)
 * and reads the line it prints once the server answers. With `BENCH_CPU_PROF_DIR` set, the child writes a V8 CPU
 * profile there when it stops (the wire-compatible server's own work).
 */
export async function startMongoChild(maxHeapMb: number): Promise<{ info: BenchMongoInfo; child: MongoChild }> {
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [`--max-old-space-size=${maxHeapMb}`, ...profile, '--import', 'tsx', `${benchDir}portal-mongo-server.ts`], {
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
