/** Headers the service sets on a dead letter (the body is never changed). */
export const DEAD_LETTER_HEADERS = Object.freeze({
  /** Stable code, e.g. `decode.not_json` (see DeadLetterReason). */
  reason: 'x-qbl-reason',
  /** One human-readable line. */
  detail: 'x-qbl-detail',
  /** `decode`, `correlate` or `store`. */
  stage: 'x-qbl-stage',
  /** RFC 3339 time of the failure. */
  failedAt: 'x-qbl-failed-at',
  originalExchange: 'x-qbl-original-exchange',
  originalRoutingKey: 'x-qbl-original-routing-key',
  /** How many times `qbl dlq replay` has put this message back. */
  replayCount: 'x-qbl-replay-count',
});

export interface Route {
  readonly exchange: string;
  readonly routingKey: string;
}

/** The end of the name of the exchange the router republishes to (`<queue>.partitions`, QBL_PARTITIONS > 1). */
export const PARTITIONS_EXCHANGE_SUFFIX = '.partitions';

/**
 * Where a message was first published. A message moved straight into a queue (through the
 * default exchange: `qbl migrate-queue`, a replay to the queue) or republished by the router to
 * a partition (`<queue>.partitions`) carries its first route in `x-qbl-original-exchange` /
 * `x-qbl-original-routing-key`; any other delivery's route is the broker's own (a header there is
 * a previous hop's, not to be trusted over what the broker saw).
 */
export function originalRoute(exchange: string, routingKey: string, headers: Readonly<Record<string, unknown>> | undefined): Route {
  const moved = exchange === '' || exchange.endsWith(PARTITIONS_EXCHANGE_SUFFIX);
  if (!moved || headers === undefined) return { exchange, routingKey };
  const firstExchange = headers[DEAD_LETTER_HEADERS.originalExchange];
  const firstKey = headers[DEAD_LETTER_HEADERS.originalRoutingKey];
  return typeof firstExchange === 'string' && typeof firstKey === 'string' ? { exchange: firstExchange, routingKey: firstKey } : { exchange, routingKey };
}
