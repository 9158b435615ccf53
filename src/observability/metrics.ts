/**
 * Prometheus metrics for one service, in its own Registry (never the global one, so tests can run
 * several services in one process). Almost every metric is read from the stages' own stats objects
 * in a collect() callback at scrape time: no second set of counters to drift from the first.
 * Only the commit-latency histogram is fed directly (from the pipeline's onCommit hook).
 * Every metric name is in METRIC_NAMES; docs/operations.md and docs/alerts/qbl-alerts.yml use them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConsumerStats } from '../../consumers/amqp/batch-consumer';
import type { PipelineStats } from '../pipeline/pipeline';
import { BUILD } from '../version';

/** What the metrics read at scrape time; the service passes its stages, tests pass plain objects. */
export interface MetricsSources {
  readonly pipeline: {
    readonly stats: PipelineStats;
    readonly correlator: { readonly openCallCount: number; oldestOpenCallUs(): number | null };
    /** The pipeline's event clock (µs): the oldest open call's age is measured against it. */
    eventClockUs(): number;
  };
  readonly consumer: { readonly stats: ConsumerStats };
  /** Resolves when the store answers; qbl_store_up is 0 when it rejects. */
  pingStore?(): Promise<void>;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics from prom-client (default true). */
  readonly processMetrics?: boolean;
  /** Where CDRs go, for qbl_build_info's `store` label (default `sqlite`). */
  readonly storeEngine?: string;
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

export type MetricName = (typeof METRIC_NAMES)[number];

type Counts = Readonly<Record<string, number | undefined>>;

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

export class ServiceMetrics {
  readonly registry = new Registry();
  private sources?: MetricsSources;
  private readonly commitSeconds: Histogram<string>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const self = this;
    const pipeline = () => self.sources?.pipeline;
    const consumer = () => self.sources?.consumer.stats;

    const counter = (name: MetricName, help: string, labelNames: string[], read: (c: Counter<string>) => void) =>
      new Counter({ name, help, labelNames, registers, collect() { read(this); } });
    const gauge = (name: MetricName, help: string, read: () => number) =>
      new Gauge({ name, help, registers, collect() { this.set(read()); } });

    counter('qbl_deliveries_received_total', 'AMQP deliveries received (redeliveries included).', [], (c) => mirrorOne(c, consumer()?.delivered ?? 0));
    counter('qbl_deliveries_acked_total', 'AMQP deliveries acked after their batch was committed (or dead-lettered).', [], (c) => mirrorOne(c, consumer()?.acked ?? 0));
    counter('qbl_deliveries_dropped_total', 'Deliveries left unacked because their connection was lost; the broker redelivers them.', [], (c) => mirrorOne(c, consumer()?.dropped ?? 0));
    counter('qbl_events_consumed_total', 'Decoded events handed to the correlator, by event kind.', ['kind'], (c) => mirror(c, 'kind', pipeline()?.stats.eventsByKind ?? {}));
    counter('qbl_rejected_messages_total', 'Messages the pipeline sent to the dead-letter queue, by reason code (decode.*, store.rejected, process.failed).', ['reason'],
      (c) => mirror(c, 'reason', pipeline()?.stats.rejectedByReason ?? {}));
    counter('qbl_dead_letters_total', 'Dead letters confirmed by the broker, by reason code.', ['reason'], (c) => mirror(c, 'reason', consumer()?.deadLettered ?? {}));
    counter('qbl_cdrs_written_total', 'CDRs committed to the store, by source (qbl, acc) and disposition (a rewritten CDR counts again).',
      ['source', 'disposition'], (c) => {
        c.reset();
        for (const [source, counts] of Object.entries(pipeline()?.stats.cdrsBySourceAndDisposition ?? {})) addCounts(c, 'disposition', counts ?? {}, { source });
      });
    counter('qbl_store_retries_total', 'Batch retries after the store was unavailable (intake paused meanwhile).', [], (c) => mirrorOne(c, consumer()?.retries ?? 0));
    counter('qbl_amqp_reconnects_total', 'Successful AMQP reconnections after a lost connection.', [], (c) => mirrorOne(c, consumer()?.reconnects ?? 0));

    gauge('qbl_last_cdr_written_timestamp_seconds', 'Wall time of the last CDR commit (0: none since start).', () => {
      const us = pipeline()?.stats.lastCdrAtUs;
      return us === null || us === undefined ? 0 : us / 1e6;
    });
    gauge('qbl_open_calls', 'Calls the correlator holds open.', () => pipeline()?.correlator.openCallCount ?? 0);
    gauge('qbl_oldest_open_call_age_seconds', 'Event-clock age of the oldest open call\'s first event (0: no open call).', () => {
      const p = pipeline();
      return p ? oldestOpenCallAgeS(p.correlator.oldestOpenCallUs(), p.eventClockUs()) : 0;
    });
    gauge('qbl_unacked_deliveries', 'Deliveries received and not yet settled.', () => consumer()?.unacked ?? 0);
    gauge('qbl_broker_connected', '1 while the AMQP connection is up and consuming.', () => (consumer()?.connected ? 1 : 0));
    gauge('qbl_broker_blocked', '1 while the broker blocks our connection (memory or disk alarm).', () => (consumer()?.blocked ? 1 : 0));
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
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The stages to read; until then the mirrored metrics read as zero. */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** For the pipeline's onCommit hook. */
  readonly observeCommit = (durationMs: number): void => {
    this.commitSeconds.observe(durationMs / 1000);
  };

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Seconds from the oldest open call's first event to the event clock; 0 when none is open. */
export function oldestOpenCallAgeS(oldestUs: number | null, eventClockUs: number): number {
  if (oldestUs === null) return 0;
  return Math.max(0, eventClockUs - oldestUs) / 1e6;
}
