/**
 * `npm run bench` (and `qbl bench`): every figure of issue 6 in one run, side by side, printed as
 * a table and as one JSON line. Method and latest figures: docs/performance.md.
 */
import type { QueueType } from '../src/config/config';
import type { Cdr } from '../correlators/cdr';
import type { BenchMessage } from './broker';
import type { IntakeFlags } from './service-run';
import { parseBenchArgs, type BenchOptions, BENCH_USAGE } from './options';
import { benchTraffic, type BenchTraffic } from './traffic';
import { measureLimit, type LimitResult, type RateResult } from './limit';
import { localEnginePid, measureSearchLimit, searchEnv, searchSkipReason } from './search';
import { loadConfig } from '../src/config/config';
import { assertPipelineCorrect, measurePipeline, type PipelineResult } from './pipeline';

export { assertPipelineCorrect };
import { measureCorrelatorIsolated } from './correlator';
import { measureMemory } from './memory';
import { measureLatency } from './latency';
import { jsonLine, table, TARGETS, type BenchReport, type QueueFigures } from './report';
import { consumerBudgetUs, cores, cpuCeilingPerS } from './cpu';
import { measureDecodeUs, measureStoreAlone } from './store-alone';
import { LOAD_NICE, MAX_LOAD_FACTOR, measureLookup } from './lookup';
import { measurePartitions } from './partitions';

const tenths = (value: number): number => Math.round(value * 10) / 10;
const hundredths = (value: number): number => Math.round(value * 100) / 100;
const tenthsOrNull = (value: number | null): number | null => (value === null ? null : tenths(value));

export function queueFigures(queueType: QueueType, limit: LimitResult, pipeline: PipelineResult, durable: RateResult, coreCount = cores()): QueueFigures {
  const ceilingPerS = cpuCeilingPerS(pipeline.cpu, coreCount);
  const target = queueType === 'quorum' ? TARGETS.quorumRatio : TARGETS.classicRatio;
  return {
    limit_per_s: Math.round(limit.perS),
    durable_limit_per_s: Math.round(durable.perS),
    durable_ratio: durable.perS > 0 ? pipeline.perS / durable.perS : 0,
    pipeline_per_s: Math.round(pipeline.perS),
    ratio: limit.perS > 0 ? pipeline.perS / limit.perS : 0,
    cdrs_ok: pipeline.matchingCdrs,
    cdrs_expected: pipeline.expectedCdrs,
    limit_broker_cpu_us: tenthsOrNull(limit.cpu.brokerUs),
    limit_consumer_cpu_us: tenths(limit.cpu.consumerUs),
    pipeline_broker_cpu_us: tenthsOrNull(pipeline.cpu.brokerUs),
    pipeline_service_cpu_us: tenths(pipeline.cpu.consumerUs),
    cpu_ceiling_ratio: ceilingPerS === null || limit.perS <= 0 ? null : Math.round((ceilingPerS / limit.perS) * 1000) / 1000,
    service_cpu_budget_us: tenthsOrNull(consumerBudgetUs(target * limit.perS, limit.cpu.brokerUs, coreCount)),
  };
}

