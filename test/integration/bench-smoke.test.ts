/**
 * The benchmark's harness at a small N against the real RabbitMQ: not a timing test, a check
 * that it measures what it says. Every published event is delivered (bare consumer) and
 * committed (service), the service stores exactly the expected CDRs, the ratio is the two
 * measured rates divided, and the stream carries the disorder of real traffic.
 */
import { benchTraffic, lastEventTimeUs, measureDisorder } from '../../bench/traffic';
import { measureLimit } from '../../bench/limit';
import { measurePipeline } from '../../bench/pipeline';
import { assertPipelineCorrect, queueFigures } from '../../bench/run';
import { decodeAll, measureCorrelator } from '../../bench/correlator';
import { percentile } from '../../bench/latency';
import { jsonLine, table } from '../../bench/report';
import { CDR_FIELDS } from '../../correlators/cdr';
import { commitBatches, measureDecodeUs, measureStoreAlone } from '../../bench/store-alone';
import { searchSkipReason } from '../../bench/search';

const EVENTS = 1500;
const INTAKE = { prefetch: 200, batchSize: 100, batchWaitMs: 5 };

describe('bench harness (small N)', () => {
  const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);

  test('the stream is whole simulated calls with real-traffic disorder', () => {
    expect(traffic.messages.length).toBeGreaterThanOrEqual(EVENTS);
    const disorder = measureDisorder(traffic.messages);
    expect(disorder.replyBeforeRequest).toBeGreaterThan(0);
    expect(disorder.duplicates).toBeGreaterThan(0);
    expect(disorder.outOfTimeOrder).toBeGreaterThan(0);
    // Whole calls: every expected CDR's call has its messages in the stream.
    const calls = new Set(traffic.messages.map((m) => m.callId));
    expect(traffic.expected.every((cdr) => calls.has(cdr.call_id))).toBe(true);
    expect(calls.size).toBe(traffic.expected.length);
  });

  test('the stream is a backlog: every event in the past, the last one at the instant asked for', () => {
    const lastUs = 1_796_000_000_123_456;
    const placed = benchTraffic(300, 7, lastUs);
    expect(lastEventTimeUs(placed.messages)).toBe(lastUs);
    expect(placed.messages.every((m) => m.timeUs <= lastUs)).toBe(true);
  });

  test('the correlator alone closes every call into the expected CDR', () => {
    const result = measureCorrelator(decodeAll(traffic.messages), INTAKE.batchSize);
    expect(result.events).toBe(traffic.messages.length);
    expect(result.openCallsLeft).toBe(0);
    expect(result.cdrs.size).toBe(traffic.expected.length);
    for (const want of traffic.expected) {
      const got = result.cdrs.get(want.call_id)!.cdr;
      for (const field of CDR_FIELDS) expect([want.call_id, field, got[field]]).toEqual([want.call_id, field, want[field]]);
    }
  });

  test.each(['classic', 'quorum'] as const)('on a %s queue: counts match and the ratio is pipeline/limit', async (queueType) => {
    const limit = await measureLimit(traffic.messages, { queueType, prefetch: INTAKE.prefetch, ackEvery: 50 });
    expect(limit.messages).toBe(traffic.messages.length);
    expect(limit.perS).toBeCloseTo(limit.messages / (limit.elapsedMs / 1000), 6);
    expect(limit.fsyncs).toBe(0);
    // The durable bare consumer: every delivery parsed and appended, one write + fsync per batch before its ack.
    const durable = await measureLimit(traffic.messages, { queueType, prefetch: INTAKE.prefetch, ackEvery: 50, durable: true });
    expect(durable.messages).toBe(traffic.messages.length);
    expect(durable.fsyncs).toBe(Math.ceil(traffic.messages.length / 50));
    expect(durable.perS).toBeGreaterThan(0);
    expect(durable.perS).toBeCloseTo(durable.messages / (durable.elapsedMs / 1000), 6);

    const pipeline = await measurePipeline(traffic.messages, traffic.expected, { ...INTAKE, queueType });
    expect(pipeline.committedEvents).toBe(traffic.messages.length);
    expect(pipeline.storedCdrs).toBe(traffic.expected.length);
    expect(pipeline.matchingCdrs).toBe(traffic.expected.length);
    expect(pipeline.openCallsLeft).toBe(0);
    expect(() => assertPipelineCorrect(pipeline, queueType)).not.toThrow();
    expect(pipeline.perS).toBeCloseTo(pipeline.committedEvents / (pipeline.elapsedMs / 1000), 6);

    // CPU is counted over the drains: the service spends more per event than a consumer that only acks.
    expect(pipeline.cpu.consumerUs).toBeGreaterThan(limit.cpu.consumerUs);
    expect(limit.cpu.consumerUs).toBeGreaterThan(0);
    const figures = queueFigures(queueType, limit, pipeline, durable, 2);
    expect(figures.ratio).toBe(pipeline.perS / limit.perS);
    expect(figures.durable_limit_per_s).toBe(Math.round(durable.perS));
    expect(figures.durable_ratio).toBe(pipeline.perS / durable.perS);
    expect(figures.cdrs_ok).toBe(traffic.expected.length);
    expect(figures.pipeline_service_cpu_us).toBeCloseTo(pipeline.cpu.consumerUs, 0);
    if (pipeline.cpu.brokerUs !== null && limit.cpu.brokerUs !== null) {
      // RabbitMQ runs on this machine (CI's too): its share is read from /proc.
      expect(figures.cpu_ceiling_ratio).toBeCloseTo(2e6 / (pipeline.cpu.consumerUs + pipeline.cpu.brokerUs) / limit.perS, 2);
    }
  });

  test('the search figures are skipped, with the reason, unless exactly one engine URL is set', () => {
    expect(searchSkipReason({})).toBe('OPENSEARCH_URL / ELASTICSEARCH_URL not set');
    expect(searchSkipReason({ OPENSEARCH_URL: 'http://127.0.0.1:9200' })).toBeNull();
    expect(searchSkipReason({ ELASTICSEARCH_URL: 'http://127.0.0.1:9200' })).toBeNull();
    expect(searchSkipReason({ OPENSEARCH_URL: 'http://a:1', ELASTICSEARCH_URL: 'http://b:2' })).toMatch(/both/);
  });

  test('the store alone commits every event of the stream, with the CDRs the pipeline would write', async () => {
    const batches = commitBatches(traffic.messages, INTAKE.batchSize);
    expect(batches.reduce((sum, b) => sum + b.events.length, 0)).toBe(traffic.messages.length);
    // Every call closes at or before its last event, so the stream's CDRs are all in the batches.
    const cdrCalls = new Set(batches.flatMap((b) => b.cdrs.map((r) => r.cdr.call_id)));
    expect(cdrCalls.size).toBe(traffic.expected.length);
    const result = await measureStoreAlone(traffic.messages, INTAKE.batchSize);
    expect(result.events).toBe(traffic.messages.length);
    expect(result.commits).toBe(batches.length);
    expect(result.cpuUsPerEvent).toBeGreaterThan(0);
    expect(measureDecodeUs(traffic.messages)).toBeGreaterThan(0);
  });

  test('a pipeline result that lost events or CDRs is refused, not reported', () => {
    const good = {
      messages: 10, elapsedMs: 1, perS: 10_000, committedEvents: 10, expectedCdrs: 2, storedCdrs: 2, matchingCdrs: 2,
      mismatchedCallIds: [], openCallsLeft: 0, commits: 1, cpu: { consumerUs: 1, brokerUs: null }, engineCpuUs: null, firstReceivedAtMs: 0, lastCommitAtMs: 1,
    };
    expect(() => assertPipelineCorrect(good, 'x')).not.toThrow();
    expect(() => assertPipelineCorrect({ ...good, committedEvents: 9 }, 'x')).toThrow(/9 of 10 events/);
    expect(() => assertPipelineCorrect({ ...good, matchingCdrs: 1, mismatchedCallIds: ['c'] }, 'x')).toThrow(/1 CDRs differ/);
  });

  test('percentiles are nearest-rank and the report prints every figure once', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    const report = {
      bench: 'opensips-qbl' as const, at: 'now', events: 10, calls: 2, prefetch: 1, batch_size: 1, batch_wait_ms: 0,
      queues: {
        classic: {
          limit_per_s: 100, durable_limit_per_s: 80, durable_ratio: 1.2, pipeline_per_s: 96, ratio: 0.96, cdrs_ok: 2, cdrs_expected: 2, limit_broker_cpu_us: null,
          limit_consumer_cpu_us: 1, pipeline_broker_cpu_us: null, pipeline_service_cpu_us: 3, cpu_ceiling_ratio: null, service_cpu_budget_us: null,
        },
      },
      correlator_per_s: 1, store_per_s: 5, store_cpu_us_per_event: 4, decode_us_per_event: 2, cores: 2, open_calls: 1, bytes_per_open_call: 1, stored_bytes_per_open_call: 1,
      cdr_latency_queue: 'classic' as const, cdr_latency_rate_per_s: 1, cdr_latency_ms_p50: 1, cdr_latency_ms_p99: 2,
      cdr_latency_missing: 0, search_engine: null, search_pipeline_per_s: null, search_limit_per_s: null, search_ratio: null,
      search_cdrs_ok: null, search_bulk_max_docs: null, search_bulk_concurrency: null, search_skipped: 'OPENSEARCH_URL / ELASTICSEARCH_URL not set',
      search_limit_with_state_per_s: null, search_ratio_with_state: null, search_engine_cpu_us_pipeline: null, search_engine_cpu_us_limit: null,
      search_engine_cpu_us_limit_with_state: null,
      partitions_instances_1_per_s: null, partitions_instances_2_per_s: null, partitions_instances_3_per_s: null, partitions_router_cpu_us: null,
      partitions_router_broker_cpu_us: null, partitions_skipped: 'OPENSEARCH_URL / ELASTICSEARCH_URL not set',
      lookup_rate_per_s: 5000, lookup_connections: 16, lookup_max_connections: 64, lookup_p50_ms: 0.2, lookup_p99_ms: 0.9, lookup_bare_p50_ms: 0.2, lookup_bare_p99_ms: 0.6,
      lookup_p99_ratio: 1.5, lookup_alone_p99_ms: 1, lookup_server_p99_ms: 0.25, lookup_max_per_s: 9000, lookup_drain_alone_per_s: 100, lookup_drain_with_lookups_per_s: 95,
      lookup_pipeline_slowdown: 0.05, lookup_load_nice: 19, lookup_service_cpu_us: 30.5, lookup_load_cpu_us: 25.1, lookup_drain_with_lookups_same_priority_per_s: 90, lookup_pipeline_slowdown_same_priority: 0.12, lookup_bytes_per_number: 180, lookup_bytes_per_pair: 150, lookup_rebuild_cdrs: 10, lookup_rebuild_ms: 5,
    };
    const json = JSON.parse(jsonLine(report));
    expect(json.classic_ratio).toBe(0.96);
    expect(json.classic_durable_limit_per_s).toBe(80);
    expect(json.classic_durable_ratio).toBe(1.2);
    expect(table(report)).toMatch(/classic: durable_limit_per_s \(parse, append, fsync per batch\)\s+80/);
    for (const key of ['search_pipeline_per_s', 'search_limit_per_s', 'search_ratio']) {
      expect(json).toHaveProperty(key, null);
      expect(table(report)).toMatch(new RegExp(`${key}\\s+skipped \\(OPENSEARCH_URL / ELASTICSEARCH_URL not set\\)`));
    }
    expect(json.search_skipped).toBe('OPENSEARCH_URL / ELASTICSEARCH_URL not set');
    for (const key of ['partitions_instances_1_per_s', 'partitions_instances_2_per_s', 'partitions_instances_3_per_s', 'partitions_router_cpu_us']) {
      expect(json).toHaveProperty(key, null);
      expect(table(report)).toMatch(new RegExp(`${key}\\s+skipped \\(OPENSEARCH_URL / ELASTICSEARCH_URL not set\\)`));
    }
    expect(json.partitions_router_broker_cpu_us).toBeNull();
    expect(json.partitions_skipped).toBe('OPENSEARCH_URL / ELASTICSEARCH_URL not set');
    const scaled = { ...report, partitions_instances_1_per_s: 9000, partitions_instances_2_per_s: 11000, partitions_instances_3_per_s: 12000,
      partitions_router_cpu_us: 25.4, partitions_router_broker_cpu_us: 40.1, partitions_skipped: null };
    expect(table(scaled)).toMatch(/partitions_instances_2_per_s \(2 × qbl start, P = 8, search store\)\s+11,000/);
    expect(table(scaled)).toMatch(/partitions_router_cpu_us \(router alone, per event\)\s+25\.4\s+broker 40\.1 µs\/event/);
    expect(JSON.parse(jsonLine(scaled))).toMatchObject({ partitions_instances_3_per_s: 12000, partitions_router_cpu_us: 25.4, partitions_skipped: null });
    const measured = { ...report, search_engine: 'opensearch' as const, search_pipeline_per_s: 800, search_limit_per_s: 1000, search_ratio: 0.8,
      search_cdrs_ok: 2, search_bulk_max_docs: 2000, search_bulk_concurrency: 2, search_skipped: null,
      search_limit_with_state_per_s: 900, search_ratio_with_state: 0.889, search_engine_cpu_us_pipeline: 200, search_engine_cpu_us_limit: 120,
      search_engine_cpu_us_limit_with_state: null };
    expect(table(measured)).toMatch(/search_ratio\s+0\.800\s+target >= 0\.8: ok/);
    expect(table(measured)).toMatch(/search_limit_with_state_per_s \(bare client, \+ call documents\)\s+900\s+search_ratio_with_state 0\.889/);
    expect(table(measured)).toMatch(/search engine CPU µs\/event: service drain\s+200\.0\s+bare client 120\.0, with call documents n\/a/);
    expect(JSON.parse(jsonLine(measured)).search_limit_per_s).toBe(1000);
    expect(json.classic_cpu_ceiling_ratio).toBeNull();
    expect(table(report)).toContain('broker not on this host');
    expect(json.lookup_p99_ratio).toBe(1.5);
    expect(table(report)).toMatch(/lookup_p99_ratio \(lookup \/ bare server\)\s+1\.50\s+target <= 2: ok/);
    expect(table(report)).toMatch(/lookup_pipeline_slowdown \(load at nice 19\)\s+0\.050\s+drain 95\/s with lookups, 100\/s without; target <= 0\.10: ok/);
    expect(table(report)).toMatch(/lookup_pipeline_slowdown_same_priority \(load at nice 0\)\s+0\.120\s+drain 90\/s with lookups/);
    expect(table(report)).toMatch(/lookup_service_cpu_us \(per lookup, during the drains\)\s+30\.5\s+the load's own: 25\.1 µs/);
    expect(json).toMatchObject({ lookup_load_nice: 19, lookup_service_cpu_us: 30.5, lookup_load_cpu_us: 25.1, lookup_pipeline_slowdown_same_priority: 0.12 });
  });
});
