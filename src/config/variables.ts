/**
 * Every environment variable the service reads, in one declarative table: name, default, meaning
 * and parser. The loader (config.ts, dialplan.ts) reads each value through its row, README's
 * configuration table is generated from it (`npm run readme-config`), and the tests check both.
 * Adding an option: docs/architecture.md, "Adding an option".
 */
import { ConfigError } from '../errors';
import { redact } from '../redact';
import { DEFAULT_EXIT_CODES, EXIT_CODE_PATTERN, WILDCARD_PREFIX_PATTERN, toCountryCode, type CountryCode } from '../numbers/dial-plan';
import { EVENT_MAPPINGS, QBL_ATTRIBUTES, type EventMapping, type QblAttribute } from '../../consumers/decode/options';
import type { QueueType } from '../../consumers/amqp/options';
import { DEFAULT_ACTIONS, DEFAULT_INVALID_CODES, DEFAULT_LIMITS, DEFAULT_POLL_INTERVAL_MS, DEFAULT_RULES, REASONS, type Action, type Reason } from '../lookup/options';
import { type Env, type Parser, type Variable, integer, list, matching, oneOf, pairs, readableFile, text } from './env';

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// ---- parsers of this table's own kinds of values ---------------------------------------------

/** Exchange and queue names. */
const brokerName = matching(/^[A-Za-z0-9_.:-]{1,255}$/, 'a name of letters, digits, `_.:-` (at most 255)');

const amqpUrl: Parser<string> = (value, name) => {
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {
    // not a URL at all: the same error as a wrong scheme
  }
  if (protocol !== 'amqp:' && protocol !== 'amqps:') throw new ConfigError(name, 'an amqp:// or amqps:// URL', redact(value));
  return value;
};

const httpUrl: Parser<string> = (value, name) => {
  if (!/^https?:\/\/[^\s]+$/.test(value)) throw new ConfigError(name, 'an http:// or https:// URL', redact(value));
  return value;
};

const countryCode: Parser<CountryCode> = (value, name) => {
  const code = toCountryCode(value);
  if (code === null) throw new ConfigError(name, 'an ISO 3166 alpha-2 country code such as BR, US, GB', value);
  return code;
};

const eventMap: Parser<ReadonlyArray<readonly [string, EventMapping]>> = (value, name) => pairs(value, name).map(([event, kind]) => {
  if (!(EVENT_MAPPINGS as readonly string[]).includes(kind)) {
    throw new ConfigError(name, `EVENT=KIND pairs with KIND one of ${EVENT_MAPPINGS.join(', ')}`, `${event}=${kind}`);
  }
  return [event, kind as EventMapping] as const;
});

const attributeMap: Parser<ReadonlyArray<readonly [QblAttribute, string]>> = (value, name) => pairs(value, name).map(([ours, theirs]) => {
  if (!(QBL_ATTRIBUTES as readonly string[]).includes(ours)) {
    throw new ConfigError(name, `OURS=THEIRS pairs with OURS one of ${QBL_ATTRIBUTES.join(', ')}`, `${ours}=${theirs}`);
  }
  return [ours as QblAttribute, theirs] as const;
});

const WILDCARD_LIST = 'comma-separated digit strings of 1 to 8 digits, x for any digit';
const NONE: readonly string[] = Object.freeze([]);

/** The number lookup's reason codes, for the lists that say which block and which warn. */
const reasonList = list(new RegExp(`^(?:${REASONS.join('|')})$`), `comma-separated reasons from ${REASONS.join(', ')}, or none`) as Parser<readonly Reason[]>;

const reasonsActing = (action: Action): readonly Reason[] => Object.freeze(REASONS.filter((reason) => DEFAULT_ACTIONS[reason] === action));

