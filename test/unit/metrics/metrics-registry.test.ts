import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../src/metrics/metrics-registry.js';

describe('MetricsRegistry', () => {
  it('writes HELP and TYPE lines, then samples, ending with a line feed', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'app_jobs_total', help: 'Jobs done.\nSecond line with \\.' });
    counter.inc();
    counter.inc(undefined, 2.5);
    registry.gauge({ name: 'app_temperature', help: 'Degrees.' }).set(undefined, -1.5);
    expect(registry.render()).toBe(
      [
        '# HELP app_jobs_total Jobs done.\\nSecond line with \\\\.',
        '# TYPE app_jobs_total counter',
        'app_jobs_total 3.5',
        '# HELP app_temperature Degrees.',
        '# TYPE app_temperature gauge',
        'app_temperature -1.5',
        '',
      ].join('\n'),
    );
  });

  it('writes an unlabelled counter as 0 before any increment, and a labelled one with no series as HELP/TYPE only', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'a_total', help: 'A.' });
    registry.counter({ name: 'b_total', help: 'B.', labelNames: ['kind'] });
    expect(registry.render()).toBe('# HELP a_total A.\n# TYPE a_total counter\na_total 0\n# HELP b_total B.\n# TYPE b_total counter\n');
  });

  it('writes labels in declared order whatever order the caller gives, and escapes their values', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'req_total', help: 'R.', labelNames: ['method', 'route', 'status'] });
    counter.inc({ status: '200', route: '/a "quoted"\\path\nnext', method: 'GET' });
    counter.inc({ route: '/a "quoted"\\path\nnext', method: 'GET', status: 200 });
    expect(registry.render()).toContain('req_total{method="GET",route="/a \\"quoted\\"\\\\path\\nnext",status="200"} 2\n');
  });

  it('orders series by label values, so the output is stable', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'G.', labelNames: ['k'] });
    gauge.set({ k: 'b' }, 2);
    gauge.set({ k: 'a' }, 1);
    const lines = registry
      .render()
      .split('\n')
      .filter((line) => line.startsWith('g{'));
    expect(lines).toEqual(['g{k="a"} 1', 'g{k="b"} 2']);
  });

  it('writes cumulative histogram buckets with +Inf, _sum and _count', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: 'dur_seconds', help: 'D.', labelNames: ['route'], buckets: [0.1, 0.5, 1] });
    for (const value of [0.05, 0.1, 0.3, 0.7, 2, Number.NaN]) histogram.observe({ route: '/x' }, value);
    expect(registry.render()).toBe(
      [
        '# HELP dur_seconds D.',
        '# TYPE dur_seconds histogram',
        'dur_seconds_bucket{route="/x",le="0.1"} 2',
        'dur_seconds_bucket{route="/x",le="0.5"} 3',
        'dur_seconds_bucket{route="/x",le="1"} 4',
        'dur_seconds_bucket{route="/x",le="+Inf"} 5',
        'dur_seconds_sum{route="/x"} 3.15',
        'dur_seconds_count{route="/x"} 5',
        '',
      ].join('\n'),
    );
  });

  it('uses the default duration buckets when none are given', () => {
    const registry = new MetricsRegistry();
    registry.histogram({ name: 'h_seconds', help: 'H.' }).observe(undefined, 0.003);
    const buckets = registry
      .render()
      .split('\n')
      .filter((line) => line.startsWith('h_seconds_bucket'));
    expect(buckets.map((line) => /le="([^"]+)"/.exec(line)?.[1])).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    expect(buckets.every((line) => line.endsWith(' 1'))).toBe(true);
  });

  it('bounds the number of series: past maxSeries, new combinations go to the overflow series and totals stay right', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'c_total', help: 'C.', labelNames: ['route', 'status'], maxSeries: 2 });
    for (let i = 0; i < 50; i += 1) counter.inc({ route: `/r${i}`, status: '200' });
    counter.inc({ route: '/r0', status: '200' });
    const samples = registry
      .render()
      .split('\n')
      .filter((line) => line.startsWith('c_total{'));
    expect(samples).toEqual(['c_total{route="/r0",status="200"} 2', 'c_total{route="/r1",status="200"} 1', 'c_total{route="overflow",status="overflow"} 48']);
  });

  it.each([
    ['a counter named without _total', (r: MetricsRegistry) => r.counter({ name: 'requests', help: 'x' })],
    ['a histogram with an le label', (r: MetricsRegistry) => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] })],
    ['unsorted buckets', (r: MetricsRegistry) => r.histogram({ name: 'h', help: 'x', buckets: [1, 0.5] })],
    ['an infinite bucket', (r: MetricsRegistry) => r.histogram({ name: 'h', help: 'x', buckets: [1, Infinity] })],
    ['a label declared twice', (r: MetricsRegistry) => r.gauge({ name: 'g', help: 'x', labelNames: ['a', 'a'] })],
    ['maxSeries of 0', (r: MetricsRegistry) => r.gauge({ name: 'g', help: 'x', maxSeries: 0 })],
  ])('refuses %s', (_name, register) => {
    expect(() => register(new MetricsRegistry())).toThrow();
  });

  it('refuses a name registered twice or clashing with a histogram series', () => {
    const registry = new MetricsRegistry();
    registry.histogram({ name: 'h', help: 'x' });
    expect(() => registry.gauge({ name: 'h', help: 'x' })).toThrow(/registered twice/);
    expect(() => registry.gauge({ name: 'h_count', help: 'x' })).toThrow(/registered twice/);
  });

  it('refuses unknown or missing labels, and a counter going down', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter<'a'>({ name: 'x_total', help: 'x', labelNames: ['a'] });
    expect(() => counter.inc({ a: '1', b: '2' } as never)).toThrow(/no label "b"/);
    expect(() => counter.inc({} as never)).toThrow(/label "a"/);
    expect(() => counter.inc({ a: '1' }, -1)).toThrow(RangeError);
  });

  it('runs collectors at scrape, and a failing collector does not fail the scrape', async () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'x' });
    let calls = 0;
    registry.addCollector(() => {
      calls += 1;
      gauge.set(undefined, calls);
    });
    registry.addCollector(async () => {
      throw new Error('redis is down');
    });
    expect(await registry.scrape()).toContain('\ng 1\n');
    expect(await registry.scrape()).toContain('\ng 2\n');
  });
});
