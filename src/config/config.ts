/**
 * Configuration is read from the environment once, validated, and frozen into a typed object
 * that composes the stages' own option types. Each value is read through its row of the table of
 * variables (variables.ts); every rule fails with the option's name and what was expected (ConfigError).
 */
import { ConfigError } from '../errors';
import { DEFAULT_ATTRIBUTE_NAMES, DEFAULT_EVENT_NAMES, type DecoderOptions, type EventMapping, type QblAttribute } from '../../consumers/decode/options';
import { type Env, read } from './env';
import { redact } from '../redact';
import { readDialPlan } from './dialplan';
import { DEFAULT_AMQP_URL, VARIABLES as V } from './variables';
import type { DialPlan } from '../numbers/dial-plan';
import type { AmqpConfig, IntakeConfig, QueueType, TopologyConfig } from '../../consumers/amqp/options';
import type { CorrelatorOptions } from '../../correlators/correlator';
import type { SearchConfig } from '../stores/search/options';
import { REASONS, type Action, type LookupOptions, type Reason } from '../lookup/options';

/** Each stage owns its options; the configuration composes them. */
export type { AmqpConfig, IntakeConfig, LookupOptions, QueueType, SearchConfig, TopologyConfig };

/** The correlator's own options, plus how the service drives it: the sweep and the event clock. */
export interface CorrelatorConfig extends CorrelatorOptions {
  readonly sweepIntervalMs: number;
  /** Events further ahead of the wall clock than this do not advance the event clock. */
  readonly maxClockSkewUs: number;
}

export interface HttpConfig {
  /** 0 disables the endpoint. */
  readonly port: number;
  readonly host: string;
}

export interface Config {
  readonly amqp: AmqpConfig;
  readonly topology: TopologyConfig;
  readonly intake: IntakeConfig;
  readonly correlator: CorrelatorConfig;
  readonly decoder: DecoderOptions;
  /** How caller and callee are normalised to E.164 (`caller_e164`, `callee_e164`). */
  readonly dialPlan: DialPlan;
  readonly sqlitePath: string;
  /** The embedded store's retention in days (0: keep everything). */
  readonly sqliteRetentionDays: number;
  /** Set when ELASTICSEARCH_URL or OPENSEARCH_URL is: CDRs and events then go there too. */
  readonly search?: SearchConfig;
  readonly http: HttpConfig;
  /** The real-time number lookup (off unless QBL_LOOKUP_PORT is set). */
  readonly lookup: LookupOptions;
  readonly logLevel: string;
  readonly statsIntervalS: number;
  /** Partitions by call id (docs/scaling.md): 1 is one queue, one active consumer; above 1 (search store only) a router and owned partitions. */
  readonly partitions: number;
}

export { DEFAULT_AMQP_URL };

/** AMQP_HEARTBEAT_S unless set: 30 s, or 10 s with partitions, so a silently cut-off owner's locks go within 30 s (docs/scaling.md). */
export const DEFAULT_HEARTBEAT_S = 30;
export const DEFAULT_PARTITIONS_HEARTBEAT_S = 10;

function readAmqp(env: Env, partitions: number): AmqpConfig {
  const url = read(env, V.AMQP_URL);
  return Object.freeze({
    url,
    urlForLogs: redact(url),
    heartbeatS: read(env, V.AMQP_HEARTBEAT_S) ?? (partitions > 1 ? DEFAULT_PARTITIONS_HEARTBEAT_S : DEFAULT_HEARTBEAT_S),
    caFile: read(env, V.AMQP_CA_FILE),
    certFile: read(env, V.AMQP_CERT_FILE),
    keyFile: read(env, V.AMQP_KEY_FILE),
  });
}

