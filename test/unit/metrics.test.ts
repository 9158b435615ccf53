/** ServiceMetrics exports what it is told to count, read at scrape time, in a registry of its own. */
import {
  LOOKUP_METRIC_NAMES, METRIC_NAMES, PARTITION_METRIC_NAMES, ServiceMetrics, type LookupReadings, type MetricsReadings, type MetricsSources,
} from '../../src/observability/metrics';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { metricValue } from '../support/http';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? { -readonly [L in keyof T[K]]: T[K][L] } : T[K] };

function sources(overrides: { ping?: () => Promise<void> } = {}) {
  const readings: Mutable<MetricsReadings> = {
    deliveriesReceived: 7, deliveriesAcked: 5, deliveriesDropped: 2, unackedDeliveries: 2,
    eventsByKind: { invite_request: 3, bye_reply: 2 },
    rejectedByReason: { 'decode.not_json': 1, 'store.rejected': 1 },
    deadLettersByReason: { 'decode.not_json': 1 },
    cdrsBySourceAndDisposition: { qbl: { answered: 2, busy: 1 }, acc: { no_answer: 1 } },
    storeRetries: 4, amqpReconnects: 1, lastCdrAtUs: 1_796_000_000_000_000,
    openCalls: 5, oldestOpenCallAgeS: 90, brokerConnected: true, brokerBlocked: false,
  };
  const src: MetricsSources = { read: () => readings, pingStore: overrides.ping ?? (() => Promise.resolve()) };
  return { src, readings };
}

