import { escapeHelp, formatLabels, formatSampleValue } from './exposition-format.js';
import { LabelledSeries, type LabelValues, type MetricOptions } from './labelled-series.js';

/**
 * A value that only goes up (requests served, errors). Its name ends in `_total`.
 *
 * @example
 * const requests = registry.counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['method'] });
 * requests.inc({ method: 'GET' });
 */
export class Counter<L extends string = never> extends LabelledSeries<L, { value: number }> {
  constructor(options: MetricOptions<L>) {
    super(options);
    if (!options.name.endsWith('_total')) throw new TypeError(`counter ${options.name}: a counter's name ends in "_total"`);
  }

  protected initialState(): { value: number } {
    return { value: 0 };
  }

  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels?: LabelValues<L>, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`counter ${this.name} can only go up by a finite amount of at least 0`);
    this.seriesOf(labels).state.value += by;
  }

  /** The current value of the series of `labels` (0 when it has none yet). */
  get(labels?: LabelValues<L>): number {
    return this.seriesOf(labels).state.value;
  }

  /** The metric family in the text format. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`];
    const series = this.allSeries();
    if (series.length === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    for (const s of series) lines.push(`${this.name}${formatLabels(this.pairsOf(s))} ${formatSampleValue(s.state.value)}`);
    return lines.join('\n');
  }
}