export async function runBench(options: BenchOptions, log: (line: string) => void): Promise<BenchReport> {
  const traffic: BenchTraffic = benchTraffic(options.events, options.seed, Date.now() * 1000);
  const { messages, expected } = traffic;
  log(`traffic: ${messages.length} messages, ${expected.length} calls`);
  const intake = { prefetch: options.prefetch, batchSize: options.batchSize, batchWaitMs: options.batchWaitMs };

  const queues: Partial<Record<QueueType, QueueFigures>> = {};
  /** The store-alone run commits batches of the size the first pipeline run did. */
  let storeBatchSize: number | undefined;
  for (const queueType of options.queueTypes) {
    const limit = await measureLimit(messages, { queueType, prefetch: options.prefetch, ackEvery: options.ackEvery });
    log(`${queueType}: bare consumer ${Math.round(limit.perS)}/s`);
    const durable = await measureLimit(messages, { queueType, prefetch: options.prefetch, ackEvery: options.ackEvery, durable: true });
    log(`${queueType}: durable bare consumer ${Math.round(durable.perS)}/s (${durable.fsyncs} fsyncs)`);
    // The same stream: a backlog, whose age does not matter (the event clock starts at its first event).
    const pipeline = await measurePipeline(messages, expected, { ...intake, queueType });
    assertPipelineCorrect(pipeline, `${queueType} pipeline`);
    queues[queueType] = queueFigures(queueType, limit, pipeline, durable);
    storeBatchSize ??= Math.ceil(pipeline.committedEvents / pipeline.commits);
    log(`${queueType}: service ${Math.round(pipeline.perS)}/s`);
  }

  const store = await measureStoreAlone(messages, storeBatchSize ?? options.batchSize);
  log(`store alone: ${Math.round(store.perS)}/s, ${store.cpuUsPerEvent.toFixed(1)} CPU µs/event`);
  const decodeUs = measureDecodeUs(messages);
  log(`decode alone: ${decodeUs.toFixed(1)} µs/event`);

  const correlator = await measureCorrelatorIsolated(options.events, options.seed, options.batchSize);
  log(`correlator: ${Math.round(correlator.perS)}/s`);
  const memory = await measureMemory(options.openCalls, options.seed);
  log(`memory: ${memory.heapBytesPerOpenCall} B/open call`);

  const latencyQueue = options.queueTypes[0]!;
  const paced = benchTraffic(options.latencyRatePerS * options.latencySeconds, options.seed + 1, Date.now() * 1000);
  const latency = await measureLatency(paced.messages, paced.expected, { ...intake, queueType: latencyQueue, ratePerS: options.latencyRatePerS });
  log(`latency: p99 ${latency.p99Ms.toFixed(1)} ms`);

  const lookup = await measureLookup(messages, expected, {
    ...intake, queueType: latencyQueue, ratePerS: options.lookupRatePerS, connections: options.lookupConnections,
    memoryNumbers: options.lookupNumbers, rebuildCdrs: options.lookupRebuildCdrs,
  }, log);

  const search = await measureSearchPath(messages, expected, { ...intake, queueType: options.queueTypes[0]! }, log);
  const partitions = await measurePartitions(messages, expected, { ...intake, queueType: options.queueTypes[0]! }, log);

  return {
    bench: 'opensips-qbl',
    at: new Date().toISOString(),
    events: messages.length,
    calls: expected.length,
    prefetch: options.prefetch,
    batch_size: options.batchSize,
    batch_wait_ms: options.batchWaitMs,
    queues,
    correlator_per_s: Math.round(correlator.perS),
    store_per_s: Math.round(store.perS),
    store_cpu_us_per_event: tenths(store.cpuUsPerEvent),
    decode_us_per_event: tenths(decodeUs),
    cores: cores(),
    open_calls: memory.openCalls,
    bytes_per_open_call: memory.heapBytesPerOpenCall,
    stored_bytes_per_open_call: memory.storedBytesPerOpenCall,
    cdr_latency_queue: latencyQueue,
    cdr_latency_rate_per_s: Math.round(latency.publishedPerS),
    cdr_latency_ms_p50: tenths(latency.p50Ms),
    cdr_latency_ms_p99: tenths(latency.p99Ms),
    cdr_latency_missing: latency.missing,
    ...search,
    ...partitions,
    lookup_rate_per_s: options.lookupRatePerS,
    lookup_connections: options.lookupConnections,
    lookup_max_connections: options.lookupConnections * MAX_LOAD_FACTOR,
    lookup_p50_ms: hundredths(lookup.lookup.p50Ms),
    lookup_p99_ms: hundredths(lookup.lookup.p99Ms),
    lookup_bare_p50_ms: hundredths(lookup.bare.p50Ms),
    lookup_bare_p99_ms: hundredths(lookup.bare.p99Ms),
    lookup_p99_ratio: hundredths(lookup.bare.p99Ms > 0 ? lookup.lookup.p99Ms / lookup.bare.p99Ms : 0),
    lookup_alone_p99_ms: hundredths(lookup.lookupOnly.p99Ms),
    lookup_server_p99_ms: lookup.serverP99Ms,
    lookup_max_per_s: Math.round(lookup.maxPerS),
    lookup_drain_alone_per_s: Math.round(lookup.drainAlonePerS),
    lookup_drain_with_lookups_per_s: Math.round(lookup.drainWithLookupsPerS),
    lookup_pipeline_slowdown: Math.round(lookup.slowdown * 1000) / 1000,
    lookup_load_nice: LOAD_NICE,
    lookup_service_cpu_us: tenths(lookup.serviceCpuUsPerLookup),
    lookup_load_cpu_us: tenths(lookup.loadCpuUsPerLookup),
    lookup_drain_with_lookups_same_priority_per_s: Math.round(lookup.drainWithLookupsSamePriorityPerS),
    lookup_pipeline_slowdown_same_priority: Math.round(lookup.slowdownSamePriority * 1000) / 1000,
    lookup_bytes_per_number: lookup.bytesPerNumber,
    lookup_bytes_per_pair: lookup.bytesPerPair,
    lookup_rebuild_cdrs: lookup.rebuildCdrs,
    lookup_rebuild_ms: lookup.rebuildMs,
  };
}

