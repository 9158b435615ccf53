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