describe('ServiceMetrics', () => {
  test('every exported metric name is present, with the readings\' values', async () => {
    const metrics = new ServiceMetrics({ processMetrics: false });
    const { src } = sources();
    metrics.bind(src);
    const text = await metrics.text();
    for (const name of METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    expect(metricValue(text, 'qbl_events_consumed_total{kind="invite_request"}')).toBe(3);
    expect(metricValue(text, 'qbl_events_consumed_total{kind="bye_reply"}')).toBe(2);
    expect(metricValue(text, 'qbl_rejected_messages_total{reason="decode.not_json"}')).toBe(1);
    expect(metricValue(text, 'qbl_rejected_messages_total{reason="store.rejected"}')).toBe(1);
    expect(metricValue(text, 'qbl_dead_letters_total{reason="decode.not_json"}')).toBe(1);
    // One metric, two labels: source is only ever qbl or acc (correlators/cdr.ts CdrSource).
    expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="answered"}')).toBe(2);
    expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="busy"}')).toBe(1);
    expect(metricValue(text, 'qbl_cdrs_written_total{source="acc",disposition="no_answer"}')).toBe(1);
    expect(text).not.toContain('qbl+acc');
    expect(metricValue(text, 'qbl_last_cdr_written_timestamp_seconds')).toBe(1_796_000_000);
    expect(metricValue(text, 'qbl_open_calls')).toBe(5);
    expect(metricValue(text, 'qbl_oldest_open_call_age_seconds')).toBe(90);
    expect(metricValue(text, 'qbl_unacked_deliveries')).toBe(2);
    expect(metricValue(text, 'qbl_amqp_reconnects_total')).toBe(1);
    expect(metricValue(text, 'qbl_store_retries_total')).toBe(4);
    expect(metricValue(text, 'qbl_deliveries_received_total')).toBe(7);
    expect(metricValue(text, 'qbl_deliveries_acked_total')).toBe(5);
    expect(metricValue(text, 'qbl_deliveries_dropped_total')).toBe(2);
    expect(metricValue(text, 'qbl_broker_connected')).toBe(1);
    expect(metricValue(text, 'qbl_broker_blocked')).toBe(0);
    expect(metricValue(text, 'qbl_store_up')).toBe(1);
  });

  test('counters follow the readings between scrapes, gauges drop back, a failing ping reads as store down', async () => {
    const metrics = new ServiceMetrics({ processMetrics: false });
    const { src, readings } = sources({ ping: () => Promise.reject(new Error('SQLITE_BUSY')) });
    metrics.bind(src);
    await metrics.text();
    readings.eventsByKind.invite_request = 10;
    readings.cdrsBySourceAndDisposition = { ...readings.cdrsBySourceAndDisposition, qbl: { answered: 2, busy: 1, failed: 4 } };
    readings.amqpReconnects = 3;
    readings.brokerConnected = false;
    readings.brokerBlocked = true;
    readings.unackedDeliveries = 0;
    const text = await metrics.text();
    expect(metricValue(text, 'qbl_events_consumed_total{kind="invite_request"}')).toBe(10);
    expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="failed"}')).toBe(4);
    expect(metricValue(text, 'qbl_amqp_reconnects_total')).toBe(3);
    expect(metricValue(text, 'qbl_broker_connected')).toBe(0);
    expect(metricValue(text, 'qbl_broker_blocked')).toBe(1);
    expect(metricValue(text, 'qbl_unacked_deliveries')).toBe(0);
    expect(metricValue(text, 'qbl_store_up')).toBe(0);
  });

  test('the commit histogram takes milliseconds from onCommit and exposes seconds', async () => {
    const metrics = new ServiceMetrics({ processMetrics: false });
    metrics.bind(sources().src);
    metrics.observeCommit(3);
    metrics.observeCommit(40);
    metrics.observeCommit(2000);
    const text = await metrics.text();
    expect(metricValue(text, 'qbl_store_commit_duration_seconds_count')).toBe(3);
    expect(metricValue(text, 'qbl_store_commit_duration_seconds_sum')).toBeCloseTo(2.043, 6);
    expect(metricValue(text, 'qbl_store_commit_duration_seconds_bucket{le="0.005"}')).toBe(1);
    expect(metricValue(text, 'qbl_store_commit_duration_seconds_bucket{le="0.05"}')).toBe(2);
    expect(metricValue(text, 'qbl_store_commit_duration_seconds_bucket{le="+Inf"}')).toBe(3);
  });

  test('before bind() everything reads zero; two services do not share a registry, nor use the global one', async () => {
    const a = new ServiceMetrics({ processMetrics: false });
    const b = new ServiceMetrics({ processMetrics: false });
    b.bind(sources().src);
    const textA = await a.text();
    expect(metricValue(textA, 'qbl_open_calls')).toBe(0);
    expect(metricValue(textA, 'qbl_broker_connected')).toBe(0);
    expect(metricValue(textA, 'qbl_store_up')).toBe(0);
    expect(metricValue(await b.text(), 'qbl_open_calls')).toBe(5);
    expect(await globalRegistry.getSingleMetric('qbl_open_calls')).toBeUndefined();
  });

  test('process metrics are included by default', async () => {
    const metrics = new ServiceMetrics();
    expect(await metrics.text()).toContain('process_cpu_user_seconds_total');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });


  test('qbl_build_info carries the version, the Node.js version and the store engine', async () => {
    const text = await new ServiceMetrics({ processMetrics: false, storeEngine: 'opensearch' }).text();
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(metricValue(text, `qbl_build_info{version="${version}",node_version="${process.version}",store="opensearch"}`)).toBe(1);
    expect(metricValue(await new ServiceMetrics({ processMetrics: false }).text(),
      `qbl_build_info{version="${version}",node_version="${process.version}",store="sqlite"}`)).toBe(1);
  });

  test('docs/operations.md describes every metric', () => {
    const operations = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    for (const name of [...METRIC_NAMES, ...LOOKUP_METRIC_NAMES, ...PARTITION_METRIC_NAMES]) expect(operations).toContain(`| \`${name}\` |`);
  });
});