type SearchFigures = Pick<BenchReport, 'search_engine' | 'search_pipeline_per_s' | 'search_limit_per_s' | 'search_ratio' | 'search_cdrs_ok'
  | 'search_bulk_max_docs' | 'search_bulk_concurrency' | 'search_skipped' | 'search_limit_with_state_per_s' | 'search_ratio_with_state'
  | 'search_engine_cpu_us_pipeline' | 'search_engine_cpu_us_limit' | 'search_engine_cpu_us_limit_with_state'>;

const ratio = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 1000) / 1000 : null);

/**
 * With OPENSEARCH_URL or ELASTICSEARCH_URL: the service on the search store draining the backlog
 * (its CDRs read back from the engine and checked), then a bare client indexing the same
 * documents (bench/search.ts); otherwise every figure null and the reason.
 */
export async function measureSearchPath(
  messages: readonly BenchMessage[], expected: readonly Cdr[], intake: IntakeFlags & { queueType: QueueType }, log: (line: string) => void,
): Promise<SearchFigures> {
  const skipped = searchSkipReason();
  if (skipped !== null) {
    log(`search path skipped: ${skipped}`);
    return {
      search_engine: null, search_pipeline_per_s: null, search_limit_per_s: null, search_ratio: null, search_cdrs_ok: null,
      search_bulk_max_docs: null, search_bulk_concurrency: null, search_skipped: skipped,
      search_limit_with_state_per_s: null, search_ratio_with_state: null,
      search_engine_cpu_us_pipeline: null, search_engine_cpu_us_limit: null, search_engine_cpu_us_limit_with_state: null,
    };
  }
  const config = loadConfig(searchEnv()).search!;
  const enginePid = localEnginePid(config.url);
  const pipeline = await measurePipeline(messages, expected, { ...intake, search: true, stallTimeoutMs: 120_000, enginePid });
  assertPipelineCorrect(pipeline, `${config.engine} pipeline`);
  const batchSize = Math.ceil(pipeline.committedEvents / pipeline.commits);
  log(`search: service ${Math.round(pipeline.perS)}/s on ${config.engine} (${pipeline.commits} commits, ${batchSize} events each on average)`);
  const limit = await measureSearchLimit(messages, batchSize);
  log(`search: bare client ${Math.round(limit.perS)}/s (${limit.documents} documents, ${limit.requests} requests)`);
  const withState = await measureSearchLimit(messages, batchSize, true);
  log(`search: bare client with the call documents ${Math.round(withState.perS)}/s (${withState.documents} documents, ${withState.requests} requests)`);
  return {
    search_engine: config.engine,
    search_pipeline_per_s: Math.round(pipeline.perS),
    search_limit_per_s: Math.round(limit.perS),
    search_ratio: ratio(pipeline.perS, limit.perS),
    search_limit_with_state_per_s: Math.round(withState.perS),
    search_ratio_with_state: ratio(pipeline.perS, withState.perS),
    search_engine_cpu_us_pipeline: tenthsOrNull(pipeline.engineCpuUs),
    search_engine_cpu_us_limit: tenthsOrNull(limit.engineCpuUs),
    search_engine_cpu_us_limit_with_state: tenthsOrNull(withState.engineCpuUs),
    search_cdrs_ok: pipeline.matchingCdrs,
    search_bulk_max_docs: config.bulkMaxDocs,
    search_bulk_concurrency: config.bulkConcurrency,
    search_skipped: null,
  };
}

/** Entry point of `node dist/bench/run.js [flags]` and of `qbl bench`; returns the exit code. */
export async function benchMain(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  const options = parseBenchArgs(argv);
  const log = options.jsonOnly ? () => undefined : (line: string) => process.stderr.write(`bench: ${line}\n`);
  const report = await runBench(options, log);
  if (!options.jsonOnly) process.stdout.write(`${table(report)}\n`);
  process.stdout.write(`${jsonLine(report)}\n`);
  return 0;
}

if (require.main === module) {
  benchMain(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => {
      process.stderr.write(`bench: ${(error as Error)?.message ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
