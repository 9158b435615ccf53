/** Which dead letters a command acts on, and what a replayed message looks like. Pure. */
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { LAST_REASON_HEADER, type DeadLetterInfo, type Headers } from './dead-letter';

export type ReasonMatcher = (reason: string) => boolean;

/** `decode.not_json` matches that code only; `decode.*` matches every code starting `decode.`; undefined matches all. */
export function reasonMatcher(pattern: string | undefined): ReasonMatcher {
  if (pattern === undefined) return () => true;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (reason) => reason.startsWith(prefix);
  }
  return (reason) => reason === pattern;
}

export interface ReplayTarget {
  readonly exchange: string;
  readonly routingKey: string;
}

export interface ReplayRules {
  readonly matches: ReasonMatcher;
  /** A message already replayed this many times stays in the dead-letter queue. */
  readonly maxReplays: number;
  /** `--to-exchange` / `--routing-key`: overrides the original destination. */
  readonly target?: ReplayTarget;
}

export type SkipWhy = 'reason' | 'max_replays' | 'no_target';

export type ReplayDecision =
  | { readonly action: 'replay'; readonly target: ReplayTarget }
  | { readonly action: 'skip'; readonly why: SkipWhy };

export function decideReplay(info: DeadLetterInfo, rules: ReplayRules): ReplayDecision {
  if (!rules.matches(info.reason)) return { action: 'skip', why: 'reason' };
  if (info.replayCount >= rules.maxReplays) return { action: 'skip', why: 'max_replays' };
  if (rules.target) return { action: 'replay', target: rules.target };
  if (info.originalExchange === undefined || info.originalRoutingKey === undefined) return { action: 'skip', why: 'no_target' };
  return { action: 'replay', target: { exchange: info.originalExchange, routingKey: info.originalRoutingKey } };
}

/** Failure headers of the last dead-lettering: removed on replay so a new failure writes fresh ones. */
const FAILURE_HEADERS: readonly string[] = [
  DEAD_LETTER_HEADERS.reason, DEAD_LETTER_HEADERS.detail, DEAD_LETTER_HEADERS.stage, DEAD_LETTER_HEADERS.failedAt,
  // Set by a quorum dead-letter queue on redelivery: it counts deliveries from the DLQ, not from the target.
  'x-delivery-count',
];

/**
 * Headers of the replayed message: failure headers removed, replay count incremented, the
 * reason kept as `x-qbl-last-reason`. Everything else (original exchange/key, `x-death`) stays.
 */
export function replayHeaders(headers: Headers | undefined, info: DeadLetterInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (!FAILURE_HEADERS.includes(key)) out[key] = value;
  }
  if (Array.isArray(out['x-death'])) out['x-death'] = out['x-death'].map(typedDeath);
  out[DEAD_LETTER_HEADERS.replayCount] = info.replayCount + 1;
  out[LAST_REASON_HEADER] = info.reason;
  return out;
}

/**
 * amqplib would re-encode a small `count` as a byte; the broker writes and expects a long,
 * so keep that type when `x-death` goes back to it.
 */
function typedDeath(entry: unknown): unknown {
  if (entry === null || typeof entry !== 'object') return entry;
  const record = entry as Record<string, unknown>;
  return typeof record.count === 'number' ? { ...record, count: { '!': 'long', value: record.count } } : record;
}

/** The subset of amqplib message properties a replay carries over. */
export interface MessageProps {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly headers?: Headers;
  readonly deliveryMode?: number;
  readonly priority?: number;
  readonly correlationId?: string;
  readonly replyTo?: string;
  readonly expiration?: string;
  readonly messageId?: string;
  readonly timestamp?: number;
  readonly type?: string;
  readonly userId?: string;
  readonly appId?: string;
}

/**
 * Publish options for the replayed message: same properties, new headers. `userId` is dropped:
 * the broker rejects a user-id that differs from the replaying connection's user.
 */
export function replayProperties(props: MessageProps, info: DeadLetterInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { headers: replayHeaders(props.headers, info), mandatory: true };
  const copy = ['contentType', 'contentEncoding', 'deliveryMode', 'priority', 'correlationId', 'replyTo', 'expiration', 'messageId', 'timestamp', 'type', 'appId'] as const;
  for (const key of copy) {
    if (props[key] !== undefined && props[key] !== null) out[key] = props[key];
  }
  return out;
}
