/** The AMQP source's options: the broker connection, what it declares, and how it batches intake. */
import type { BackoffPolicy } from '../../src/backoff';

export type QueueType = 'quorum' | 'classic';

export interface AmqpConfig {
  /** Full URL including credentials: never log it, log `urlForLogs`. */
  readonly url: string;
  readonly urlForLogs: string;
  readonly heartbeatS: number;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface TopologyConfig {
  readonly exchange: string;
  readonly queue: string;
  readonly queueType: QueueType;
  readonly bindingKey: string;
  /** Deliveries of one message before the broker dead-letters it (quorum queues only). */
  readonly deliveryLimit: number;
  readonly deadLetterExchange: string;
  readonly deadLetterQueue: string;
  /**
   * Who may consume the main queue at once (docs/scaling.md):
   * - `exclusive`: one instance, an exclusive consumer; a second one is refused (the SQLite store);
   * - `single-active`: any number, the queue's `x-single-active-consumer` makes one active and the
   *   others hot standbys (the search store);
   * - `competing` (or absent): competing consumers — the routers of QBL_PARTITIONS > 1, tests and tools.
   */
  readonly consumers?: ConsumerMode;
}

export type ConsumerMode = 'exclusive' | 'single-active' | 'competing';

export interface IntakeConfig {
  readonly prefetch: number;
  /** A batch is committed when it holds this many messages… */
  readonly batchSize: number;
  /** …or when its oldest message has waited this long. */
  readonly batchWaitMs: number;
}

/** Client-provided connection name (`rabbitmqctl list_connections client_properties`) unless told. */
export const DEFAULT_CONNECTION_NAME = 'opensips-qbl';
export const DEFAULT_RECONNECT: BackoffPolicy = Object.freeze({ initialMs: 200, maxMs: 30_000 });
export const DEFAULT_STORE_RETRY: BackoffPolicy = Object.freeze({ initialMs: 250, maxMs: 30_000 });

/** For callers that build IntakeConfig themselves (tests, the bench); loadConfig checks the same with env names. */
export function validateIntake(intake: IntakeConfig): void {
  if (!Number.isInteger(intake.prefetch) || intake.prefetch < 1) throw new RangeError('intake.prefetch: expected an integer ≥ 1');
  if (!Number.isInteger(intake.batchSize) || intake.batchSize < 1 || intake.batchSize > intake.prefetch) {
    throw new RangeError('intake.batchSize: expected an integer from 1 to intake.prefetch');
  }
  if (!Number.isFinite(intake.batchWaitMs) || intake.batchWaitMs < 0) throw new RangeError('intake.batchWaitMs: expected ≥ 0');
}