function readTopology(env: Env): TopologyConfig {
  const queue = read(env, V.QBL_QUEUE);
  return Object.freeze({
    exchange: read(env, V.QBL_EXCHANGE),
    queue,
    queueType: read(env, V.QBL_QUEUE_TYPE),
    bindingKey: read(env, V.QBL_BINDING_KEY),
    deliveryLimit: read(env, V.QBL_DELIVERY_LIMIT),
    deadLetterExchange: read(env, V.QBL_DEAD_LETTER_EXCHANGE) ?? `${queue}.dlx`,
    deadLetterQueue: read(env, V.QBL_DEAD_LETTER_QUEUE) ?? `${queue}.dead`,
  });
}

function readIntake(env: Env): IntakeConfig {
  const prefetch = read(env, V.QBL_PREFETCH);
  const batchSize = read(env, V.QBL_BATCH_SIZE);
  if (batchSize > prefetch) throw new ConfigError('QBL_BATCH_SIZE', `at most QBL_PREFETCH (${prefetch})`, String(batchSize));
  return Object.freeze({ prefetch, batchSize, batchWaitMs: read(env, V.QBL_BATCH_WAIT_MS) });
}

function readCorrelator(env: Env): CorrelatorConfig {
  const S = 1_000_000;
  return Object.freeze({
    setupTimeoutUs: read(env, V.QBL_SETUP_TIMEOUT_S) * S,
    maxCallDurationUs: read(env, V.QBL_MAX_CALL_DURATION_S) * S,
    byeGraceUs: read(env, V.QBL_BYE_GRACE_S) * S,
    sweepIntervalMs: read(env, V.QBL_SWEEP_INTERVAL_MS),
    maxClockSkewUs: read(env, V.QBL_MAX_CLOCK_SKEW_S) * S,
    accToleranceMs: read(env, V.QBL_ACC_TOLERANCE_MS),
  });
}

function readDecoder(env: Env): DecoderOptions {
  const eventNames = new Map<string, EventMapping>(DEFAULT_EVENT_NAMES);
  for (const [name, kind] of read(env, V.QBL_EVENT_MAP) ?? []) eventNames.set(name, kind);
  const attributeNames: Record<QblAttribute, string> = { ...DEFAULT_ATTRIBUTE_NAMES };
  for (const [ours, theirs] of read(env, V.QBL_ATTRIBUTE_MAP) ?? []) attributeNames[ours] = theirs;
  return Object.freeze({
    eventNames,
    attributeNames: Object.freeze(attributeNames),
    maxBodyBytes: read(env, V.QBL_MAX_BODY_BYTES),
  });
}

function readSearch(env: Env): SearchConfig | undefined {
  const esUrl = read(env, V.ELASTICSEARCH_URL);
  const osUrl = read(env, V.OPENSEARCH_URL);
  if (esUrl && osUrl) throw new ConfigError('ELASTICSEARCH_URL', 'either ELASTICSEARCH_URL or OPENSEARCH_URL, not both');
  const url = esUrl ?? osUrl;
  if (url === undefined) return undefined;
  const indexPrefix = read(env, V.QBL_INDEX_PREFIX);
  const credentials = esUrl !== undefined
    ? {
      engine: 'elasticsearch' as const,
      apiKey: read(env, V.ELASTICSEARCH_API_KEY),
      username: read(env, V.ELASTICSEARCH_USERNAME),
      password: read(env, V.ELASTICSEARCH_PASSWORD),
      caFile: read(env, V.ELASTICSEARCH_CA_FILE),
      awsRegion: undefined,
    }
    : {
      engine: 'opensearch' as const,
      apiKey: undefined,
      username: read(env, V.OPENSEARCH_USERNAME),
      password: read(env, V.OPENSEARCH_PASSWORD),
      caFile: read(env, V.OPENSEARCH_CA_FILE),
      awsRegion: read(env, V.OPENSEARCH_AWS_REGION),
    };
  return Object.freeze({
    url,
    urlForLogs: redact(url),
    ...credentials,
    indexPrefix,
    retentionDays: read(env, V.QBL_RETENTION_DAYS),
    callsRetentionDays: read(env, V.QBL_CALLS_RETENTION_DAYS),
    bulkMaxDocs: read(env, V.QBL_BULK_MAX_DOCS),
    bulkConcurrency: read(env, V.QBL_BULK_CONCURRENCY),
  });
}

