/**
 * Prometheus metrics for one service, in its own Registry (never the global one, so tests can run
 * several services in one process). The metrics are told what to count: at scrape time they call
 * `read()`, which the service answers from its stages' own stats (no second set of counters to
 * drift from the first). Only the commit-latency histogram is fed directly (observeCommit).
 * With the number lookup on, its metrics are read the same way, from `readLookup()`, once per scrape
 * (its figures live in a worker thread, so reading them is asynchronous).
 * Every metric name is in METRIC_NAMES or LOOKUP_METRIC_NAMES; docs/operations.md and
 * docs/alerts/qbl-alerts.yml use them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { BUILD } from '../version';

/** Cumulative counts by label value. */
export type Counts = Readonly<Record<string, number | undefined>>;

/** The figures the metrics export, as they stand at scrape time: counts since start, and current levels. */
export interface MetricsReadings {
  readonly deliveriesReceived: number;
  readonly deliveriesAcked: number;
  readonly deliveriesDropped: number;
  readonly unackedDeliveries: number;
  readonly eventsByKind: Counts;
  /** Messages the pipeline refused, by reason code; those starting `decode.` are decode failures. */
  readonly rejectedByReason: Counts;
  /** Dead letters confirmed by the broker, by reason code. */
  readonly deadLettersByReason: Counts;
  /** CDRs by source (`qbl`, `acc`), then disposition. */
  readonly cdrsBySourceAndDisposition: Readonly<Record<string, Counts | undefined>>;
  readonly storeRetries: number;
  readonly amqpReconnects: number;
  /** Wall time (µs) of the last commit that wrote a CDR; null: none since start. */
  readonly lastCdrAtUs: number | null;
  readonly openCalls: number;
  readonly oldestOpenCallAgeS: number;
  readonly brokerConnected: boolean;
  readonly brokerBlocked: boolean;
}

/** A histogram as measured elsewhere: observations per bucket (not cumulative), bucket i ending at `boundsS[i]`, then one beyond them. */
export interface HistogramReading {
  readonly boundsS: readonly number[];
  readonly counts: readonly number[];
  readonly sumS: number;
  readonly count: number;
}

/** The number lookup's figures at scrape time (docs/lookup.md). */
export interface LookupReadings {
  /** Lookups answered, by verdict, then by the reasons behind it (joined with `,`; `none` for a plain allow). */
  readonly lookupsByVerdictAndReasons: Readonly<Record<string, Counts | undefined>>;
  /** Requests answered with an error, by HTTP status. */
  readonly rejectedByStatus: Counts;
  /** Entries dropped because their table was full, by table (`numbers`, `pairs`). */
  readonly evictionsByTable: Readonly<Record<'numbers' | 'pairs', number>>;
  /** Time to answer one request, inside the lookup's thread. */
  readonly duration: HistogramReading;
  readonly trackedNumbers: number;
  readonly trackedPairs: number;
  /** Connections the listener holds, and those refused at its limit (4,096) since start. */
  readonly openConnections: number;
  readonly droppedConnections: number;
  readonly blocklistEntries: number;
  /** Listening, with the figures rebuilt. */
  readonly answering: boolean;
  readonly figuresAgeS: number;
  readonly pollFailures: number;
}

/** What the metrics read at scrape time; the service answers from its stages, tests with plain objects. */
export interface MetricsSources {
  read(): MetricsReadings;
  /** Resolves when the store answers; qbl_store_up is 0 when it rejects. */
  pingStore?(): Promise<void>;
  /** The number lookup's readings (only asked when the metrics were made with `lookup: true`). */
  readLookup?(): Promise<LookupReadings>;
  /** The partitions' and the router's counts (only asked when the metrics were made with `partitions: true`). */
  readPartitions?(): PartitionReadings;
}

/** QBL_PARTITIONS > 1: per partition (keyed by its number), and the router's. */
export interface PartitionReadings {
  /** 1 for each partition this instance owns now (0 for the others). */
  readonly owned: Counts;
  readonly delivered: Counts;
  readonly committed: Counts;
  readonly routed: Counts;
  readonly routerDeadLetters: number;
  readonly confirmSeconds: number;
  readonly confirmBatches: number;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics from prom-client (default true). */
  readonly processMetrics?: boolean;
  /** Where CDRs go, for qbl_build_info's `store` label (default `sqlite`). */
  readonly storeEngine?: string;
  /** The number lookup is on: export its metrics too (without it, its series do not exist). */
  readonly lookup?: boolean;
  /** QBL_PARTITIONS > 1: export the per-partition and router series too. */
  readonly partitions?: boolean;
}

