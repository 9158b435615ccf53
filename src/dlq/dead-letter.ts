/**
 * Reads what a dead letter says about itself: our `x-qbl-*` headers, or, for messages the
 * broker dead-lettered (delivery limit), its `x-death` history. Pure: no amqplib import.
 */
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { parseUs } from '../../correlators/cdr';

/** Kept on a replayed message so its history survives the removal of `x-qbl-reason`. */
export const LAST_REASON_HEADER = 'x-qbl-last-reason';

/** Reason shown for a message with neither `x-qbl-reason` nor `x-death`. */
export const UNKNOWN_REASON = 'unknown';

export type Headers = Readonly<Record<string, unknown>>;

/** The latest broker dead-lettering, from the first entry of `x-death`. */
export interface BrokerDeath {
  readonly queue?: string;
  readonly reason?: string;
  readonly count: number;
  readonly exchange?: string;
  readonly routingKey?: string;
  readonly timeUs?: number;
}

export interface DeadLetterInfo {
  /** `x-qbl-reason`, else `delivery_limit` when the broker dead-lettered it, else `unknown`. */
  readonly reason: string;
  readonly detail?: string;
  readonly stage?: string;
  /** `x-qbl-failed-at`, else the `x-death` time; undefined when neither is readable. */
  readonly failedAtUs?: number;
  /** Where the message was first published (our headers, else `x-death`). */
  readonly originalExchange?: string;
  readonly originalRoutingKey?: string;
  readonly replayCount: number;
  readonly lastReason?: string;
  readonly death?: BrokerDeath;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/** amqplib decodes numbers as JS numbers and timestamps as `{ '!': 'timestamp', value }`. */
function integer(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  if (value !== null && typeof value === 'object' && 'value' in value) return integer((value as { value: unknown }).value);
  return undefined;
}

function readDeath(value: unknown): BrokerDeath | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const first: unknown = value[0];
  if (first === null || typeof first !== 'object') return undefined;
  const entry = first as Record<string, unknown>;
  const keys = entry['routing-keys'];
  const timeS = integer(entry.time);
  return {
    queue: text(entry.queue),
    reason: text(entry.reason),
    count: integer(entry.count) ?? 1,
    exchange: text(entry.exchange),
    routingKey: Array.isArray(keys) ? text(keys[0]) : undefined,
    timeUs: timeS === undefined ? undefined : timeS * 1_000_000,
  };
}

function parseTime(value: unknown): number | undefined {
  const raw = text(value);
  if (raw === undefined) return undefined;
  const us = parseUs(raw);
  if (us !== null) return us;
  // Tolerate other ISO forms (e.g. millisecond precision) written by older tools.
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : ms * 1000;
}

export function readDeadLetter(headers: Headers | undefined): DeadLetterInfo {
  const h = headers ?? {};
  const death = readDeath(h['x-death']);
  const qblReason = text(h[DEAD_LETTER_HEADERS.reason]);
  const reason = qblReason ?? (death ? 'delivery_limit' : UNKNOWN_REASON);
  return {
    reason,
    detail: text(h[DEAD_LETTER_HEADERS.detail]),
    stage: text(h[DEAD_LETTER_HEADERS.stage]),
    failedAtUs: parseTime(h[DEAD_LETTER_HEADERS.failedAt]) ?? death?.timeUs,
    originalExchange: text(h[DEAD_LETTER_HEADERS.originalExchange]) ?? death?.exchange,
    originalRoutingKey: text(h[DEAD_LETTER_HEADERS.originalRoutingKey]) ?? death?.routingKey,
    replayCount: integer(h[DEAD_LETTER_HEADERS.replayCount]) ?? 0,
    lastReason: text(h[LAST_REASON_HEADER]),
    death,
  };
}
