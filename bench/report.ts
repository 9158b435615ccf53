/** The bench's result: one flat record, printed as a table for people and as one JSON line for tracking. */
import type { QueueType } from '../src/config/config';

export interface QueueFigures {
  readonly limit_per_s: number;
  /** The durable bare consumer: parses each body, appends it to a file, writes + fsyncs each batch before its multiple-ack. */
  readonly durable_limit_per_s: number;
  /** pipeline_per_s / durable_limit_per_s. */
  readonly durable_ratio: number;
  readonly pipeline_per_s: number;
  readonly ratio: number;
  /** Stored CDRs equal to the expected ones, out of `cdrs_expected`. */
  readonly cdrs_ok: number;
  readonly cdrs_expected: number;
  /** CPU µs per event while the bare consumer drained: the broker's (null: not on this host) and the consumer's. */
  readonly limit_broker_cpu_us: number | null;
  readonly limit_consumer_cpu_us: number;
  /** CPU µs per event while the service drained: the broker's and the service's (every thread). */
  readonly pipeline_broker_cpu_us: number | null;
  readonly pipeline_service_cpu_us: number;
  /** The best ratio the measured CPU costs allow on these cores, were the work perfectly parallel. */
  readonly cpu_ceiling_ratio: number | null;
  /** Service CPU µs per event the ratio target leaves after the broker's share (see bench/cpu.ts). */
  readonly service_cpu_budget_us: number | null;
}

export interface BenchReport {
  readonly bench: 'opensips-qbl';
  readonly at: string;
  readonly events: number;
  readonly calls: number;
  readonly prefetch: number;
  readonly batch_size: number;
  readonly batch_wait_ms: number;
  readonly queues: Partial<Record<QueueType, QueueFigures>>;
  readonly correlator_per_s: number;
  /** The SQLite store alone committing the stream's batches: events/s, and CPU µs per event. */
  readonly store_per_s: number;
  readonly store_cpu_us_per_event: number;
  /** Decoding alone, µs per message: with the bare consumer's CPU, the correlator's and the store's, the service's cost in parts. */
  readonly decode_us_per_event: number;
  readonly cores: number;
  readonly open_calls: number;
  readonly bytes_per_open_call: number;
  readonly stored_bytes_per_open_call: number;
  readonly cdr_latency_queue: QueueType;
  readonly cdr_latency_rate_per_s: number;
  readonly cdr_latency_ms_p50: number;
  readonly cdr_latency_ms_p99: number;
  readonly cdr_latency_missing: number;
  /** The search-store path (bench/search.ts); null when no engine is configured, and search_skipped says why. */
  readonly search_engine: 'opensearch' | 'elasticsearch' | null;
  readonly search_pipeline_per_s: number | null;
  readonly search_limit_per_s: number | null;
  /** search_pipeline_per_s / search_limit_per_s. */
  readonly search_ratio: number | null;
  readonly search_cdrs_ok: number | null;
  readonly search_bulk_max_docs: number | null;
  readonly search_bulk_concurrency: number | null;
  readonly search_skipped: string | null;
  /** The bare client again, with the call documents (the join state) the service also writes. */
  readonly search_limit_with_state_per_s: number | null;
  /** search_pipeline_per_s / search_limit_with_state_per_s. */
  readonly search_ratio_with_state: number | null;
  /** The search node's CPU µs per event in the drain and in each bare run; null unless it runs on this host. */
  readonly search_engine_cpu_us_pipeline: number | null;
  readonly search_engine_cpu_us_limit: number | null;
  readonly search_engine_cpu_us_limit_with_state: number | null;
  /**
   * Scale-out at QBL_PARTITIONS = 8 (bench/partitions.ts), search store only: aggregate events/s
   * with 1, 2 and 3 instances, and the router's (and the broker's) CPU µs per routed event; null
   * when no engine is configured, and partitions_skipped says why.
   */
  readonly partitions_instances_1_per_s: number | null;
  readonly partitions_instances_2_per_s: number | null;
  readonly partitions_instances_3_per_s: number | null;
  readonly partitions_router_cpu_us: number | null;
  readonly partitions_router_broker_cpu_us: number | null;
  readonly partitions_skipped: string | null;
  /** The number lookup, while the service drains the same backlog (bench/lookup.ts). */
  readonly lookup_rate_per_s: number;
  readonly lookup_connections: number;
  /** Connections kept busy for lookup_max_per_s. */
  readonly lookup_max_connections: number;
  readonly lookup_p50_ms: number;
  readonly lookup_p99_ms: number;
  readonly lookup_bare_p50_ms: number;
  readonly lookup_bare_p99_ms: number;
  readonly lookup_p99_ratio: number;
  /** p99 with the lookup alone under the paced load, in the drain the slowdown is measured on. */
  readonly lookup_alone_p99_ms: number;
  /** The same drain, inside the lookup thread (request in to answer out): the bound of the p99 bucket. */
  readonly lookup_server_p99_ms: number | null;
  readonly lookup_max_per_s: number;
  readonly lookup_drain_alone_per_s: number;
  readonly lookup_drain_with_lookups_per_s: number;
  /** The load (OpenSIPS's stand-in) at nice lookup_load_nice. */
  readonly lookup_pipeline_slowdown: number;
  readonly lookup_load_nice: number;
  /** CPU per lookup during those drains: the service's, and the load's own (OpenSIPS's stand-in). */
  readonly lookup_service_cpu_us: number;
  readonly lookup_load_cpu_us: number;
  /** The same with the load at the service's own priority. */
  readonly lookup_drain_with_lookups_same_priority_per_s: number;
  readonly lookup_pipeline_slowdown_same_priority: number;
  readonly lookup_bytes_per_number: number;
  readonly lookup_bytes_per_pair: number;
  readonly lookup_rebuild_cdrs: number;
  readonly lookup_rebuild_ms: number;
}

