/**
 * Few error classes, grouped by what the pipeline does next: stop (ConfigError) or retry later
 * (StoreUnavailableError). A message that can never be processed is not an exception: the
 * decoder and the store return a verdict with a DeadLetterReason, and it is dead-lettered.
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

/**
 * Invalid configuration: the process stops at once with this one line,
 * `OPTION: expected EXPECTED, got "GOT (REASON)"`. Callers read the fields, never the message.
 */
export class ConfigError extends Error {
  readonly code = 'config.invalid';
  constructor(
    /** The environment variable (or flag) to change. */
    readonly option: string,
    /** What a valid value looks like. */
    readonly expected: string,
    /** The value found (redacted when it may hold a secret). */
    readonly got?: string,
    /** Why the value is not usable when `expected` alone does not say it, e.g. `ENOENT`, `no such file`. */
    readonly reason?: string,
  ) {
    const found = got === undefined ? undefined : reason === undefined ? got : `${got} (${reason})`;
    super(`${option}: expected ${expected}${found === undefined ? '' : `, got ${JSON.stringify(found)}`}`);
    this.name = 'ConfigError';
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

/**
 * Another consumer holds the queue exclusively (the broker answered ACCESS_REFUSED to our
 * exclusive basic.consume): with the SQLite store a second instance must not consume at all.
 */
export class QueueTakenError extends Error {
  readonly code = 'queue.taken';
  constructor(readonly queue: string) {
    super(`queue "${queue}" is taken: another instance consumes it, and the SQLite store is single-instance; `
      + 'run one instance per queue and SQLite file, or, for several instances, use the search store '
      + '(ELASTICSEARCH_URL or OPENSEARCH_URL: hot standbys; docs/scaling.md)');
    this.name = 'QueueTakenError';
  }
}

/** `qbl start`'s exit code when the queue is taken (EX_TEMPFAIL: it may work once the holder is gone). */
export const EXIT_QUEUE_TAKEN = 75;
