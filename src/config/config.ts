/**
 * Configuration is read from the environment once, validated, and frozen into a typed object.
 * Every rule fails with the option's name and what was expected (ConfigError).
 */
import { ConfigError } from '../errors';
import {
  DEFAULT_ATTRIBUTE_NAMES, DEFAULT_EVENT_NAMES, EVENT_MAPPINGS, QBL_ATTRIBUTES,
  type DecoderOptions, type EventMapping, type QblAttribute,
} from '../../consumers/decode/options';
import {
  type Env, readEnum, readInt, readOptionalString, readPairs, readReadableFile, readSecret, readString,
} from './env';
import { redact } from '../redact';
import { readDialPlan } from './dialplan';
import type { DialPlan } from '../numbers/dial-plan';
import type { AmqpConfig, IntakeConfig, QueueType, TopologyConfig } from '../../consumers/amqp/options';
import type { CorrelatorOptions } from '../../correlators/correlator';
import type { SearchConfig } from '../stores/search/options';

/** Each stage owns its options; the configuration composes them. */
export type { AmqpConfig, IntakeConfig, QueueType, SearchConfig, TopologyConfig };

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
  /** Set when ELASTICSEARCH_URL or OPENSEARCH_URL is: CDRs and events then go there too. */
  readonly search?: SearchConfig;
  readonly http: HttpConfig;
  readonly logLevel: string;
  readonly statsIntervalS: number;
}

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

const NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

function readName(env: Env, option: string, fallback: string): string {
  const value = readString(env, option, fallback);
  if (!NAME.test(value)) throw new ConfigError(option, 'a name of letters, digits, `_.:-` (at most 255)', value);
  return value;
}

function readAmqp(env: Env): AmqpConfig {
  const url = readSecret(env, 'AMQP_URL') ?? DEFAULT_AMQP_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('AMQP_URL', 'an amqp:// or amqps:// URL', redact(url));
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new ConfigError('AMQP_URL', 'an amqp:// or amqps:// URL', redact(url));
  }
  return Object.freeze({
    url,
    urlForLogs: redact(url),
    heartbeatS: readInt(env, 'AMQP_HEARTBEAT_S', 30, 0, 3600),
    caFile: readReadableFile(env, 'AMQP_CA_FILE'),
    certFile: readReadableFile(env, 'AMQP_CERT_FILE'),
    keyFile: readReadableFile(env, 'AMQP_KEY_FILE'),
  });
}

function readTopology(env: Env): TopologyConfig {
  const queue = readName(env, 'QBL_QUEUE', 'qbl.events');
  return Object.freeze({
    exchange: readName(env, 'QBL_EXCHANGE', 'opensips'),
    queue,
    queueType: readEnum<QueueType>(env, 'QBL_QUEUE_TYPE', ['quorum', 'classic'], 'quorum'),
    bindingKey: readString(env, 'QBL_BINDING_KEY', '#'),
    deliveryLimit: readInt(env, 'QBL_DELIVERY_LIMIT', 10, 1, 1000),
    deadLetterExchange: readName(env, 'QBL_DEAD_LETTER_EXCHANGE', `${queue}.dlx`),
    deadLetterQueue: readName(env, 'QBL_DEAD_LETTER_QUEUE', `${queue}.dead`),
  });
}

function readIntake(env: Env): IntakeConfig {
  const prefetch = readInt(env, 'QBL_PREFETCH', 10_000, 1, 65535);
  const batchSize = readInt(env, 'QBL_BATCH_SIZE', 5000, 1, 65535);
  if (batchSize > prefetch) throw new ConfigError('QBL_BATCH_SIZE', `at most QBL_PREFETCH (${prefetch})`, String(batchSize));
  return Object.freeze({ prefetch, batchSize, batchWaitMs: readInt(env, 'QBL_BATCH_WAIT_MS', 10, 0, 10_000) });
}

function readCorrelator(env: Env): CorrelatorConfig {
  const S = 1_000_000;
  return Object.freeze({
    setupTimeoutUs: readInt(env, 'QBL_SETUP_TIMEOUT_S', 300, 1, 86_400) * S,
    maxCallDurationUs: readInt(env, 'QBL_MAX_CALL_DURATION_S', 14_400, 1, 30 * 86_400) * S,
    byeGraceUs: readInt(env, 'QBL_BYE_GRACE_S', 5, 0, 3600) * S,
    sweepIntervalMs: readInt(env, 'QBL_SWEEP_INTERVAL_MS', 1000, 10, 60_000),
    maxClockSkewUs: readInt(env, 'QBL_MAX_CLOCK_SKEW_S', 300, 0, 86_400) * S,
    accToleranceMs: readInt(env, 'QBL_ACC_TOLERANCE_MS', 1000, 0, 3_600_000),
  });
}

