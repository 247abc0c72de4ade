/**
 * @module control/metrics-registry
 * Counters and histograms that a long-lived part (the coordinator) keeps for Prometheus, and the
 * writer of text exposition format 0.0.4 for any metric family (client_golang's CounterVec and
 * HistogramVec, cut down to what instructue needs: no summaries, no exemplars, no `_created`).
 *
 * Counters only go up and histograms only gain observations, so a scraper that misses a scrape
 * loses nothing: `rate()` over the next two scrapes still sees every step. A series exists from
 * its first increment (a counter without labels from the start, at 0); a family with no series
 * yet is still announced by its HELP and TYPE lines, so every name the exporter can emit is
 * visible in any scrape.
 */

export type Labels = Readonly<Record<string, string>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One line of a family: its full name (`_bucket`, `_sum`, `_count` for histograms), labels, value. */
export interface MetricSample {
  name: string;
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: MetricSample[];
}

/** Histogram upper bounds in seconds, 1 ms … 10 min: a tiny CPU step to a checkpoint of the paper preset. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Series of one metric, keyed by the values of its label names in declaration order. */
class SeriesTable<T> {
  private readonly rows = new Map<string, { labels: Labels; data: T }>();

  constructor(private readonly metric: string, private readonly labelNames: readonly string[], private readonly init: () => T) {
    if (!NAME.test(metric)) throw new RangeError(`metric name "${metric}" is not a Prometheus name`);
    for (const l of labelNames) if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new RangeError(`label name "${l}" of ${metric} is reserved or invalid`);
    if (labelNames.length === 0) this.get({});
  }

  get(labels: Labels): T {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || given.some((k) => !this.labelNames.includes(k))) {
      throw new RangeError(`${this.metric} takes the labels [${this.labelNames.join(', ')}], got [${given.join(', ')}]`);
    }
    const values = this.labelNames.map((n) => labels[n]!);
    const key = JSON.stringify(values);
    let row = this.rows.get(key);
    if (!row) {
      row = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!])), data: this.init() };
      this.rows.set(key, row);
    }
    return row.data;
  }

  entries(): Array<{ labels: Labels; data: T }> {
    return [...this.rows.values()];
  }
}

/** A monotonically increasing count; its name ends in `_total`. */
export class Counter {
  private readonly series: SeriesTable<{ value: number }>;

  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    if (!name.endsWith('_total')) throw new RangeError(`counter ${name} must end in _total (Prometheus naming)`);
    this.series = new SeriesTable(name, labelNames, () => ({ value: 0 }));
  }

  /** Adds `by` (≥ 0; a negative or non-finite amount is a bug of the caller). */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new RangeError(`${this.name}: counters only go up, got ${by}`);
    this.series.get(labels).value += by;
  }

  value(labels: Labels = {}): number {
    return this.series.get(labels).value;
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: 'counter', samples: this.series.entries().map(({ labels, data }) => ({ name: this.name, labels, value: data.value })) };
  }
}

/** Observations counted into cumulative buckets, with their sum and count (`_bucket`, `_sum`, `_count`). */
export class Histogram {
  private readonly series: SeriesTable<{ counts: number[]; sum: number; count: number }>;

  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[] = DURATION_BUCKETS_SECONDS, labelNames: readonly string[] = []) {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new RangeError(`${name}: buckets must be finite and increasing`);
    }
    this.series = new SeriesTable(name, labelNames, () => ({ counts: buckets.map(() => 0), sum: 0, count: 0 }));
  }

  /** Counts one observation; a non-finite value (a timing that was never taken) is skipped. */
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.series.get(labels);
    const at = this.buckets.findIndex((b) => value <= b);
    if (at >= 0) s.counts[at]! += 1;
    s.sum += value;
    s.count += 1;
  }

  family(): MetricFamily {
    const samples: MetricSample[] = [];
    for (const { labels, data } of this.series.entries()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += data.counts[i]!;
        samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: formatValue(b) }, value: cumulative });
      });
      samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: data.count });
      samples.push({ name: `${this.name}_sum`, labels, value: data.sum }, { name: `${this.name}_count`, labels, value: data.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** The counters and histograms of one part, in the order they were made. */
export class MetricsRegistry {
  private readonly metrics: Array<Counter | Histogram> = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DURATION_BUCKETS_SECONDS): Histogram {
    return this.add(new Histogram(name, help, buckets, labelNames));
  }

  families(): MetricFamily[] {
    return this.metrics.map((m) => m.family());
  }

  private add<M extends Counter | Histogram>(metric: M): M {
    if (this.metrics.some((m) => m.name === metric.name)) throw new RangeError(`metric ${metric.name} is registered twice`);
    this.metrics.push(metric);
    return metric;
  }
}

/** Text exposition format 0.0.4: HELP and TYPE once per family, then its samples. */
export function formatFamilies(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return out.join('\n') + '\n';
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Prometheus spells the non-finite values `NaN`, `+Inf` and `-Inf`. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
