import { escapeHelp, formatLabels, formatSampleValue } from './exposition-format.js';
import { LabelledSeries, type LabelValues, type MetricOptions } from './labelled-series.js';

/** Prometheus' default buckets, in seconds: suited to request durations. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Options of a {@link Histogram}. */
export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending and finite; `+Inf` is added. Default {@link DEFAULT_DURATION_BUCKETS}. */
  buckets?: readonly number[];
}

interface HistogramState {
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Observations counted into buckets (durations, sizes), written as cumulative `_bucket{le=…}` series with `_sum`
 * and `_count`. The label `le` is reserved.
 *
 * @example
 * const duration = registry.histogram({ name: 'app_request_duration_seconds', help: 'Request durations.', labelNames: ['route'] });
 * duration.observe({ route: '/x' }, 0.042);
 */
export class Histogram<L extends string = never> extends LabelledSeries<L, HistogramState> {
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions<L>) {
    super(options, ['le']);
    const buckets = [...(options.buckets ?? DEFAULT_DURATION_BUCKETS)];
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))) {
      throw new RangeError(`histogram ${options.name}: buckets must be finite numbers in strictly ascending order`);
    }
    this.buckets = buckets;
  }

  protected initialState(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  /** Records one observation; `NaN` is ignored. */
  observe(labels: LabelValues<L> | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const state = this.seriesOf(labels).state;
    const index = this.buckets.findIndex((bound) => value <= bound);
    const slot = index === -1 ? this.buckets.length : index;
    state.counts[slot] = (state.counts[slot] ?? 0) + 1;
    state.sum += value;
    state.count += 1;
  }

  /** The metric family in the text format. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const s of this.allSeries()) {
      const pairs = this.pairsOf(s);
      let cumulative = 0;
      for (const [index, bound] of [...this.buckets, Infinity].entries()) {
        cumulative += s.state.counts[index] ?? 0;
        lines.push(`${this.name}_bucket${formatLabels([...pairs, ['le', formatSampleValue(bound)]])} ${cumulative}`);
      }
      lines.push(`${this.name}_sum${formatLabels(pairs)} ${formatSampleValue(s.state.sum)}`);
      lines.push(`${this.name}_count${formatLabels(pairs)} ${s.state.count}`);
    }
    return lines.join('\n');
  }
}