/** SIP final codes 300–699; at least one (a rule with no code could never match). */
const sipFinalCodes: Parser<readonly number[]> = (value, name) => {
  const codes = list(/^[3-6]\d\d$/, 'comma-separated SIP final codes from 300 to 699')(value, name);
  if (codes.length === 0) throw new ConfigError(name, 'at least one SIP final code', value);
  return Object.freeze(codes.map(Number));
};

// ---- the table --------------------------------------------------------------------------------

type Row<T> = Omit<Variable<T>, 'name'>;

/** Names each row after its key, so a name is written once. */
function table<R extends Record<string, Row<unknown>>>(rows: R): { readonly [K in keyof R]: R[K] & { readonly name: K & string } } {
  return Object.freeze(Object.fromEntries(Object.entries(rows).map(([name, row]) => [name, Object.freeze({ ...row, name })]))) as never;
}

export const VARIABLES = table({
  AMQP_URL: {
    default: DEFAULT_AMQP_URL, secret: true, parse: amqpUrl,
    meaning: 'the broker; `amqps://` for TLS',
  },
  AMQP_HEARTBEAT_S: {
    shownDefault: '`30`; `10` when `QBL_PARTITIONS` > 1', parse: integer(0, 3600),
    meaning: 'AMQP heartbeat (0: none); the broker drops a silent connection after two missed ones, which is how a cut-off partition owner loses its partitions (docs/scaling.md)',
  },
  AMQP_CA_FILE: { parse: readableFile, meaning: 'PEM CA certificates for an `amqps://` broker' },
  AMQP_CERT_FILE: { parse: readableFile, meaning: 'client certificate (PEM) for `amqps://`' },
  AMQP_KEY_FILE: { parse: readableFile, meaning: 'client key (PEM) for `amqps://`' },
  QBL_EXCHANGE: { default: 'opensips', parse: brokerName, meaning: 'durable topic exchange OpenSIPS publishes to' },
  QBL_QUEUE: { default: 'qbl.events', parse: brokerName, meaning: 'our queue, bound to the exchange with `QBL_BINDING_KEY`' },
  QBL_BINDING_KEY: { default: '#', parse: text, meaning: 'which routing keys of the exchange our queue takes' },
  QBL_QUEUE_TYPE: {
    default: 'quorum' as QueueType, parse: oneOf<QueueType>(['quorum', 'classic']),
    meaning: '`quorum` (durable, replicated) or `classic` for old brokers',
  },
  QBL_DELIVERY_LIMIT: {
    default: 10, parse: integer(1, 1000), meaning: 'deliveries before the broker dead-letters a message that keeps failing (quorum)',
  },
  QBL_DEAD_LETTER_EXCHANGE: {
    shownDefault: '`<queue>.dlx`', parse: brokerName, meaning: 'where unusable messages go, with `x-qbl-reason`',
  },
  QBL_DEAD_LETTER_QUEUE: { shownDefault: '`<queue>.dead`', parse: brokerName, meaning: 'the queue bound to it, read by `qbl dlq`' },
  QBL_PARTITIONS: {
    default: 1, parse: integer(1, 256),
    meaning: 'partitions by call id (search store only): above 1, every instance routes the queue onto `<queue>.p<i>` and owns its share of them (docs/scaling.md)',
  },
  QBL_PREFETCH: { default: 10_000, parse: integer(1, 65535), meaning: 'unacked deliveries in flight' },
  QBL_BATCH_SIZE: {
    default: 5000, parse: integer(1, 65535),
    meaning: 'a batch is committed (one transaction) and acked when it holds this many messages (at most `QBL_PREFETCH`)…',
  },
  QBL_BATCH_WAIT_MS: { default: 10, parse: integer(0, 10_000), meaning: '…or when its oldest message has waited this long' },
  SQLITE_PATH: { default: './data/qbl.db', parse: text, meaning: 'the embedded store' },
  QBL_SQLITE_RETENTION_DAYS: {
    default: 400,
    parse: integer(0, 36_500),
    meaning: 'calls that started longer ago are deleted from the embedded store (CDR and events together, in small steps; '
      + 'open calls never); 0 keeps everything; 400: a disputed bill can come a year later — see [docs/operations.md](docs/operations.md#the-embedded-store-retention-space-backup)',
  },
  QBL_SETUP_TIMEOUT_S: {
    default: 300, parse: integer(1, 86_400), meaning: 'no final reply this long after the INVITE: the call is closed by timeout',
  },
  QBL_MAX_CALL_DURATION_S: { default: 14_400, parse: integer(1, 30 * 86_400), meaning: 'answered and no BYE this long: closed by timeout' },
  QBL_BYE_GRACE_S: { default: 5, parse: integer(0, 3600), meaning: 'how long to wait for a BYE\'s reply (and reordered stragglers)' },
  QBL_SWEEP_INTERVAL_MS: { default: 1000, parse: integer(10, 60_000), meaning: 'how often deadlines are checked' },
  QBL_MAX_CLOCK_SKEW_S: {
    default: 300, parse: integer(0, 86_400), meaning: 'events further ahead of the wall clock do not advance the event clock',
  },
  QBL_EVENT_MAP: {
    parse: eventMap,
    meaning: 'extra event names, `NAME=kind` pairs (`invite_request`, `invite_reply`, `bye_request`, `bye_reply`, `acc_cdr`, '
      + '`acc_event`, `acc_missed`, or `auto`: kind from `method` and `reply_code`)',
  },
  QBL_ATTRIBUTE_MAP: { parse: attributeMap, meaning: 'renamed attributes, `ours=theirs` pairs (`call_id=callid`, …)' },
  QBL_MAX_BODY_BYTES: { default: 65_536, parse: integer(1024, 16 * 1024 * 1024), meaning: 'larger bodies are dead-lettered unread' },
  QBL_ACC_TOLERANCE_MS: {
    default: 1000, parse: integer(0, 3_600_000), meaning: 'acc and quick-billing-log talk times further apart than this are flagged',
  },
  LOG_LEVEL: { default: 'info' as (typeof LOG_LEVELS)[number], parse: oneOf(LOG_LEVELS), meaning: 'pino level' },
  QBL_STATS_INTERVAL_S: { default: 60, parse: integer(0, 86_400), meaning: 'one stats line every so often (0: never)' },
  QBL_HTTP_PORT: { default: 9464, parse: integer(0, 65535), meaning: '`/metrics`, `/healthz`, `/readyz` (0 disables)' },
  QBL_HTTP_HOST: { default: '127.0.0.1', parse: text, meaning: 'the address they listen on' },
  QBL_DEFAULT_COUNTRY: {
    parse: countryCode, meaning: 'ISO country for national numbers (`BR`, `US`…); without it they stay un-normalised',
  },
  QBL_EXIT_CODES: {
    default: DEFAULT_EXIT_CODES, parse: list(EXIT_CODE_PATTERN, 'comma-separated digit strings of 1 to 6 digits (e.g. 00,011), or none'),
    meaning: 'international exit prefixes (`none`: no exit prefix)',
  },
  QBL_CARRIER_PREFIXES: {
    default: NONE, parse: list(WILDCARD_PREFIX_PATTERN, `${WILDCARD_LIST} (e.g. 12,14,15,21,41), or none`),
    meaning: 'carrier-selection codes dialled after the trunk or exit prefix (see [docs/opensips.md](docs/opensips.md))',
  },
  QBL_STRIP_PREFIXES: {
    default: NONE, parse: list(WILDCARD_PREFIX_PATTERN, `${WILDCARD_LIST} (e.g. 9 or 010xx), or none`),
    meaning: 'outside-line prefixes stripped first (a PBX\'s `9`, `010xx`)',
  },
  QBL_LOOKUP_PORT: {
    default: 0, parse: integer(0, 65535),
    meaning: 'the real-time number lookup `GET /v1/numbers/{number}` for OpenSIPS (`0`: off) — see [docs/lookup.md](docs/lookup.md)',
  },
  QBL_LOOKUP_HOST: { default: '127.0.0.1', parse: text, meaning: 'the address the lookup listens on' },
  QBL_LOOKUP_BLOCK_REASONS: {
    default: reasonsActing('block'), parse: reasonList,
    meaning: 'reasons that make the lookup\'s verdict `block` (`none`: no reason blocks)',
  },
  QBL_LOOKUP_WARN_REASONS: {
    default: reasonsActing('warn'), parse: reasonList,
    meaning: 'reasons that make it `warn`, none of them in `QBL_LOOKUP_BLOCK_REASONS` (a reason in neither list is not reported)',
  },
  QBL_LOOKUP_INVALID_CALLS: {
    default: DEFAULT_RULES.invalidCalls, parse: integer(1, 16),
    meaning: '`invalid_number`: the last this many calls to the number all ended with one of…',
  },
  QBL_LOOKUP_INVALID_CODES: { default: DEFAULT_INVALID_CODES, parse: sipFinalCodes, meaning: '…these SIP final codes…' },
  QBL_LOOKUP_WINDOW_DAYS: {
    default: DEFAULT_RULES.windowDays, parse: integer(1, 31),
    meaning: '…within this many days (also the window of the figures an answer shows)',
  },
  QBL_LOOKUP_BURST_CALLS: {
    default: DEFAULT_RULES.burstCalls, parse: integer(2, 200),
    meaning: '`fraud_burst`: more than this many calls from one caller to one destination prefix…',
  },
  QBL_LOOKUP_BURST_WINDOW_S: { default: DEFAULT_RULES.burstWindowS, parse: integer(10, 86_400), meaning: '…within this many seconds…' },
  QBL_LOOKUP_BURST_PREFIX_DIGITS: {
    default: DEFAULT_RULES.burstPrefixDigits, parse: integer(1, 15), meaning: '…the prefix being the destination\'s first this many digits…',
  },
  QBL_LOOKUP_BURST_SHORT_S: {
    default: DEFAULT_RULES.burstShortS, parse: integer(0, 3600),
    meaning: '…and most of the calls unanswered or answered for less than this many seconds',
  },
  QBL_LOOKUP_MAX_NUMBERS: {
    default: DEFAULT_LIMITS.maxNumbers, parse: integer(1000, 50_000_000),
    meaning: 'memory bound: destination numbers whose figures are held (least recently called dropped first)',
  },
  QBL_LOOKUP_MAX_PAIRS: {
    default: DEFAULT_LIMITS.maxPairs, parse: integer(1000, 50_000_000),
    meaning: 'memory bound: (caller, destination prefix) pairs held for `fraud_burst`',
  },
  QBL_LOOKUP_POLL_S: {
    default: DEFAULT_POLL_INTERVAL_MS / 1000, parse: integer(1, 60),
    meaning: 'how often the block list (and, with Elasticsearch/OpenSearch, every instance\'s CDRs) is read from the store',
  },
  ELASTICSEARCH_URL: {
    parse: httpUrl,
    meaning: 'write CDRs and raw events to Elasticsearch 8.x/9.x too — see [docs/elasticsearch.md](docs/elasticsearch.md)',
  },
  ELASTICSEARCH_API_KEY: { secret: true, parse: text, meaning: 'Elasticsearch API key (else username and password)' },
  ELASTICSEARCH_USERNAME: { parse: text, meaning: 'Elasticsearch user' },
  ELASTICSEARCH_PASSWORD: { secret: true, parse: text, meaning: 'Elasticsearch password' },
  ELASTICSEARCH_CA_FILE: { parse: readableFile, meaning: 'PEM CA for an https cluster with a private CA' },
  OPENSEARCH_URL: {
    parse: httpUrl,
    meaning: 'the same for OpenSearch 2.x/3.x — see [docs/opensearch.md](docs/opensearch.md)',
  },
  OPENSEARCH_USERNAME: { parse: text, meaning: 'OpenSearch user' },
  OPENSEARCH_PASSWORD: { secret: true, parse: text, meaning: 'OpenSearch password' },
  OPENSEARCH_CA_FILE: { parse: readableFile, meaning: 'PEM CA for an https cluster with a private CA' },
  OPENSEARCH_AWS_REGION: { parse: text, meaning: 'signs requests (SigV4) for Amazon OpenSearch Service in this region' },
  QBL_INDEX_PREFIX: {
    default: 'qbl', parse: matching(/^[a-z0-9][a-z0-9_-]{0,50}$/, 'lower-case letters, digits, `_` or `-` (at most 51)'),
    meaning: 'index, template and policy names (`qbl-cdrs-2026.11`, `qbl-events-2026.11`)',
  },
  QBL_RETENTION_DAYS: { default: 400, parse: integer(1, 36_500), meaning: 'the lifecycle policy keeps documents this many days' },
  QBL_CALLS_RETENTION_DAYS: {
    default: 30, parse: integer(0, 36_500),
    meaning: 'documents of closed calls in `<prefix>-calls` not written for this many days are deleted (open calls never; '
      + 'a later event reads the call\'s history from the events index instead); 0 keeps them — see [docs/scaling.md](docs/scaling.md#retention-of-the-calls-index)',
  },
  QBL_BULK_MAX_DOCS: { default: 2000, parse: integer(1, 100_000), meaning: 'documents per bulk request' },
  QBL_BULK_CONCURRENCY: { default: 2, parse: integer(1, 32), meaning: 'bulk requests in flight' },
});