export const COMMIT_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METRIC_NAMES = [
  'qbl_deliveries_received_total',
  'qbl_deliveries_acked_total',
  'qbl_deliveries_dropped_total',
  'qbl_events_consumed_total',
  'qbl_rejected_messages_total',
  'qbl_dead_letters_total',
  'qbl_cdrs_written_total',
  'qbl_last_cdr_written_timestamp_seconds',
  'qbl_open_calls',
  'qbl_oldest_open_call_age_seconds',
  'qbl_store_commit_duration_seconds',
  'qbl_store_retries_total',
  'qbl_store_up',
  'qbl_unacked_deliveries',
  'qbl_amqp_reconnects_total',
  'qbl_broker_connected',
  'qbl_broker_blocked',
  'qbl_build_info',
] as const;

/** Exported only with the number lookup on (QBL_LOOKUP_PORT). */
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
  'qbl_lookup_connections',
  'qbl_lookup_connections_dropped_total',
] as const;

/** Exported only with QBL_PARTITIONS > 1. */
export const PARTITION_METRIC_NAMES = [
  'qbl_partition_owned',
  'qbl_partition_deliveries_total',
  'qbl_partition_committed_total',
  'qbl_router_routed_total',
  'qbl_router_dead_letters_total',
  'qbl_router_confirm_seconds_total',
  'qbl_router_confirm_batches_total',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number] | (typeof LOOKUP_METRIC_NAMES)[number] | (typeof PARTITION_METRIC_NAMES)[number];

/** One series per key of `values`, labelled `label` (and `fixed`); zero and missing counts add none. */
function addCounts(counter: Counter<string>, label: string, values: Counts, fixed: Readonly<Record<string, string>> = {}): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value > 0) counter.inc({ ...fixed, [label]: key }, value);
  }
}

/** Sets a counter to the stats object's cumulative values (counters here mirror monotonic stats). */
function mirror(counter: Counter<string>, label: string, values: Counts): void {
  counter.reset();
  addCounts(counter, label, values);
}

function mirrorOne(counter: Counter<string>, value: number): void {
  counter.reset();
  if (value > 0) counter.inc(value);
}

/** A counter mirrored at scrape time from one count, or from counts by the value of `label`. */
function mirroredCounter(registers: Registry[], name: MetricName, help: string, label: string | undefined,
  read: () => number | Counts): Counter<string> {
  return new Counter({
    name, help, labelNames: label ? [label] : [], registers,
    collect() {
      const value = read();
      if (typeof value === 'number') mirrorOne(this, value);
      else mirror(this, label!, value);
    },
  });
}

function readGauge(registers: Registry[], name: MetricName, help: string, read: () => number): Gauge<string> {
  return new Gauge({ name, help, registers, collect() { this.set(read()); } });
}

/** A counter with two labels, mirrored from counts by the first label's value, then the second's. */
function nestedCounter(registers: Registry[], name: MetricName, help: string, labels: readonly [string, string],
  read: () => Readonly<Record<string, Counts | undefined>>): Counter<string> {
  const [outer, inner] = labels;
  return new Counter({
    name, help, labelNames: [...labels], registers,
    collect() {
      this.reset();
      for (const [key, counts] of Object.entries(read())) addCounts(this, inner, counts ?? {}, { [outer]: key });
    },
  });
}

