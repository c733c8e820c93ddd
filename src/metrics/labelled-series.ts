import { assertLabelName, assertMetricName } from './exposition-format.js';

/** Label values of one observation, by label name; every declared label must be given, and no other. */
export type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** Options every metric type shares. */
export interface MetricOptions<L extends string> {
  /** Metric name, e.g. `retention_http_requests_total`. */
  name: string;
  /** One line for `# HELP`. */
  help: string;
  /** Label names, in the order they are written. Default: none. */
  labelNames?: readonly L[];
  /**
   * Most label combinations kept (default 500). A new combination past the limit is recorded under one more series
   * whose every label is `"overflow"`, so totals stay right and the number of series stays bounded whatever callers
   * pass. An unlabelled metric has one series.
   */
  maxSeries?: number;
}

/** Label value of the series that takes observations past `maxSeries`. */
export const OVERFLOW_LABEL_VALUE = 'overflow';

/** One series: its label values in declared order and its state. */
export interface Series<S> {
  labels: readonly string[];
  state: S;
}

/**
 * The label handling every metric type shares: validation of names, label values in declared order, and the bound on
 * the number of series.
 */
export abstract class LabelledSeries<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  private readonly maxSeries: number;
  private readonly series = new Map<string, Series<S>>();

  protected constructor(options: MetricOptions<L>, reservedLabels: readonly string[] = []) {
    assertMetricName(options.name);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) assertLabelName(label, reservedLabels);
    if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`metric ${options.name} declares a label twice`);
    const maxSeries = options.maxSeries ?? 500;
    if (!Number.isInteger(maxSeries) || maxSeries < 1) throw new RangeError(`metric ${options.name}: maxSeries must be a whole number of at least 1`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...labelNames];
    this.maxSeries = maxSeries;
  }

  /** The state a new series starts with. */
  protected abstract initialState(): S;

  /** The series of these label values, created when new (or the overflow series past `maxSeries`). */
  protected seriesOf(values: LabelValues<L> | undefined): Series<S> {
    const labels = this.labelValuesOf(values);
    const key = labels.join('\u0000');
    const existing = this.series.get(key);
    if (existing !== undefined) return existing;
    const overflowLabels = this.labelNames.map(() => OVERFLOW_LABEL_VALUE);
    const overflowKey = overflowLabels.join('\u0000');
    const kept = this.series.size - (this.series.has(overflowKey) ? 1 : 0);
    const chosen = kept >= this.maxSeries ? overflowLabels : labels;
    const chosenKey = chosen.join('\u0000');
    const found = this.series.get(chosenKey);
    if (found !== undefined) return found;
    const created: Series<S> = { labels: chosen, state: this.initialState() };
    this.series.set(chosenKey, created);
    return created;
  }

  /** Every series, ordered by label values (stable output). */
  protected allSeries(): Series<S>[] {
    return [...this.series.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  }

  /** Forgets every series (e.g. gauges rebuilt at each scrape). */
  reset(): void {
    this.series.clear();
  }

  /** Label name/value pairs of a series, in declared order. */
  protected pairsOf(series: Series<S>): [string, string][] {
    return this.labelNames.map((name, index) => [name, series.labels[index] ?? '']);
  }

  private labelValuesOf(values: LabelValues<L> | undefined): string[] {
    const given = values ?? ({} as LabelValues<L>);
    const unknown = Object.keys(given).filter((key) => !(this.labelNames as readonly string[]).includes(key));
    if (unknown.length > 0) throw new TypeError(`metric ${this.name} has no label ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
    return this.labelNames.map((name) => {
      const value: unknown = given[name];
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value !== 'string') throw new TypeError(`metric ${this.name} needs a string value for label "${name}"`);
      return value;
    });
  }
}