function readDecoder(env: Env): DecoderOptions {
  const eventNames = new Map<string, EventMapping>(DEFAULT_EVENT_NAMES);
  for (const [name, kind] of readPairs(env, 'QBL_EVENT_MAP')) {
    if (!(EVENT_MAPPINGS as readonly string[]).includes(kind)) {
      throw new ConfigError('QBL_EVENT_MAP', `EVENT=KIND pairs with KIND one of ${EVENT_MAPPINGS.join(', ')}`, `${name}=${kind}`);
    }
    eventNames.set(name, kind as EventMapping);
  }
  const attributeNames: Record<QblAttribute, string> = { ...DEFAULT_ATTRIBUTE_NAMES };
  for (const [ours, theirs] of readPairs(env, 'QBL_ATTRIBUTE_MAP')) {
    if (!(QBL_ATTRIBUTES as readonly string[]).includes(ours)) {
      throw new ConfigError('QBL_ATTRIBUTE_MAP', `OURS=THEIRS pairs with OURS one of ${QBL_ATTRIBUTES.join(', ')}`, `${ours}=${theirs}`);
    }
    attributeNames[ours as QblAttribute] = theirs;
  }
  return Object.freeze({
    eventNames,
    attributeNames: Object.freeze(attributeNames),
    maxBodyBytes: readInt(env, 'QBL_MAX_BODY_BYTES', 65_536, 1024, 16 * 1024 * 1024),
  });
}

function readSearch(env: Env): SearchConfig | undefined {
  const esUrl = readOptionalString(env, 'ELASTICSEARCH_URL');
  const osUrl = readOptionalString(env, 'OPENSEARCH_URL');
  if (esUrl && osUrl) throw new ConfigError('ELASTICSEARCH_URL', 'either ELASTICSEARCH_URL or OPENSEARCH_URL, not both');
  const url = esUrl ?? osUrl;
  if (url === undefined) return undefined;
  const engine = esUrl ? 'elasticsearch' : 'opensearch';
  const prefix = engine === 'elasticsearch' ? 'ELASTICSEARCH' : 'OPENSEARCH';
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError(`${prefix}_URL`, 'an http:// or https:// URL', redact(url));
  const indexPrefix = readString(env, 'QBL_INDEX_PREFIX', 'qbl');
  if (!/^[a-z0-9][a-z0-9_-]{0,50}$/.test(indexPrefix)) {
    throw new ConfigError('QBL_INDEX_PREFIX', 'lower-case letters, digits, `_` or `-` (at most 51)', indexPrefix);
  }
  return Object.freeze({
    engine,
    url,
    urlForLogs: redact(url),
    apiKey: engine === 'elasticsearch' ? readSecret(env, 'ELASTICSEARCH_API_KEY') : undefined,
    username: readOptionalString(env, `${prefix}_USERNAME`),
    password: readSecret(env, `${prefix}_PASSWORD`),
    caFile: readReadableFile(env, `${prefix}_CA_FILE`),
    awsRegion: engine === 'opensearch' ? readOptionalString(env, 'OPENSEARCH_AWS_REGION') : undefined,
    indexPrefix,
    retentionDays: readInt(env, 'QBL_RETENTION_DAYS', 400, 1, 36_500),
    bulkMaxDocs: readInt(env, 'QBL_BULK_MAX_DOCS', 2000, 1, 100_000),
    bulkConcurrency: readInt(env, 'QBL_BULK_CONCURRENCY', 2, 1, 32),
  });
}

export function loadConfig(env: Env = process.env): Config {
  const sqlitePath = readString(env, 'SQLITE_PATH', './data/qbl.db');
  return Object.freeze({
    amqp: readAmqp(env),
    topology: readTopology(env),
    intake: readIntake(env),
    correlator: readCorrelator(env),
    decoder: readDecoder(env),
    dialPlan: readDialPlan(env),
    sqlitePath,
    search: readSearch(env),
    http: Object.freeze({
      port: readInt(env, 'QBL_HTTP_PORT', 9464, 0, 65535),
      host: readString(env, 'QBL_HTTP_HOST', '127.0.0.1'),
    }),
    logLevel: readEnum(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    statsIntervalS: readInt(env, 'QBL_STATS_INTERVAL_S', 60, 0, 86_400),
  });
}

