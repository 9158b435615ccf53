/**
 * The batching, at-least-once consumer of one queue. It puts the parts together:
 *   session.ts      connections, channels, reconnect with backoff
 *   batching.ts     collect deliveries, size/age triggers, multiple-ack
 *   attempts.ts     store retries, poison isolation
 *   dead-letter-sender.ts  confirmed dead letters
 * and is this state machine:
 *
 *   idle ─start()─► connecting ─► connected ◄──► reconnecting
 *                        │             │               │
 *                        └─────────────┴─close()───────┴──► closing ─► closed
 *
 * A batch is acked (one multiple-ack) only after the handler resolved and every dead letter of
 * the batch was confirmed by the broker. Never emits `error`: failures are logged, counted in
 * `stats`, and recovered from. Events: `connected` (first connection and every reconnection),
 * `disconnected` (error), `fatal` (QueueTakenError: an exclusive queue stayed taken by another
 * instance past the grace; the consumer closes itself).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { type BackoffPolicy, validateBackoff } from '../../src/backoff';
import { type DeadLetterReason, QueueTakenError } from '../../src/errors';
import type { BatchHandler, DeadLetterVerdict, Delivery } from '../batch-handler';
import { Attempts } from './attempts';
import { Batcher, type Received, ackBatch } from './batching';
import { oneLine } from './dead-letter';
import { originalRoute } from './headers';
import { type Refused, sendDeadLetters } from './dead-letter-sender';
import {
  type AmqpConfig, DEFAULT_CONNECTION_NAME, DEFAULT_RECONNECT, DEFAULT_STORE_RETRY, type IntakeConfig, type TopologyConfig, validateIntake,
} from './options';
import { Session, type Link } from './session';
import { declareTopology } from './topology';

export interface ConsumerStats {
  /** Deliveries received from the broker (redeliveries included). */
  delivered: number;
  acked: number;
  deadLettered: Partial<Record<DeadLetterReason, number>>;
  /** Batches settled (acked). */
  batches: number;
  /** Handler calls repeated after StoreUnavailableError. */
  retries: number;
  /** Successful reconnections after a lost connection. */
  reconnects: number;
  /** Deliveries dropped unacked because their channel was lost (the broker redelivers them). */
  dropped: number;
  /** Received and not yet settled, on the current connection. */
  unacked: number;
  connected: boolean;
  /** The broker has blocked our connection (resource alarm). */
  blocked: boolean;
  /** Last connection or store error, redacted. */
  lastError?: string;
}

export type ConsumerState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export interface BatchConsumerOptions {
  readonly amqp: AmqpConfig;
  readonly topology: TopologyConfig;
  readonly intake: IntakeConfig;
  readonly handler: BatchHandler;
  readonly logger: Logger;
  readonly reconnect?: BackoffPolicy;
  /** Backoff between retries of a batch whose handler threw StoreUnavailableError. */
  readonly storeRetry?: BackoffPolicy;
  /** Client-provided connection name; `opensips-qbl` unless told. */
  readonly connectionName?: string;
  /** Wall clock in µs for `receivedAtUs` and `x-qbl-failed-at`. */
  readonly nowUs?: () => number;
  readonly random?: () => number;
  /**
   * With `consumers: 'exclusive'`: how long a reconnection keeps trying while the broker refuses
   * the queue as taken — the broker drops our old connection's consumer only once it notices that
   * connection is dead (missed heartbeats). Past it, `fatal` is emitted. Default 2 minutes.
   */
  readonly queueTakenGraceMs?: number;
  /** Declares what this consumer reads from, on each new link; `declareTopology(topology)` unless told. */
  readonly declare?: (connection: ChannelModel) => Promise<void>;
  /**
   * An exclusive lock queue to hold before consuming (a partition's owner queue): `start()` rejects
   * with QueueTakenError while another connection holds it. `exclusive` consumers use `<queue>.lock`.
   */
  readonly lockQueue?: string;
  /** Runs on each new link once the lock is held, before consuming (a partition's new owner restores its calls). */
  readonly beforeConsume?: () => Promise<void>;
  /** Runs at close once the last batch is acked and the consumer cancelled, before the connections (and the lock) go. */
  readonly beforeRelease?: () => Promise<void>;
}

