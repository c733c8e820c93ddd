import { escapeHelp, formatLabels, formatSampleValue } from './exposition-format.js';
import { LabelledSeries, type LabelValues, type MetricOptions } from './labelled-series.js';

/**
 * A value that goes up and down (memory in use, jobs waiting), usually set when scraped.
 *
 * @example
 * const waiting = registry.gauge({ name: 'app_jobs', help: 'Jobs by state.', labelNames: ['state'] });
 * waiting.set({ state: 'waiting' }, 3);
 */
export class Gauge<L extends string = never> extends LabelledSeries<L, { value: number }> {
  constructor(options: MetricOptions<L>) {
    super(options);
  }

  protected initialState(): { value: number } {
    return { value: 0 };
  }

  /** Sets the series of `labels` to `value`. */
  set(labels: LabelValues<L> | undefined, value: number): void {
    this.seriesOf(labels).state.value = value;
  }

  /** Adds `by` (default 1; negative subtracts). */
  inc(labels?: LabelValues<L>, by = 1): void {
    this.seriesOf(labels).state.value += by;
  }

  /** The current value of the series of `labels` (0 when it has none yet). */
  get(labels?: LabelValues<L>): number {
    return this.seriesOf(labels).state.value;
  }

  /** The metric family in the text format (only `# HELP`/`# TYPE` while it has no series). */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`];
    for (const s of this.allSeries()) lines.push(`${this.name}${formatLabels(this.pairsOf(s))} ${formatSampleValue(s.state.value)}`);
    return lines.join('\n');
  }
}