describe('ServiceMetrics with the number lookup', () => {
  const lookupReadings = (): LookupReadings => ({
    lookupsByVerdictAndReasons: { warn: { invalid_number: 2 }, allow: { none: 1 }, block: { 'blocklisted,fraud_burst': 1 } },
    rejectedByStatus: { 404: 1, 405: 2 },
    evictionsByTable: { numbers: 3, pairs: 0 },
    duration: { boundsS: [0.0001, 0.001], counts: [2, 1, 1], sumS: 0.0123, count: 4 },
    trackedNumbers: 40, trackedPairs: 7, blocklistEntries: 5, answering: true, figuresAgeS: 1.5, pollFailures: 2,
    openConnections: 16, droppedConnections: 3,
  });

  test('its metrics are exported only with the lookup on', async () => {
    const off = await new ServiceMetrics({ processMetrics: false }).text();
    for (const name of LOOKUP_METRIC_NAMES) expect(off).not.toContain(name);
    const on = new ServiceMetrics({ processMetrics: false, lookup: true });
    on.bind(sources().src);
    const text = await on.text();
    for (const name of LOOKUP_METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    // Nothing read yet (no readLookup): levels read zero, both eviction series exist from zero.
    expect(metricValue(text, 'qbl_lookup_up')).toBe(0);
    expect(metricValue(text, 'qbl_lookup_evictions_total{table="numbers"}')).toBe(0);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_count')).toBe(0);
  });

  test('the readings, asked for once per scrape, become the lookup\'s series', async () => {
    const metrics = new ServiceMetrics({ processMetrics: false, lookup: true });
    let asked = 0;
    let readings = lookupReadings();
    metrics.bind({ ...sources().src, readLookup: async () => { asked += 1; return readings; } });
    const text = await metrics.text();
    expect(asked).toBe(1);
    expect(metricValue(text, 'qbl_lookups_total{verdict="warn",reasons="invalid_number"}')).toBe(2);
    expect(metricValue(text, 'qbl_lookups_total{verdict="allow",reasons="none"}')).toBe(1);
    expect(metricValue(text, 'qbl_lookups_total{verdict="block",reasons="blocklisted,fraud_burst"}')).toBe(1);
    expect(metricValue(text, 'qbl_lookup_requests_rejected_total{code="405"}')).toBe(2);
    expect(metricValue(text, 'qbl_lookup_evictions_total{table="numbers"}')).toBe(3);
    expect(metricValue(text, 'qbl_lookup_evictions_total{table="pairs"}')).toBe(0);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_bucket{le="0.0001"}')).toBe(2);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_bucket{le="0.001"}')).toBe(3);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_sum')).toBeCloseTo(0.0123, 9);
    expect(metricValue(text, 'qbl_lookup_duration_seconds_count')).toBe(4);
    expect(metricValue(text, 'qbl_lookup_tracked_numbers')).toBe(40);
    expect(metricValue(text, 'qbl_lookup_tracked_pairs')).toBe(7);
    expect(metricValue(text, 'qbl_lookup_blocklist_entries')).toBe(5);
    expect(metricValue(text, 'qbl_lookup_up')).toBe(1);
    expect(metricValue(text, 'qbl_lookup_figures_age_seconds')).toBe(1.5);
    expect(metricValue(text, 'qbl_lookup_poll_failures_total')).toBe(2);
    expect(metricValue(text, 'qbl_lookup_connections')).toBe(16);
    expect(metricValue(text, 'qbl_lookup_connections_dropped_total')).toBe(3);
    // The service's own series are still there, read as before.
    expect(metricValue(text, 'qbl_open_calls')).toBe(5);

    readings = { ...readings, lookupsByVerdictAndReasons: { ...readings.lookupsByVerdictAndReasons, warn: { invalid_number: 3 } }, answering: false };
    const next = await metrics.text();
    expect(asked).toBe(2);
    expect(metricValue(next, 'qbl_lookups_total{verdict="warn",reasons="invalid_number"}')).toBe(3);
    expect(metricValue(next, 'qbl_lookup_up')).toBe(0);
  });
});

describe('ServiceMetrics with QBL_PARTITIONS > 1', () => {
  test('per-partition and router series, exported only with partitions on', async () => {
    const off = await new ServiceMetrics({ processMetrics: false }).text();
    for (const name of PARTITION_METRIC_NAMES) expect(off).not.toContain(name);
    const on = new ServiceMetrics({ processMetrics: false, partitions: true });
    on.bind({
      ...sources().src,
      readPartitions: () => ({
        owned: { 0: 1, 1: 0 }, delivered: { 0: 40, 1: 7 }, committed: { 0: 38, 1: 7 }, routed: { 0: 25, 1: 30 },
        routerDeadLetters: 2, confirmSeconds: 0.5, confirmBatches: 4,
      }),
    });
    const text = await on.text();
    for (const name of PARTITION_METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    expect(metricValue(text, 'qbl_partition_owned{partition="0"}')).toBe(1);
    expect(metricValue(text, 'qbl_partition_owned{partition="1"}')).toBe(0);
    expect(metricValue(text, 'qbl_partition_deliveries_total{partition="0"}')).toBe(40);
    expect(metricValue(text, 'qbl_partition_committed_total{partition="0"}')).toBe(38);
    expect(metricValue(text, 'qbl_router_routed_total{partition="1"}')).toBe(30);
    expect(metricValue(text, 'qbl_router_dead_letters_total')).toBe(2);
    expect(metricValue(text, 'qbl_router_confirm_seconds_total')).toBe(0.5);
    expect(metricValue(text, 'qbl_router_confirm_batches_total')).toBe(4);
  });
});