export const DEFAULT_QUEUE_TAKEN_GRACE_MS = 120_000;

/** The exclusive queue whose holder is the one instance consuming `queue` (SQLite store). */
export function lockQueueName(queue: string): string {
  return `${queue}.lock`;
}

/** 403 ACCESS_REFUSED (exclusive consumer) or 405 RESOURCE_LOCKED (exclusive queue): held by another connection. */
function isRefused(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 403 || e?.code === 405 || (typeof e?.message === 'string' && /ACCESS_REFUSED|RESOURCE_LOCKED/.test(e.message));
}

/** What consuming on one link holds: where to cancel it. */
interface Subscription {
  readonly channel: Channel;
  readonly consumerTag: string;
}

const wallUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class BatchConsumer extends EventEmitter {
  readonly stats: ConsumerStats = {
    delivered: 0, acked: 0, deadLettered: {}, batches: 0, retries: 0, reconnects: 0, dropped: 0, unacked: 0,
    connected: false, blocked: false,
  };

  private currentState: ConsumerState = 'idle';
  private subscription?: Subscription;
  private closing?: Promise<void>;
  private readonly closeRequested = new AbortController();
  private readonly session: Session;
  private readonly batcher: Batcher;
  private readonly attempts: Attempts;
  private readonly nowUs: () => number;
  private readonly logger: Logger;
  /** Since when reconnections have found the (exclusive) queue taken. */
  private takenSinceMs: number | undefined;

  constructor(private readonly options: BatchConsumerOptions) {
    super();
    validateIntake(options.intake);
    const reconnect = options.reconnect ?? DEFAULT_RECONNECT;
    const storeRetry = options.storeRetry ?? DEFAULT_STORE_RETRY;
    validateBackoff(reconnect, 'reconnect');
    validateBackoff(storeRetry, 'storeRetry');
    const random = options.random ?? Math.random;
    this.nowUs = options.nowUs ?? wallUs;
    this.logger = options.logger.child({ component: 'amqp-consumer', queue: options.topology.queue });
    this.session = new Session({
      amqp: options.amqp, logger: this.logger, connectionName: options.connectionName ?? DEFAULT_CONNECTION_NAME,
      reconnect, random, signal: this.closeRequested.signal,
      setUp: (link) => this.subscribe(link),
      events: {
        up: (_link, reconnected) => this.onUp(reconnected),
        lost: (link, error) => this.onLost(link, error),
        failed: (error) => this.onFailed(error),
        blocked: (blocked) => { this.stats.blocked = blocked; },
      },
    });
    this.batcher = new Batcher({
      batchSize: options.intake.batchSize,
      batchWaitMs: options.intake.batchWaitMs,
      settle: (batch) => this.settle(batch),
      onSettleError: (error) => this.logger.error({ err: error }, 'batch settlement failed'),
    });
    this.attempts = new Attempts({
      handler: options.handler, retry: storeRetry, random, logger: this.logger, signal: this.closeRequested.signal,
      onStoreRetry: (error) => {
        this.stats.retries++;
        this.stats.lastError = oneLine(error.message);
      },
    });
  }

  get state(): ConsumerState {
    return this.currentState;
  }

  /**
   * Connects, declares the topology and starts consuming. Rejects if this first attempt fails
   * (unreachable broker, bad credentials, a ConfigError for conflicting topology); once started,
   * every later loss is recovered by reconnecting.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'idle') throw new Error(`BatchConsumer.start: already ${this.currentState}`);
    this.currentState = 'connecting';
    try {
      await this.session.start();
    } catch (error) {
      if (!this.closeRequested.signal.aborted) this.currentState = 'closed';
      throw error;
    }
  }

  /** Idempotent: stop intake, let the in-flight batch finish and be acked, close the connections. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // ---- on each new link: declare, then consume ---------------------------------------------

  private async subscribe(link: Link): Promise<void> {
    const { topology, intake } = this.options;
    if (this.options.declare) {
      await this.options.declare(link.connection);
    } else {
      const setup = await link.connection.createChannel();
      await declareTopology(setup, topology);
      await setup.close();
    }
    link.check();
    const exclusive = topology.consumers === 'exclusive';
    if (exclusive || this.options.lockQueue !== undefined) await this.lockQueue(link);
    await this.options.beforeConsume?.();
    link.check();
    const channel = await link.channel('consume');
    await channel.prefetch(intake.prefetch);
    link.check();
    let consumerTag: string;
    try {
      // `exclusive` is what classic queues honour; quorum queues ignore it, hence the lock first.
      ({ consumerTag } = await channel.consume(topology.queue, (message) => this.onMessage(link, channel, message), { noAck: false, exclusive }));
    } catch (error) {
      // 403 ACCESS_REFUSED: another connection holds an exclusive consumer on the queue.
      if (exclusive && isRefused(error)) throw new QueueTakenError(topology.queue);
      throw error;
    }
    this.subscription = { channel, consumerTag };
  }

  /**
   * The single-instance lock: an exclusive queue `<queue>.lock` on the consuming connection. The
   * broker lets one connection at a time declare it (405 RESOURCE_LOCKED for the others) and
   * deletes it when that connection closes or dies, when the broker also requeues that
   * connection's unacked deliveries: holding the lock and consuming end together.
   */
  private async lockQueue(link: Link): Promise<void> {
    const { queue } = this.options.topology;
    const lock = await link.connection.createChannel();
    lock.on('error', () => undefined);
    try {
      await lock.assertQueue(this.options.lockQueue ?? lockQueueName(queue), { exclusive: true, durable: false, autoDelete: false });
    } catch (error) {
      if (isRefused(error)) throw new QueueTakenError(queue);
      throw error;
    }
    await lock.close();
    link.check();
  }

  private onUp(reconnected: boolean): void {
    this.takenSinceMs = undefined;
    if (reconnected) this.stats.reconnects++;
    this.stats.connected = true;
    this.currentState = 'connected';
    this.logger.info({ prefetch: this.options.intake.prefetch, batchSize: this.options.intake.batchSize }, 'consuming');
    this.safeEmit('connected');
  }

  /** A reconnection failed; an exclusive queue refused for longer than the grace is fatal. */
  private onFailed(error: Error): void {
    this.stats.lastError = error.message;
    if (!(error instanceof QueueTakenError)) {
      this.takenSinceMs = undefined;
      return;
    }
    const now = performance.now();
    this.takenSinceMs ??= now;
    if (now - this.takenSinceMs < (this.options.queueTakenGraceMs ?? DEFAULT_QUEUE_TAKEN_GRACE_MS)) return;
    this.logger.error({ queue: this.options.topology.queue }, error.message);
    this.safeEmit('fatal', error);
    void this.close();
  }

  private onLost(link: Link, error: Error): void {
    this.batcher.forget(link);
    this.subscription = undefined;
    this.stats.connected = false;
    this.stats.unacked = 0;
    this.stats.lastError = error.message;
    this.currentState = 'reconnecting';
    this.safeEmit('disconnected', error);
  }

  private async shutDown(): Promise<void> {
    this.closeRequested.abort();
    if (this.currentState === 'idle') {
      this.currentState = 'closed';
      return;
    }
    this.currentState = 'closing';
    // Received but not batched: not processed; the broker redelivers them when the channel closes.
    this.stats.unacked -= this.batcher.stop();
    // The batch in flight is committed and acked before the cancel: with single-active-consumer the
    // cancel hands the queue to a standby at once, and the standby's restore must see that commit.
    await this.batcher.idle();
    const subscription = this.subscription;
    if (subscription && this.session.link?.live) await subscription.channel.cancel(subscription.consumerTag).catch(() => undefined);
    await this.session.settled();
    await this.options.beforeRelease?.();
    await this.session.close();
    this.stats.connected = false;
    this.stats.unacked = 0;
    this.currentState = 'closed';
    this.logger.info({ stats: this.stats }, 'consumer closed');
  }

  // ---- intake ------------------------------------------------------------------------------

  private onMessage(link: Link, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled our consumer (queue deleted, or a quorum leader change): start over.
      link.lose(new Error('consumer cancelled by the broker'));
      return;
    }
    if (link.dead || this.closeRequested.signal.aborted) return; // redelivered later
    const { fields, properties } = message;
    const headers = (properties.headers ?? {}) as Record<string, unknown>;
    // A message qbl migrate-queue moved keeps its first route (stored with the event, used by dead letters).
    const { exchange, routingKey } = originalRoute(fields.exchange, fields.routingKey, headers);
    const delivery: Delivery = {
      body: message.content,
      exchange,
      routingKey,
      headers,
      properties: properties as unknown as Record<string, unknown>,
      redelivered: fields.redelivered,
      receivedAtUs: this.nowUs(),
    };
    this.stats.delivered++;
    this.stats.unacked++;
    this.batcher.add({ delivery, message, link, channel, receivedAtMs: performance.now() });
  }

  // ---- one batch: verdicts → dead letters → ack --------------------------------------------

  private async settle(batch: readonly Received[]): Promise<void> {
    const { link } = batch[0]!;
    const verdicts = await this.attempts.verdicts(batch.map((r) => r.delivery), () => link.dead);
    if (verdicts === undefined || link.dead) {
      this.drop(batch, 'the connection was lost while the batch was processed');
      return;
    }
    const refused: Refused[] = [];
    verdicts.forEach((verdict, index) => {
      if (verdict.action !== 'dead-letter') return;
      const { delivery, message } = batch[index]!;
      refused.push({
        delivery, verdict,
        contentType: message.properties.contentType as string | undefined,
        contentEncoding: message.properties.contentEncoding as string | undefined,
      });
    });
    if (refused.length > 0) {
      try {
        await sendDeadLetters(link.publisher, this.options.topology.deadLetterExchange, refused, this.nowUs());
      } catch (error) {
        // Not acked: the whole link is retired so nothing in this batch can be acked by a later multiple-ack.
        this.logger.error({ err: this.session.redact(error), count: refused.length }, 'dead-letter publish failed; batch left unacked');
        link.lose(error);
        this.drop(batch, 'dead-letter publish failed');
        return;
      }
    }
    if (link.dead) {
      this.drop(batch, 'the connection was lost before the ack');
      return;
    }
    try {
      ackBatch(batch);
    } catch (error) {
      link.lose(error);
      this.drop(batch, 'ack failed');
      return;
    }
    this.counted(batch.length, refused.map((r) => r.verdict));
  }

  private counted(acked: number, deadLetters: readonly DeadLetterVerdict[]): void {
    this.stats.batches++;
    this.stats.acked += acked;
    this.stats.unacked -= acked;
    for (const { reason } of deadLetters) this.stats.deadLettered[reason] = (this.stats.deadLettered[reason] ?? 0) + 1;
  }

  private drop(batch: readonly Received[], why: string): void {
    this.stats.dropped += batch.length;
    this.logger.debug({ count: batch.length, why }, 'batch dropped unacked; the broker will redeliver it');
  }

  /** A throwing listener must not break the consumer's own state machine. */
  private safeEmit(event: 'connected' | 'disconnected' | 'fatal', ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      this.logger.error({ err: error, event }, 'consumer event listener threw');
    }
  }
}