export const TARGETS = {
  quorumRatio: 0.8,
  classicRatio: 0.95,
  quorumDurableRatio: 0.7,
  searchRatio: 0.8,
  correlatorPerS: 1_000_000,
  bytesPerOpenCall: 1000,
  latencyP99Ms: 500,
  lookupP99Ratio: 2,
  lookupPerS: 5000,
  lookupSlowdown: 0.1,
} as const;

/** Flat keys (`quorum_ratio`, …) so a tracker can plot every figure without knowing the shape. */
export function jsonLine(report: BenchReport): string {
  const { queues, ...rest } = report;
  const flat: Record<string, unknown> = {};
  for (const [type, figures] of Object.entries(queues)) {
    for (const [key, value] of Object.entries(figures)) flat[`${type}_${key}`] = value;
  }
  return JSON.stringify({ ...rest, ...flat });
}

const n = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

const nullable = (value: number | null, digits = 0): string => (value === null ? 'n/a' : n(value, digits));

const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

export function table(report: BenchReport): string {
  const rows: Array<[string, string, string]> = [];
  for (const [type, f] of Object.entries(report.queues) as Array<[QueueType, QueueFigures]>) {
    const target = type === 'quorum' ? TARGETS.quorumRatio : TARGETS.classicRatio;
    rows.push([`${type}: limit_per_s (bare consumer)`, n(f.limit_per_s), '']);
    rows.push([`${type}: pipeline_per_s (service, SQLite)`, n(f.pipeline_per_s), `CDRs ${f.cdrs_ok}/${f.cdrs_expected} exact`]);
    rows.push([`${type}: ratio`, n(f.ratio, 3), `target >= ${target}: ${verdict(f.ratio >= target)}`]);
    rows.push([`${type}: durable_limit_per_s (parse, append, fsync per batch)`, n(f.durable_limit_per_s), '']);
    rows.push([`${type}: durable_ratio`, n(f.durable_ratio, 3),
      type === 'quorum' ? `target >= ${TARGETS.quorumDurableRatio}: ${verdict(f.durable_ratio >= TARGETS.quorumDurableRatio)}` : '']);
    rows.push([`${type}: service CPU µs/event (broker's)`, `${n(f.pipeline_service_cpu_us, 1)} (${nullable(f.pipeline_broker_cpu_us, 1)})`,
      `bare consumer: ${n(f.limit_consumer_cpu_us, 1)} (${nullable(f.limit_broker_cpu_us, 1)})`]);
    rows.push([`${type}: cpu_ceiling_ratio`, nullable(f.cpu_ceiling_ratio, 3),
      f.service_cpu_budget_us === null ? 'broker not on this host' : `the target leaves the service ${n(f.service_cpu_budget_us, 1)} CPU µs/event on ${report.cores} cores`]);
  }
  rows.push(['correlator_per_s', n(report.correlator_per_s), `target >= 1,000,000: ${verdict(report.correlator_per_s >= TARGETS.correlatorPerS)}`]);
  rows.push(['store_per_s (SQLite alone, same commits)', n(report.store_per_s), `${n(report.store_cpu_us_per_event, 1)} CPU µs/event`]);
  rows.push(['decode_us_per_event (decoder alone)', n(report.decode_us_per_event, 1), `correlator: ${n(1e6 / report.correlator_per_s, 2)} µs/event`]);
  rows.push([`bytes_per_open_call (heap, ${n(report.open_calls)} open)`, n(report.bytes_per_open_call), `target <= 1,000: ${verdict(report.bytes_per_open_call <= TARGETS.bytesPerOpenCall)}`]);
  rows.push(['stored_bytes_per_open_call (SQLite)', n(report.stored_bytes_per_open_call), '']);
  rows.push([`cdr_latency_ms_p50 (${report.cdr_latency_queue}, ${n(report.cdr_latency_rate_per_s)} ev/s)`, n(report.cdr_latency_ms_p50, 1), '']);
  rows.push(['cdr_latency_ms_p99', n(report.cdr_latency_ms_p99, 1),
    `target <= 500: ${verdict(report.cdr_latency_ms_p99 <= TARGETS.latencyP99Ms)}${report.cdr_latency_missing > 0 ? `; ${report.cdr_latency_missing} calls missing` : ''}`]);
  if (report.search_skipped !== null || report.search_pipeline_per_s === null || report.search_limit_per_s === null || report.search_ratio === null) {
    const skipped = `skipped (${report.search_skipped ?? 'not measured'})`;
    rows.push(['search_pipeline_per_s', skipped, '']);
    rows.push(['search_limit_per_s', skipped, '']);
    rows.push(['search_ratio', skipped, '']);
  } else {
    const bulk = `${report.search_engine}, bulk ${report.search_bulk_max_docs} docs, ${report.search_bulk_concurrency} in flight`;
    rows.push(['search_pipeline_per_s (service, search store)', n(report.search_pipeline_per_s), `CDRs ${report.search_cdrs_ok}/${report.calls} exact`]);
    rows.push(['search_limit_per_s (bare client, same documents)', n(report.search_limit_per_s), bulk]);
    rows.push(['search_ratio', n(report.search_ratio, 3), `target >= ${TARGETS.searchRatio}: ${verdict(report.search_ratio >= TARGETS.searchRatio)}`]);
    rows.push(['search_limit_with_state_per_s (bare client, + call documents)', nullable(report.search_limit_with_state_per_s, 0),
      `search_ratio_with_state ${nullable(report.search_ratio_with_state, 3)}`]);
    rows.push(['search engine CPU µs/event: service drain', nullable(report.search_engine_cpu_us_pipeline, 1),
      `bare client ${nullable(report.search_engine_cpu_us_limit, 1)}, with call documents ${nullable(report.search_engine_cpu_us_limit_with_state, 1)}`]);
  }
  if (report.partitions_skipped !== null) {
    for (const key of ['partitions_instances_1_per_s', 'partitions_instances_2_per_s', 'partitions_instances_3_per_s', 'partitions_router_cpu_us']) {
      rows.push([key, `skipped (${report.partitions_skipped})`, '']);
    }
  } else {
    for (const [count, value] of [[1, report.partitions_instances_1_per_s], [2, report.partitions_instances_2_per_s], [3, report.partitions_instances_3_per_s]] as const) {
      rows.push([`partitions_instances_${count}_per_s (${count} × qbl start, P = 8, search store)`, nullable(value), 'aggregate, CDRs exact']);
    }
    rows.push(['partitions_router_cpu_us (router alone, per event)', nullable(report.partitions_router_cpu_us, 1),
      `broker ${nullable(report.partitions_router_broker_cpu_us, 1)} µs/event`]);
  }
  rows.push([`lookup_p99_ms (${n(report.lookup_rate_per_s)}/s paced, turns with a bare server, during a drain)`, n(report.lookup_p99_ms, 2),
    `p50 ${n(report.lookup_p50_ms, 2)}; bare Node server p99 ${n(report.lookup_bare_p99_ms, 2)} (p50 ${n(report.lookup_bare_p50_ms, 2)})`]);
  rows.push(['lookup_p99_ratio (lookup / bare server)', n(report.lookup_p99_ratio, 2),
    `target <= 2: ${verdict(report.lookup_p99_ratio <= TARGETS.lookupP99Ratio)}; lookup alone p99 ${n(report.lookup_alone_p99_ms, 2)}, inside its thread <= ${nullable(report.lookup_server_p99_ms, 2)}`]);
  rows.push([`lookup_max_per_s (${report.lookup_max_connections} connections, during a drain)`, n(report.lookup_max_per_s),
    `target >= 5,000: ${verdict(report.lookup_max_per_s >= TARGETS.lookupPerS)}`]);
  rows.push([`lookup_pipeline_slowdown (load at nice ${report.lookup_load_nice})`, n(report.lookup_pipeline_slowdown, 3),
    `drain ${n(report.lookup_drain_with_lookups_per_s)}/s with lookups, ${n(report.lookup_drain_alone_per_s)}/s without; target <= 0.10: ${verdict(report.lookup_pipeline_slowdown <= TARGETS.lookupSlowdown)}`]);
  rows.push(['lookup_service_cpu_us (per lookup, during the drains)', n(report.lookup_service_cpu_us, 1),
    `the load's own: ${n(report.lookup_load_cpu_us, 1)} µs`]);
  rows.push(['lookup_pipeline_slowdown_same_priority (load at nice 0)', n(report.lookup_pipeline_slowdown_same_priority, 3),
    `drain ${n(report.lookup_drain_with_lookups_same_priority_per_s)}/s with lookups: OpenSIPS's side of each lookup on these cores too`]);
  rows.push(['lookup_bytes_per_number (heap)', n(report.lookup_bytes_per_number), `per (caller, prefix) pair: ${n(report.lookup_bytes_per_pair)}`]);
  rows.push([`lookup_rebuild_ms (${n(report.lookup_rebuild_cdrs)} CDRs from SQLite)`, n(report.lookup_rebuild_ms), '']);
  const width = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.max(...rows.map((r) => r[1].length));
  const header = `opensips-qbl bench: ${n(report.events)} events (${n(report.calls)} calls), prefetch ${report.prefetch}, batch ${report.batch_size} / ${report.batch_wait_ms} ms`;
  return [header, ...rows.map(([name, value, note]) => `  ${name.padEnd(width)}  ${value.padStart(valueWidth)}  ${note}`.trimEnd())].join('\n');
}
