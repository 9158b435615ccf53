/** `npm run bench` / `qbl bench` flags, validated once into a read-only object. */
import { loadConfig, type QueueType } from '../src/config/config';
import { UsageError, intFlag, parseFlags } from '../src/flags';

export type QueueChoice = QueueType | 'both';

export interface BenchOptions {
  /** Messages published for the limit and pipeline figures (the generator's whole calls, at least this many). */
  readonly events: number;
  readonly queueTypes: readonly QueueType[];
  readonly prefetch: number;
  readonly batchSize: number;
  readonly batchWaitMs: number;
  /** The bare consumer acks (multiple) every this many deliveries. */
  readonly ackEvery: number;
  readonly openCalls: number;
  readonly latencySeconds: number;
  readonly latencyRatePerS: number;
  readonly seed: number;
  readonly jsonOnly: boolean;
  /** Paced lookups per second while the service drains (the number lookup's figures). */
  readonly lookupRatePerS: number;
  readonly lookupConnections: number;
  readonly lookupNumbers: number;
  readonly lookupRebuildCdrs: number;
}

/** The service's own intake defaults (QBL_PREFETCH, QBL_BATCH_SIZE, QBL_BATCH_WAIT_MS), so the bench measures it as shipped. */
const SERVICE_INTAKE = loadConfig({}).intake;

export const DEFAULT_BENCH_OPTIONS: BenchOptions = Object.freeze({
  events: 60_000,
  queueTypes: Object.freeze(['quorum', 'classic'] as QueueType[]),
  prefetch: SERVICE_INTAKE.prefetch,
  batchSize: SERVICE_INTAKE.batchSize,
  batchWaitMs: SERVICE_INTAKE.batchWaitMs,
  ackEvery: 500,
  openCalls: 100_000,
  latencySeconds: 10,
  latencyRatePerS: 5000,
  seed: 1,
  jsonOnly: false,
  lookupRatePerS: 5000,
  lookupConnections: 16,
  lookupNumbers: 200_000,
  lookupRebuildCdrs: 200_000,
});

export const BENCH_USAGE = `usage: qbl bench [--events N] [--queue-type quorum|classic|both] [--prefetch N]
                 [--batch-size N] [--batch-wait-ms N] [--open-calls N] [--latency-seconds N]
                 [--seed N] [--lookup-rate N] [--lookup-connections N] [--lookup-rebuild-cdrs N] [--json-only]
  --events N           messages drained by the bare consumer and by the service (default ${DEFAULT_BENCH_OPTIONS.events})
  --queue-type T       quorum, classic or both (default both)
  --prefetch N         consumer prefetch for both consumers (default ${DEFAULT_BENCH_OPTIONS.prefetch})
  --batch-size N       service batch size; the bare consumer acks every min(N, ${DEFAULT_BENCH_OPTIONS.ackEvery}) (default ${DEFAULT_BENCH_OPTIONS.batchSize})
  --batch-wait-ms N    service batch wait (default ${DEFAULT_BENCH_OPTIONS.batchWaitMs})
  --open-calls N       concurrent open calls for the memory figure (default ${DEFAULT_BENCH_OPTIONS.openCalls})
  --latency-seconds N  length of the 5k events/s latency run (default ${DEFAULT_BENCH_OPTIONS.latencySeconds})
  --seed N             traffic generator seed (default ${DEFAULT_BENCH_OPTIONS.seed})
  --lookup-rate N      paced number lookups per second while the service drains (default ${DEFAULT_BENCH_OPTIONS.lookupRatePerS})
  --lookup-connections N  keep-alive connections of the lookup load, as OpenSIPS workers (default ${DEFAULT_BENCH_OPTIONS.lookupConnections})
  --lookup-rebuild-cdrs N CDRs the lookup's rebuild at start reads back (default ${DEFAULT_BENCH_OPTIONS.lookupRebuildCdrs})
  --json-only          print only the JSON line
RabbitMQ from AMQP_URL; with OPENSEARCH_URL or ELASTICSEARCH_URL set, also the search-store path:
the service on the search store and a bare client bulk-indexing the same documents (search_ratio),
then 1, 2 and 3 qbl start instances at QBL_PARTITIONS=8 (aggregate events/s) and the router's CPU per event.`;

const FLAGS = {
  events: { type: 'string' },
  'queue-type': { type: 'string' },
  prefetch: { type: 'string' },
  'batch-size': { type: 'string' },
  'batch-wait-ms': { type: 'string' },
  'open-calls': { type: 'string' },
  'latency-seconds': { type: 'string' },
  seed: { type: 'string' },
  'json-only': { type: 'boolean' },
  'lookup-rate': { type: 'string' },
  'lookup-connections': { type: 'string' },
  'lookup-rebuild-cdrs': { type: 'string' },
} as const;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseFlags(argv, FLAGS);
  const d = DEFAULT_BENCH_OPTIONS;
  const queue = values['queue-type'] ?? 'both';
  if (queue !== 'quorum' && queue !== 'classic' && queue !== 'both') {
    throw new UsageError(`--queue-type: expected quorum, classic or both, got ${JSON.stringify(queue)}`);
  }
  const prefetch = intFlag('prefetch', values.prefetch, d.prefetch, 1, 65535);
  const batchSize = intFlag('batch-size', values['batch-size'], Math.min(d.batchSize, prefetch), 1, 65535);
  if (batchSize > prefetch) throw new UsageError(`--batch-size: expected at most --prefetch (${prefetch}), got ${batchSize}`);
  return Object.freeze({
    events: intFlag('events', values.events, d.events, 10, 10_000_000),
    queueTypes: queue === 'both' ? d.queueTypes : [queue as QueueType],
    prefetch,
    batchSize,
    batchWaitMs: intFlag('batch-wait-ms', values['batch-wait-ms'], d.batchWaitMs, 0, 10_000),
    ackEvery: Math.min(batchSize, d.ackEvery),
    openCalls: intFlag('open-calls', values['open-calls'], d.openCalls, 1, 10_000_000),
    latencySeconds: intFlag('latency-seconds', values['latency-seconds'], d.latencySeconds, 1, 3600),
    latencyRatePerS: d.latencyRatePerS,
    seed: intFlag('seed', values.seed, d.seed, 0, 2 ** 31),
    jsonOnly: values['json-only'] === true,
    lookupRatePerS: intFlag('lookup-rate', values['lookup-rate'], d.lookupRatePerS, 1, 1_000_000),
    lookupConnections: intFlag('lookup-connections', values['lookup-connections'], d.lookupConnections, 1, 1024),
    lookupNumbers: d.lookupNumbers,
    lookupRebuildCdrs: intFlag('lookup-rebuild-cdrs', values['lookup-rebuild-cdrs'], d.lookupRebuildCdrs, 1, 100_000_000),
  });
}
