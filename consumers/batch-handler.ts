/**
 * The contract between a source and the pipeline: the source hands over batches of deliveries and
 * gets back one verdict per delivery. Both sides import this file; neither imports the other.
 */
import type { DeadLetterReason, PipelineStage } from '../src/errors';

export interface Delivery {
  readonly body: Buffer;
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The message's AMQP properties as received (the router republishes them unchanged). */
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly redelivered: boolean;
  readonly receivedAtUs: number;
}

export type Verdict =
  | { readonly action: 'ack' }
  | { readonly action: 'dead-letter'; readonly reason: DeadLetterReason; readonly detail: string; readonly stage: PipelineStage };

export type DeadLetterVerdict = Extract<Verdict, { action: 'dead-letter' }>;

/** One verdict per delivery, same order. Throw StoreUnavailableError to have the same batch retried. */
export type BatchHandler = (batch: readonly Delivery[]) => Promise<readonly Verdict[]>;
