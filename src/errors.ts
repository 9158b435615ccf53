/**
 * Few error classes, grouped by what the pipeline does next:
 * stop (ConfigError), dead-letter (RejectedMessageError), retry later (StoreUnavailableError).
 */

/** Stable reason codes carried in the `x-qbl-reason` header of dead letters. */
export type DeadLetterReason =
  | 'decode.not_json'
  | 'decode.bad_body'
  | 'decode.bad_text'
  | 'decode.unknown_event'
  | 'decode.no_call_id'
  | 'decode.bad_time'
  | 'decode.bad_field'
  | 'decode.too_large'
  | 'store.rejected'
  | 'process.failed'
  | 'delivery_limit';

export type PipelineStage = 'decode' | 'correlate' | 'store';

/** Invalid configuration: the process stops at once with this one line. */
export class ConfigError extends Error {
  readonly code = 'config.invalid';
  constructor(readonly option: string, expected: string, got?: string) {
    super(`${option}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`);
    this.name = 'ConfigError';
  }
}

/** A message that can never be processed: it goes to the dead-letter queue with this reason. */
export class RejectedMessageError extends Error {
  constructor(readonly code: DeadLetterReason, detail: string, readonly stage: PipelineStage, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'RejectedMessageError';
  }
}

/** The store cannot take writes right now (locked, disk full, cluster down): pause and retry. */
export class StoreUnavailableError extends Error {
  readonly code = 'store.unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