/** Each reason's action; a reason in both lists is a mistake, not a choice between them. */
function readLookupActions(env: Env): Readonly<Record<Reason, Action>> {
  const block = new Set(read(env, V.QBL_LOOKUP_BLOCK_REASONS));
  const warn = new Set(read(env, V.QBL_LOOKUP_WARN_REASONS));
  const both = [...block].filter((reason) => warn.has(reason));
  if (both.length > 0) throw new ConfigError('QBL_LOOKUP_WARN_REASONS', 'no reason that QBL_LOOKUP_BLOCK_REASONS already lists', both.join(','));
  const actions = {} as Record<Reason, Action>;
  for (const reason of REASONS) actions[reason] = block.has(reason) ? 'block' : warn.has(reason) ? 'warn' : 'ignore';
  return Object.freeze(actions);
}

function readLookup(env: Env): LookupOptions {
  return Object.freeze({
    port: read(env, V.QBL_LOOKUP_PORT),
    host: read(env, V.QBL_LOOKUP_HOST),
    rules: Object.freeze({
      invalidCalls: read(env, V.QBL_LOOKUP_INVALID_CALLS),
      invalidCodes: new Set(read(env, V.QBL_LOOKUP_INVALID_CODES)),
      windowDays: read(env, V.QBL_LOOKUP_WINDOW_DAYS),
      burstCalls: read(env, V.QBL_LOOKUP_BURST_CALLS),
      burstWindowS: read(env, V.QBL_LOOKUP_BURST_WINDOW_S),
      burstPrefixDigits: read(env, V.QBL_LOOKUP_BURST_PREFIX_DIGITS),
      burstShortS: read(env, V.QBL_LOOKUP_BURST_SHORT_S),
      actions: readLookupActions(env),
    }),
    limits: Object.freeze({
      maxNumbers: read(env, V.QBL_LOOKUP_MAX_NUMBERS),
      maxPairs: read(env, V.QBL_LOOKUP_MAX_PAIRS),
    }),
    pollIntervalMs: read(env, V.QBL_LOOKUP_POLL_S) * 1000,
  });
}

export function loadConfig(env: Env = process.env): Config {
  const search = readSearch(env);
  const partitions = read(env, V.QBL_PARTITIONS);
  if (partitions > 1 && search === undefined) {
    throw new ConfigError('QBL_PARTITIONS', '1 with the SQLite store (partitions need the search store: ELASTICSEARCH_URL or OPENSEARCH_URL)', String(partitions));
  }
  return Object.freeze({
    amqp: readAmqp(env, partitions),
    // SQLite: one instance, an exclusive consumer; search store: hot standbys (docs/scaling.md).
    // Partitions: every instance's router consumes the queue (competing consumers).
    topology: Object.freeze({ ...readTopology(env), consumers: search === undefined ? 'exclusive' as const : partitions > 1 ? 'competing' as const : 'single-active' as const }),
    partitions,
    intake: readIntake(env),
    correlator: readCorrelator(env),
    decoder: readDecoder(env),
    dialPlan: readDialPlan(env),
    sqlitePath: read(env, V.SQLITE_PATH),
    sqliteRetentionDays: read(env, V.QBL_SQLITE_RETENTION_DAYS),
    search,
    http: Object.freeze({
      port: read(env, V.QBL_HTTP_PORT),
      host: read(env, V.QBL_HTTP_HOST),
    }),
    lookup: readLookup(env),
    logLevel: read(env, V.LOG_LEVEL),
    statsIntervalS: read(env, V.QBL_STATS_INTERVAL_S),
  });
}
