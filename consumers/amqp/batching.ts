/**
 * Batching: deliveries are collected and handed on in batches, one batch at a time. A batch is
 * due when it holds `batchSize` deliveries or its oldest has waited `batchWaitMs`; one timer
 * covers the wait. A batch holds deliveries of one channel only. Settling a batch ends with one
 * multiple-ack up to its last delivery tag.
 */
import { performance } from 'node:perf_hooks';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Delivery } from '../batch-handler';
import type { Link } from './session';

/** A delivery as received, with what acking it and dead-lettering it need. */
export interface Received {
  readonly delivery: Delivery;
  readonly message: ConsumeMessage;
  readonly link: Link;
  /** The channel it came on: the only one that can ack it. */
  readonly channel: Channel;
  readonly receivedAtMs: number;
}

export interface BatcherOptions {
  readonly batchSize: number;
  readonly batchWaitMs: number;
  /** Settles one batch (handler, dead letters, ack). Never called again before it resolves. */
  readonly settle: (batch: readonly Received[]) => Promise<void>;
  /** `settle` rejected: a bug, since settling handles its own failures. */
  readonly onSettleError: (error: unknown) => void;
}

export class Batcher {
  private pending: Received[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: BatcherOptions) {}

  /** Received and not yet in a batch. */
  get waiting(): number {
    return this.pending.length;
  }

  add(received: Received): void {
    if (this.stopped) return;
    this.pending.push(received);
    this.kick();
  }

  /** Forgets the waiting deliveries of a lost link (the broker redelivers them); returns how many. */
  forget(link: Link): number {
    const before = this.pending.length;
    this.pending = this.pending.filter((r) => r.link !== link);
    if (this.pending.length === 0) this.clearTimer();
    return before - this.pending.length;
  }

  /** No batch starts after this; the waiting deliveries are forgotten (returns how many). The one in flight goes on. */
  stop(): number {
    this.stopped = true;
    this.clearTimer();
    const forgotten = this.pending.length;
    this.pending = [];
    return forgotten;
  }

  /** Resolves once the batch in flight (if any) has settled. */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  /** Starts the next batch if one is due and none is in flight; else arms the one batch timer. */
  private kick(): void {
    if (this.inFlight || this.stopped || this.pending.length === 0) return;
    const { batchSize, batchWaitMs } = this.options;
    const waitedMs = performance.now() - this.pending[0]!.receivedAtMs;
    if (this.pending.length < batchSize && waitedMs < batchWaitMs) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, Math.max(0, Math.ceil(batchWaitMs - waitedMs)));
      return;
    }
    this.clearTimer();
    const batch = this.pending.splice(0, sameChannelRun(this.pending, batchSize));
    this.inFlight = this.options.settle(batch)
      .catch(this.options.onSettleError)
      .finally(() => {
        this.inFlight = undefined;
        this.kick();
      });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * How many of the first deliveries form one batch: at most `limit`, all from the first one's
 * channel. A multiple-ack acks every earlier tag of its channel, so a batch that mixed channels
 * (a link lost while opening leaves its deliveries behind, a new link brings others) could be
 * dropped as a whole and a later batch's ack would then take the new link's unprocessed ones.
 */
export function sameChannelRun(pending: readonly Received[], limit: number): number {
  const channel = pending[0]?.channel;
  let count = 0;
  while (count < limit && count < pending.length && pending[count]!.channel === channel) count++;
  return count;
}

/** One multiple-ack up to the batch's last delivery: batches are sequential and from one channel, so every earlier tag of it is already settled. */
export function ackBatch(batch: readonly Received[]): void {
  const last = batch[batch.length - 1]!;
  last.channel.ack(last.message, true);
}
