import { Counter } from './counter.js';
import { Gauge } from './gauge.js';
import { Histogram, type HistogramOptions } from './histogram.js';
import type { MetricOptions } from './labelled-series.js';

/** Something the registry writes: a metric family. */
interface Rendered {
  readonly name: string;
  render(): string;
}

/** Work done before each scrape (reading queue counts, process figures); it sets gauges, and a failure of one does not fail the scrape. */
export type Collector = () => void | Promise<void>;

/**
 * The metrics of one process, written in the Prometheus text exposition format (0.0.4). Names are unique; metrics
 * are written in the order they were registered.
 *
 * @example
 * const registry = new MetricsRegistry();
 * const served = registry.counter({ name: 'app_requests_total', help: 'Requests served.', labelNames: ['status'] });
 * served.inc({ status: '200' });
 * res.type(EXPOSITION_CONTENT_TYPE).send(await registry.scrape());
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Rendered>();
  private readonly collectors: Collector[] = [];

  /** Registers a {@link Counter}. */
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.add(new Counter<L>(options));
  }

  /** Registers a {@link Gauge}. */
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(options));
  }

  /** Registers a {@link Histogram}. */
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.add(new Histogram<L>(options));
  }

  /** Adds work to run before each scrape. */
  addCollector(collector: Collector): void {
    this.collectors.push(collector);
  }

  /** Runs the collectors (all at once; a failing one leaves its gauges as they were), then writes every metric. */
  async scrape(): Promise<string> {
    await Promise.allSettled(this.collectors.map(async (collect) => collect()));
    return this.render();
  }

  /** Every metric in the text format, ending with a line feed, without running the collectors. */
  render(): string {
    return `${[...this.metrics.values()].map((metric) => metric.render()).join('\n')}\n`;
  }

  private add<M extends Rendered>(metric: M): M {
    const clash = [...this.metrics.keys()].find(
      (name) =>
        [name, `${name}_bucket`, `${name}_sum`, `${name}_count`].includes(metric.name) ||
        [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`].includes(name),
    );
    if (this.metrics.has(metric.name) || clash !== undefined)
      throw new TypeError(`metric ${metric.name} is registered twice (or clashes with ${clash ?? metric.name})`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}