export type VariableName = keyof typeof VARIABLES;

/** Variables that once meant something and no longer do: set, they earn a warning at start, not an error. */
export const RETIRED_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  QBL_BULK_FLUSH_MS: 'a batch\'s documents are sent at once (the batch is acked only after they are written); remove it',
});

/** The retired variables set in `env`, with what to do about each. */
export function retiredVariablesSet(env: Env): Array<{ readonly variable: string; readonly why: string }> {
  return Object.entries(RETIRED_VARIABLES)
    .filter(([name]) => (env[name] ?? '').trim() !== '')
    .map(([variable, why]) => ({ variable, why }));
}

/**
 * `QBL_*` variables set in `env` that mean nothing to us (a typo, or one from another version),
 * each with the known name closest to it when one is close: `qbl start` warns about them, since
 * a misspelt option silently left at its default is the kind of mistake found only on the bill.
 */
export function unknownVariablesSet(env: Env): Array<{ readonly variable: string; readonly closest?: string }> {
  const known = new Set<string>([...Object.keys(VARIABLES), ...Object.keys(RETIRED_VARIABLES)]);
  for (const variable of Object.values(VARIABLES) as Array<Variable<unknown>>) if (variable.secret) known.add(`${variable.name}_FILE`);
  return Object.keys(env)
    .filter((name) => name.startsWith('QBL_') && !known.has(name))
    .sort()
    .map((variable) => {
      const closest = closestName(variable, Object.keys(VARIABLES));
      return closest === undefined ? { variable } : { variable, closest };
    });
}

/** The name at the smallest edit distance, if it is at most 3 edits away. */
function closestName(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** README's configuration table, one row per variable, in table order. */
export function variablesMarkdown(): string {
  const rows = Object.values(VARIABLES).map((variable: Variable<unknown>) => {
    const name = variable.secret ? `\`${variable.name}\` (or \`${variable.name}_FILE\`)` : `\`${variable.name}\``;
    return `| ${name} | ${shownDefault(variable)} | ${variable.meaning} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function shownDefault(variable: Variable<unknown>): string {
  if (variable.shownDefault !== undefined) return variable.shownDefault;
  const value = variable.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '—';
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}
