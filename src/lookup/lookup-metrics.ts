/**
 * The lookup's Prometheus metrics, registered in the service's registry when the lookup is on.
 * The worker thread counts; at scrape time one stats request (shared by every metric of the
 * scrape) brings its counters over, and the metrics mirror them — as the service's other metrics
 * mirror the stages' stats objects.
 */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { LookupServiceStats } from './lookup-service';
import type { WorkerStats } from './protocol';

export const LOOKUP_METRIC_NAMES = [
  'qbl_lookups_total',
  'qbl_lookup_requests_rejected_total',
  'qbl_lookup_duration_seconds',
  'qbl_lookup_tracked_numbers',
  'qbl_lookup_tracked_pairs',
  'qbl_lookup_blocklist_entries',
  'qbl_lookup_evictions_total',
  'qbl_lookup_up',
  'qbl_lookup_figures_age_seconds',
  'qbl_lookup_poll_failures_total',
] as const;

export type LookupMetricName = (typeof LOOKUP_METRIC_NAMES)[number];

export interface LookupMetricsSource {
  workerStats(): Promise<WorkerStats | undefined>;
  stats(): LookupServiceStats;
}

/** Scrapes within this long share one stats answer from the worker. */
const SHARE_MS = 250;

/** A histogram whose buckets are the worker's: prom-client's Histogram can only observe, not be set. */
class MirroredHistogram {
  readonly type = 'histogram';
  constructor(readonly name: LookupMetricName, readonly help: string, private readonly read: () => Promise<WorkerStats | undefined>) {}

  async get() {
    const latency = (await this.read())?.latency;
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    (latency?.boundsS ?? []).forEach((bound, i) => {
      cumulative += latency!.counts[i] ?? 0;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: bound }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: latency?.count ?? 0 });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: latency?.sumS ?? 0 });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: latency?.count ?? 0 });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

function mirror(counter: Counter<string>, labelNames: readonly string[], values: Readonly<Record<string, number>>, split: (key: string) => string[]): void {
  counter.reset();
  for (const [key, value] of Object.entries(values)) {
    const parts = split(key);
    counter.inc(Object.fromEntries(labelNames.map((name, i) => [name, parts[i] ?? ''])), value);
  }
}

export function registerLookupMetrics(registry: Registry, source: LookupMetricsSource): void {
  const registers = [registry];
  let shared: { atMs: number; stats: Promise<WorkerStats | undefined> } | undefined;
  const workerStats = (): Promise<WorkerStats | undefined> => {
    const now = Date.now();
    if (shared === undefined || now - shared.atMs > SHARE_MS) shared = { atMs: now, stats: source.workerStats() };
    return shared.stats;
  };
  const gauge = (name: LookupMetricName, help: string, read: (stats: WorkerStats | undefined) => number) =>
    new Gauge({ name, help, registers, async collect() { this.set(read(await workerStats())); } });

  new Counter({
    name: 'qbl_lookups_total' satisfies LookupMetricName,
    help: 'Lookups answered, by verdict and by the reasons behind it (joined with commas; none for a plain allow).',
    labelNames: ['verdict', 'reasons'],
    registers,
    async collect() { mirror(this, ['verdict', 'reasons'], (await workerStats())?.lookups ?? {}, (key) => key.split('|')); },
  });
  new Counter({
    name: 'qbl_lookup_requests_rejected_total' satisfies LookupMetricName,
    help: 'Requests on the lookup listener answered with an error, by HTTP status (unknown path, bad method, malformed number or HTTP).',
    labelNames: ['code'],
    registers,
    async collect() { mirror(this, ['code'], (await workerStats())?.rejected ?? {}, (key) => [key]); },
  });
  new Counter({
    name: 'qbl_lookup_evictions_total' satisfies LookupMetricName,
    help: 'Tracked numbers or (caller, prefix) pairs dropped because the table was full (QBL_LOOKUP_MAX_NUMBERS / QBL_LOOKUP_MAX_PAIRS).',
    labelNames: ['table'],
    registers,
    async collect() {
      const state = (await workerStats())?.state;
      mirror(this, ['table'], { numbers: state?.evictedNumbers ?? 0, pairs: state?.evictedPairs ?? 0 }, (key) => [key]);
    },
  });
  registry.registerMetric(new MirroredHistogram('qbl_lookup_duration_seconds',
    'Time to answer one request on the lookup listener, inside the lookup thread.', workerStats) as unknown as Metric<string>);
  gauge('qbl_lookup_tracked_numbers', 'Destination numbers whose figures are held in memory.', (s) => s?.state.numbers ?? 0);
  gauge('qbl_lookup_tracked_pairs', '(caller, destination prefix) pairs held for the burst rule.', (s) => s?.state.pairs ?? 0);
  gauge('qbl_lookup_blocklist_entries', 'Block-list entries held (numbers and prefixes, expired ones until the next sweep).', (s) => s?.state.blockEntries ?? 0);
  new Gauge({
    name: 'qbl_lookup_up' satisfies LookupMetricName,
    help: '1 while the lookup listener answers lookups (0 while its figures are rebuilt at start, or if it stopped).',
    registers,
    collect() { this.set(source.stats().answering ? 1 : 0); },
  });
  new Gauge({
    name: 'qbl_lookup_figures_age_seconds' satisfies LookupMetricName,
    help: 'With a shared store: seconds since the figures last caught up with every instance\'s CDRs (0 with SQLite).',
    registers,
    collect() { this.set(source.stats().figuresAgeS); },
  });
  new Counter({
    name: 'qbl_lookup_poll_failures_total' satisfies LookupMetricName,
    help: 'Polls of the store (block list, shared figures) that failed; the lookup answered from what it held.',
    registers,
    collect() {
      this.reset();
      const failures = source.stats().pollFailures;
      if (failures > 0) this.inc(failures);
    },
  });
}