/** A histogram whose buckets are counted elsewhere (prom-client's Histogram can only observe, not be set). */
class MirroredHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(readonly name: MetricName, readonly help: string, private readonly read: () => HistogramReading | undefined) {}

  async get() {
    const reading = this.read();
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    (reading?.boundsS ?? []).forEach((bound, i) => {
      cumulative += reading!.counts[i] ?? 0;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: bound }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: reading?.count ?? 0 });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: reading?.sumS ?? 0 });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: reading?.count ?? 0 });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private sources?: MetricsSources;
  private readonly commitSeconds: Histogram<string>;
  private readonly lookupOn: boolean;
  /** The lookup's readings of the scrape in progress (text() reads them once, before the collect callbacks). */
  private lookupNow: LookupReadings | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const self = this;
    const now = (): MetricsReadings | undefined => self.sources?.read();
    const count = (pick: (r: MetricsReadings) => number) => () => { const r = now(); return r ? pick(r) : 0; };
    const counts = (pick: (r: MetricsReadings) => Counts) => () => { const r = now(); return r ? pick(r) : {}; };

    const counter = (name: MetricName, help: string, label: string | undefined, read: () => number | Counts) =>
      mirroredCounter(registers, name, help, label, read);
    const gauge = (name: MetricName, help: string, read: () => number) => readGauge(registers, name, help, read);

    counter('qbl_deliveries_received_total', 'AMQP deliveries received (redeliveries included).', undefined, count((r) => r.deliveriesReceived));
    counter('qbl_deliveries_acked_total', 'AMQP deliveries acked after their batch was committed (or dead-lettered).', undefined, count((r) => r.deliveriesAcked));
    counter('qbl_deliveries_dropped_total', 'Deliveries left unacked because their connection was lost; the broker redelivers them.', undefined, count((r) => r.deliveriesDropped));
    counter('qbl_events_consumed_total', 'Decoded events handed to the correlator, by event kind.', 'kind', counts((r) => r.eventsByKind));
    counter('qbl_rejected_messages_total', 'Messages the pipeline sent to the dead-letter queue, by reason code (decode.*, store.rejected, process.failed).', 'reason',
      counts((r) => r.rejectedByReason));
    counter('qbl_dead_letters_total', 'Dead letters confirmed by the broker, by reason code.', 'reason', counts((r) => r.deadLettersByReason));
    nestedCounter(registers, 'qbl_cdrs_written_total', 'CDRs committed to the store, by source (qbl, acc) and disposition (a rewritten CDR counts again).',
      ['source', 'disposition'], () => now()?.cdrsBySourceAndDisposition ?? {});
    counter('qbl_store_retries_total', 'Batch retries after the store was unavailable (intake paused meanwhile).', undefined, count((r) => r.storeRetries));
    counter('qbl_amqp_reconnects_total', 'Successful AMQP reconnections after a lost connection.', undefined, count((r) => r.amqpReconnects));

    gauge('qbl_last_cdr_written_timestamp_seconds', 'Wall time of the last CDR commit (0: none since start).',
      count((r) => (r.lastCdrAtUs === null ? 0 : r.lastCdrAtUs / 1e6)));
    gauge('qbl_open_calls', 'Calls the correlator holds open.', count((r) => r.openCalls));
    gauge('qbl_oldest_open_call_age_seconds', 'Event-clock age of the oldest open call\'s first event (0: no open call).',
      count((r) => r.oldestOpenCallAgeS));
    gauge('qbl_unacked_deliveries', 'Deliveries received and not yet settled.', count((r) => r.unackedDeliveries));
    gauge('qbl_broker_connected', '1 while the AMQP connection is up and consuming.', count((r) => (r.brokerConnected ? 1 : 0)));
    gauge('qbl_broker_blocked', '1 while the broker blocks our connection (memory or disk alarm).', count((r) => (r.brokerBlocked ? 1 : 0)));
    new Gauge({
      name: 'qbl_store_up' satisfies MetricName,
      help: '1 when the store answered a ping at scrape time.',
      registers,
      async collect() {
        const ping = self.sources?.pingStore;
        this.set(ping ? await ping().then(() => 1, () => 0) : 0);
      },
    });

    new Gauge({
      name: 'qbl_build_info' satisfies MetricName,
      help: 'Always 1: the running version, the Node.js version and where CDRs are stored.',
      labelNames: ['version', 'node_version', 'store'],
      registers,
    }).set({ version: BUILD.version, node_version: process.version, store: options.storeEngine ?? 'sqlite' }, 1);

    this.commitSeconds = new Histogram({
      name: 'qbl_store_commit_duration_seconds' satisfies MetricName,
      help: 'Duration of one store commit (a batch\'s events, open calls and CDRs).',
      buckets: COMMIT_BUCKETS_S,
      registers,
    });
    this.lookupOn = options.lookup ?? false;
    if (this.lookupOn) this.registerLookup(registers);
    if (options.partitions ?? false) this.registerPartitions(registers);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The lookup's metrics, read from the readings text() asked for (zero until it answers). */
  private registerLookup(registers: Registry[]): void {
    const lookup = (): LookupReadings | undefined => this.lookupNow;
    const level = (pick: (r: LookupReadings) => number) => () => { const r = lookup(); return r ? pick(r) : 0; };

    nestedCounter(registers, 'qbl_lookups_total', 'Lookups answered, by verdict and by the reasons behind it (joined with commas; none for a plain allow).',
      ['verdict', 'reasons'], () => lookup()?.lookupsByVerdictAndReasons ?? {});
    mirroredCounter(registers, 'qbl_lookup_requests_rejected_total',
      'Requests on the lookup listener answered with an error, by HTTP status (unknown path, bad method, malformed number or HTTP).', 'code',
      () => lookup()?.rejectedByStatus ?? {});
    new Counter({
      name: 'qbl_lookup_evictions_total' satisfies MetricName,
      help: 'Tracked numbers or (caller, prefix) pairs dropped because the table was full (QBL_LOOKUP_MAX_NUMBERS / QBL_LOOKUP_MAX_PAIRS).',
      labelNames: ['table'],
      registers,
      collect() {
        // Both series always, from 0: an alert on increase() sees the first eviction.
        this.reset();
        const evicted = lookup()?.evictionsByTable;
        for (const table of ['numbers', 'pairs'] as const) this.inc({ table }, evicted?.[table] ?? 0);
      },
    });
    this.registry.registerMetric(new MirroredHistogram('qbl_lookup_duration_seconds',
      'Time to answer one request on the lookup listener, inside the lookup thread.', () => lookup()?.duration) as unknown as Metric<string>);
    readGauge(registers, 'qbl_lookup_tracked_numbers', 'Destination numbers whose figures are held in memory.', level((r) => r.trackedNumbers));
    readGauge(registers, 'qbl_lookup_tracked_pairs', '(caller, destination prefix) pairs held for the burst rule.', level((r) => r.trackedPairs));
    readGauge(registers, 'qbl_lookup_blocklist_entries', 'Block-list entries held (numbers and prefixes, expired ones until the next sweep).',
      level((r) => r.blocklistEntries));
    readGauge(registers, 'qbl_lookup_up', '1 while the lookup listener answers lookups (0 while its figures are rebuilt at start, or if it stopped).',
      level((r) => (r.answering ? 1 : 0)));
    readGauge(registers, 'qbl_lookup_figures_age_seconds', 'With a shared store: seconds since the figures last caught up with every instance\'s CDRs (0 with SQLite).',
      level((r) => r.figuresAgeS));
    readGauge(registers, 'qbl_lookup_connections', 'Connections open on the lookup listener (OpenSIPS keeps them open and reuses them: one or more per SIP worker).',
      level((r) => r.openConnections));
    mirroredCounter(registers, 'qbl_lookup_connections_dropped_total',
      'Connections the lookup listener refused at its limit of 4,096: OpenSIPS fails open for those calls.', undefined, level((r) => r.droppedConnections));
    mirroredCounter(registers, 'qbl_lookup_poll_failures_total', 'Polls of the store (block list, shared figures) that failed; the lookup answered from what it held.',
      undefined, level((r) => r.pollFailures));
  }

  /** Per partition and the router's, read at scrape time. */
  private registerPartitions(registers: Registry[]): void {
    const read = (): PartitionReadings | undefined => this.sources?.readPartitions?.();
    new Gauge({
      name: 'qbl_partition_owned' satisfies MetricName,
      help: '1 while this instance owns the partition (holds its lock and consumes it), else 0.',
      labelNames: ['partition'],
      registers,
      collect() {
        this.reset();
        for (const [partition, owned] of Object.entries(read()?.owned ?? {})) this.set({ partition }, owned ?? 0);
      },
    });
    mirroredCounter(registers, 'qbl_partition_deliveries_total', 'Deliveries of the partition handed to its pipeline on this instance (redeliveries included).',
      'partition', () => read()?.delivered ?? {});
    mirroredCounter(registers, 'qbl_partition_committed_total', 'Deliveries of the partition committed (then acked) on this instance.',
      'partition', () => read()?.committed ?? {});
    mirroredCounter(registers, 'qbl_router_routed_total', 'Messages the router republished to the partition, confirmed by the broker.',
      'partition', () => read()?.routed ?? {});
    mirroredCounter(registers, 'qbl_router_dead_letters_total', 'Messages the router dead-lettered (no call id could be read).',
      undefined, () => read()?.routerDeadLetters ?? 0);
    mirroredCounter(registers, 'qbl_router_confirm_seconds_total', 'Time from publishing a routed batch to the broker\'s last confirm of it, summed.',
      undefined, () => read()?.confirmSeconds ?? 0);
    mirroredCounter(registers, 'qbl_router_confirm_batches_total', 'Routed batches confirmed by the broker.',
      undefined, () => read()?.confirmBatches ?? 0);
  }

  /** The stages to read; until then the mirrored metrics read as zero. */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** For the pipeline's onCommit hook. */
  readonly observeCommit = (durationMs: number): void => {
    this.commitSeconds.observe(durationMs / 1000);
  };

  /** Prometheus text exposition (the lookup's readings, when it is on, are asked for once per scrape). */
  async text(): Promise<string> {
    if (this.lookupOn) this.lookupNow = await this.sources?.readLookup?.();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
