import type { Gauge } from './gauge.js';

/** The job states counted per queue: a fixed list, so the `state` label stays bounded. */
export const COUNTED_JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/** A queue whose jobs are counted: BullMQ's `Queue` fits. */
export interface CountedQueue {
  /** The queue's name (a fixed name such as `runs`, never a tenant's). */
  readonly name: string;
  getJobCounts(...types: (typeof COUNTED_JOB_STATES)[number][]): Promise<Record<string, number>>;
}

/** Options of {@link QueueJobCounts}. */
export interface QueueJobCountsOptions {
  /** How long one queue's counts may take at a scrape before it is reported unreadable. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Reads each queue's job counts at scrape time into `jobs{queue,state}` and `readable{queue}` (1 when the counts came
 * within the timeout, else 0 and that queue's counts are left out). A slow Redis cannot hang a scrape, and while one
 * queue's read is still pending no second read of it is started, so slow scrapes do not pile commands up.
 *
 * @example
 * const counts = new QueueJobCounts([queues.runs], jobsGauge, readableGauge);
 * registry.addCollector(() => counts.collect());
 */
export class QueueJobCounts {
  private readonly pending = new Map<string, Promise<Record<string, number>>>();
  private readonly timeoutMs: number;

  constructor(
    private readonly queues: readonly CountedQueue[],
    private readonly jobs: Gauge<'queue' | 'state'>,
    private readonly readable: Gauge<'queue'>,
    options: QueueJobCountsOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  /** Reads every queue at once and sets the gauges. */
  async collect(): Promise<void> {
    const results = await Promise.all(this.queues.map(async (queue) => ({ queue, counts: await this.read(queue) })));
    this.jobs.reset();
    for (const { queue, counts } of results) {
      this.readable.set({ queue: queue.name }, counts === undefined ? 0 : 1);
      if (counts === undefined) continue;
      for (const state of COUNTED_JOB_STATES) {
        const value = counts[state];
        this.jobs.set({ queue: queue.name, state }, typeof value === 'number' && Number.isFinite(value) ? value : 0);
      }
    }
  }

  private async read(queue: CountedQueue): Promise<Record<string, number> | undefined> {
    let reading = this.pending.get(queue.name);
    if (reading === undefined) {
      reading = queue.getJobCounts(...COUNTED_JOB_STATES);
      this.pending.set(queue.name, reading);
      const forget = () => {
        if (this.pending.get(queue.name) === reading) this.pending.delete(queue.name);
      };
      reading.then(forget, forget);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([reading.catch(() => undefined), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
