/**
 * The batching, at-least-once consumer: deliveries are handed to the handler in batches, one batch
 * at a time, and acked (one multiple-ack) only after the handler resolved and every dead letter
 * of the batch was confirmed by the broker. Only this file talks to the consuming channel.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { ConfigError, type DeadLetterReason, StoreUnavailableError } from '../../src/errors';
import type { BatchHandler, DeadLetterVerdict, Delivery, Verdict } from '../batch-handler';
import { type BackoffPolicy, backoffDelayMs, validateBackoff } from '../../src/backoff';
import { redact } from '../../src/redact';
import { connectAmqp } from './connection';
import { buildDeadLetter, oneLine } from './dead-letter';
import {
  type AmqpConfig, DEFAULT_CONNECTION_NAME, DEFAULT_RECONNECT, DEFAULT_STORE_RETRY, type IntakeConfig, type TopologyConfig, validateIntake,
} from './options';
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
}

type SessionState = 'opening' | 'live' | 'dead';

/** The consuming connection and the dead-letter publishing one, replaced together on any failure. */
interface Session {
  readonly id: number;
  readonly model: ChannelModel;
  /**
   * Dead letters go out on their own connection: under a resource alarm the broker blocks
   * connections that publish, and a blocked consuming connection could not ack either.
   */
  publisherModel?: ChannelModel;
  state: SessionState;
  channel?: Channel;
  confirm?: ConfirmChannel;
  consumerTag?: string;
}

interface Received {
  readonly delivery: Delivery;
  readonly message: ConsumeMessage;
  readonly session: Session;
  readonly receivedAtMs: number;
}

type Attempt =
  | { readonly kind: 'ok'; readonly verdicts: readonly Verdict[] }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'abandoned' };

const noop = (): void => undefined;
const wallUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * Events: `connected` (first connection and every reconnection), `disconnected` (error).
 * Never emits `error`: failures are logged, counted in `stats`, and recovered from.
 */
export class BatchConsumer extends EventEmitter {
  readonly stats: ConsumerStats = {
    delivered: 0, acked: 0, deadLettered: {}, batches: 0, retries: 0, reconnects: 0, dropped: 0, unacked: 0,
    connected: false, blocked: false,
  };

  private currentState: ConsumerState = 'idle';
  private session?: Session;
  private sessionCount = 0;
  private pending: Received[] = [];
  private batchTimer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private startTask?: Promise<void>;
  private reconnectTask?: Promise<void>;
  private closing?: Promise<void>;
  private closeRequested = false;
  private storePaused = false;
  private readonly sleepers = new Set<() => void>();
  private readonly reconnectPolicy: BackoffPolicy;
  private readonly storePolicy: BackoffPolicy;
  private readonly nowUs: () => number;
  private readonly random: () => number;
  private readonly logger: Logger;

  constructor(private readonly options: BatchConsumerOptions) {
    super();
    validateIntake(options.intake);
    this.reconnectPolicy = options.reconnect ?? DEFAULT_RECONNECT;
    this.storePolicy = options.storeRetry ?? DEFAULT_STORE_RETRY;
    validateBackoff(this.reconnectPolicy, 'reconnect');
    validateBackoff(this.storePolicy, 'storeRetry');
    this.nowUs = options.nowUs ?? wallUs;
    this.random = options.random ?? Math.random;
    this.logger = options.logger.child({ component: 'amqp-consumer', queue: options.topology.queue });
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
    this.startTask = this.openSession();
    try {
      await this.startTask;
    } catch (error) {
      if (!this.closeRequested) this.currentState = 'closed';
      throw error;
    }
  }

  /** Idempotent: stop intake, let the in-flight batch finish and be acked, close the connection. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  // ---- connection lifecycle -------------------------------------------------------------

  private async openSession(): Promise<void> {
    const { amqp, topology, intake } = this.options;
    const connectionName = this.options.connectionName ?? DEFAULT_CONNECTION_NAME;
    const model = await connectAmqp(amqp, this.logger, { connectionName });
    const session: Session = { id: ++this.sessionCount, model, state: 'opening' };
    this.watch(session, model, 'connection closed');
    try {
      this.checkOpening(session);
      const setup = await model.createChannel();
      await declareTopology(setup, topology);
      await setup.close();
      this.checkOpening(session);

      const channel = await model.createChannel();
      session.channel = channel;
      channel.on('error', (error: Error) => this.logger.warn({ err: this.redact(error) }, 'consume channel error'));
      channel.on('close', () => this.lose(session, new Error('consume channel closed')));
      await channel.prefetch(intake.prefetch);

      const publisherModel = await connectAmqp(amqp, this.logger, { connectionName: `${connectionName}-dead-letters` });
      session.publisherModel = publisherModel;
      this.watch(session, publisherModel, 'dead-letter connection closed');
      this.checkOpening(session);
      const confirm = await publisherModel.createConfirmChannel();
      session.confirm = confirm;
      confirm.on('error', (error: Error) => this.logger.warn({ err: this.redact(error) }, 'dead-letter channel error'));
      confirm.on('close', () => this.lose(session, new Error('dead-letter channel closed')));
      this.checkOpening(session);

      const { consumerTag } = await channel.consume(topology.queue, (message) => this.onMessage(session, message), { noAck: false });
      session.consumerTag = consumerTag;
      this.checkOpening(session);
    } catch (error) {
      session.state = 'dead';
      await model.close().catch(noop);
      await session.publisherModel?.close().catch(noop);
      if (this.closeRequested) return;
      throw error instanceof ConfigError ? error : this.redact(error);
    }
    session.state = 'live';
    this.session = session;
    this.stats.connected = true;
    this.currentState = 'connected';
    this.logger.info({ prefetch: intake.prefetch, batchSize: intake.batchSize }, 'consuming');
    this.safeEmit('connected');
  }

  private watch(session: Session, model: ChannelModel, closed: string): void {
    model.on('close', (error?: Error) => this.lose(session, error ?? new Error(closed)));
    model.on('blocked', (reason: string) => {
      this.stats.blocked = true;
      this.logger.warn({ reason }, 'broker blocked a connection (resource alarm)');
    });
    model.on('unblocked', () => {
      this.stats.blocked = false;
      this.logger.info('broker unblocked the connection');
    });
  }

  /** Re-checked after every await of the set-up: a close() or a lost connection ends it. */
  private checkOpening(session: Session): void {
    if (this.closeRequested) throw new Error('consumer closed');
    if (isDead(session)) throw new Error('connection lost while setting up');
  }

  /** Any failure of the connection or of one of its channels retires the whole session. */
  private lose(session: Session, error: unknown): void {
    if (isDead(session)) return;
    const wasLive = session.state === 'live';
    session.state = 'dead';
    // Closing the connection returns every unacked delivery to the queue.
    session.model.close().catch(noop);
    session.publisherModel?.close().catch(noop);
    if (!wasLive) return;
    if (this.session === session) this.session = undefined;
    this.pending = this.pending.filter((r) => r.session !== session);
    this.clearBatchTimer();
    this.stats.connected = false;
    this.stats.unacked = 0;
    if (this.closeRequested) return;
    const redacted = this.redact(error);
    this.stats.lastError = redacted.message;
    this.logger.warn({ err: redacted }, 'AMQP connection lost; unacked deliveries will be redelivered, reconnecting');
    this.safeEmit('disconnected', redacted);
    this.ensureReconnecting();
  }

  private ensureReconnecting(): void {
    if (this.reconnectTask || this.closeRequested) return;
    this.currentState = 'reconnecting';
    this.reconnectTask = this.reconnectLoop()
      .catch((error: unknown) => this.logger.error({ err: this.redact(error) }, 'reconnect loop failed'))
      .finally(() => {
        this.reconnectTask = undefined;
      });
  }

  private async reconnectLoop(): Promise<void> {
    for (let attempt = 1; !this.closeRequested; attempt++) {
      await this.sleep(backoffDelayMs(attempt, this.reconnectPolicy, this.random()));
      if (this.closeRequested) return;
      try {
        await this.openSession();
        if (this.closeRequested) return;
        this.stats.reconnects++;
        this.logger.info({ attempts: attempt }, 'AMQP reconnected');
        return;
      } catch (error) {
        const redacted = this.redact(error);
        this.stats.lastError = redacted.message;
        // One warning when reconnecting starts failing, then quiet retries; a topology conflict stays loud.
        if (error instanceof ConfigError) this.logger.error({ err: redacted }, 'topology conflict; retrying with backoff');
        else if (attempt === 1) this.logger.warn({ err: redacted }, 'AMQP reconnect failed; retrying with backoff');
        else this.logger.debug({ err: redacted, attempt }, 'AMQP reconnect failed');
      }
    }
  }

  private async doClose(): Promise<void> {
    this.closeRequested = true;
    if (this.currentState === 'idle') {
      this.currentState = 'closed';
      return;
    }
    this.currentState = 'closing';
    for (const wake of [...this.sleepers]) wake();
    this.clearBatchTimer();
    const live = this.session;
    if (live?.channel && live.consumerTag && live.state === 'live') {
      await live.channel.cancel(live.consumerTag).catch(noop);
    }
    // Received but not batched: not processed; the broker redelivers them when the channel closes.
    this.stats.unacked -= this.pending.length;
    this.pending = [];
    await this.startTask?.catch(noop);
    await this.reconnectTask;
    await this.inFlight;
    const session = this.session;
    if (session) {
      this.session = undefined;
      session.state = 'dead';
      await session.channel?.close().catch(noop);
      await session.confirm?.close().catch(noop);
      await session.model.close().catch(noop);
      await session.publisherModel?.close().catch(noop);
    }
    this.stats.connected = false;
    this.stats.unacked = 0;
    this.currentState = 'closed';
    this.logger.info({ stats: this.stats }, 'consumer closed');
  }

  // ---- intake and batching -------------------------------------------------------------

  private onMessage(session: Session, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled our consumer (queue deleted, or a quorum leader change): start over.
      this.lose(session, new Error('consumer cancelled by the broker'));
      return;
    }
    if (isDead(session) || this.closeRequested) return; // redelivered later
    const { fields, properties } = message;
    const delivery: Delivery = {
      body: message.content,
      exchange: fields.exchange,
      routingKey: fields.routingKey,
      headers: (properties.headers ?? {}) as Record<string, unknown>,
      redelivered: fields.redelivered,
      receivedAtUs: this.nowUs(),
    };
    this.stats.delivered++;
    this.stats.unacked++;
    this.pending.push({ delivery, message, session, receivedAtMs: performance.now() });
    this.kick();
  }

  /** Starts the next batch if one is due and none is in flight; else arms the one batch timer. */
  private kick(): void {
    if (this.inFlight || this.closeRequested || this.pending.length === 0) return;
    const { batchSize, batchWaitMs } = this.options.intake;
    const waitedMs = performance.now() - this.pending[0].receivedAtMs;
    if (this.pending.length < batchSize && waitedMs < batchWaitMs) {
      if (!this.batchTimer) {
        this.batchTimer = setTimeout(() => {
          this.batchTimer = undefined;
          this.kick();
        }, Math.max(0, Math.ceil(batchWaitMs - waitedMs)));
      }
      return;
    }
    this.clearBatchTimer();
    const batch = this.pending.splice(0, batchSize);
    this.inFlight = this.runBatch(batch)
      .catch((error: unknown) => this.logger.error({ err: error }, 'batch settlement failed'))
      .finally(() => {
        this.inFlight = undefined;
        this.kick();
      });
  }

  private clearBatchTimer(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
  }

  // ---- processing and settlement -------------------------------------------------------

  private async runBatch(batch: readonly Received[]): Promise<void> {
    const session = batch[0].session;
    const verdicts = await this.decide(batch.map((r) => r.delivery), session);
    if (verdicts === undefined || isDead(session)) {
      this.drop(batch, 'the connection was lost while the batch was processed');
      return;
    }
    const deadLetters = verdicts
      .map((verdict, index) => ({ verdict, received: batch[index] }))
      .filter((x): x is { verdict: DeadLetterVerdict; received: Received } => x.verdict.action === 'dead-letter');
    if (deadLetters.length > 0) {
      try {
        await this.publishDeadLetters(session, deadLetters);
      } catch (error) {
        // Not acked: the whole session is retired so nothing in this batch can be acked by a later multiple-ack.
        this.logger.error({ err: this.redact(error), count: deadLetters.length }, 'dead-letter publish failed; batch left unacked');
        this.lose(session, error);
        this.drop(batch, 'dead-letter publish failed');
        return;
      }
    }
    if (isDead(session) || !session.channel) {
      this.drop(batch, 'the connection was lost before the ack');
      return;
    }
    try {
      // One multiple-ack: batches are sequential, so every earlier tag is already settled.
      session.channel.ack(batch[batch.length - 1].message, true);
    } catch (error) {
      this.lose(session, error);
      this.drop(batch, 'ack failed');
      return;
    }
    this.stats.batches++;
    this.stats.acked += batch.length;
    this.stats.unacked -= batch.length;
    for (const { verdict } of deadLetters) {
      this.stats.deadLettered[verdict.reason] = (this.stats.deadLettered[verdict.reason] ?? 0) + 1;
    }
  }

  private drop(batch: readonly Received[], why: string): void {
    this.stats.dropped += batch.length;
    this.logger.debug({ count: batch.length, why }, 'batch dropped unacked; the broker will redeliver it');
  }

  private async publishDeadLetters(
    session: Session,
    deadLetters: ReadonlyArray<{ verdict: DeadLetterVerdict; received: Received }>,
  ): Promise<void> {
    const confirm = session.confirm;
    if (!confirm || isDead(session)) throw new Error('dead-letter channel is gone');
    const { deadLetterExchange } = this.options.topology;
    const failedAtUs = this.nowUs();
    // mandatory: a dead letter no queue takes is returned (then confirmed): it must not let the original be acked.
    let returned = 0;
    const onReturn = (): void => {
      returned++;
    };
    confirm.on('return', onReturn);
    try {
      this.publishEach(confirm, deadLetterExchange, deadLetters, failedAtUs);
      await confirm.waitForConfirms();
    } finally {
      confirm.removeListener('return', onReturn);
    }
    if (returned > 0) {
      throw new Error(`${returned} dead letter(s) unroutable: no queue bound to exchange "${deadLetterExchange}" (reconnecting re-declares it)`);
    }
  }

  private publishEach(
    confirm: ConfirmChannel,
    deadLetterExchange: string,
    deadLetters: ReadonlyArray<{ verdict: DeadLetterVerdict; received: Received }>,
    failedAtUs: number,
  ): void {
    for (const { verdict, received } of deadLetters) {
      const { delivery, message } = received;
      const source = {
        body: delivery.body,
        exchange: delivery.exchange,
        routingKey: delivery.routingKey,
        headers: delivery.headers,
        contentType: message.properties.contentType as string | undefined,
        contentEncoding: message.properties.contentEncoding as string | undefined,
      };
      let letter = buildDeadLetter(source, verdict, failedAtUs);
      try {
        confirm.publish(deadLetterExchange, letter.routingKey, letter.body, { ...letter.options, mandatory: true });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        // Original headers too large to re-encode (> 64 KiB): keep the body, drop them, say so.
        letter = buildDeadLetter({ ...source, headers: {} },
          { ...verdict, detail: `${verdict.detail} (original headers dropped: too large)` }, failedAtUs);
        confirm.publish(deadLetterExchange, letter.routingKey, letter.body, { ...letter.options, mandatory: true });
      }
    }
  }

  /** The handler's verdicts, or undefined when the batch must be abandoned (connection lost, closing). */
  private async decide(deliveries: readonly Delivery[], session: Session): Promise<readonly Verdict[] | undefined> {
    const first = await this.attempt(deliveries, session);
    if (first.kind === 'ok') return first.verdicts;
    if (first.kind === 'abandoned') return undefined;
    if (deliveries.length === 1) return [processFailed(first.error)];
    this.logger.error({ err: first.error, batchSize: deliveries.length },
      'batch handler failed; re-running the batch one message at a time to isolate the poison message');
    const verdicts: Verdict[] = [];
    for (const delivery of deliveries) {
      const one = await this.attempt([delivery], session);
      if (one.kind === 'abandoned') return undefined;
      verdicts.push(one.kind === 'ok' ? one.verdicts[0] : processFailed(one.error));
    }
    return verdicts;
  }

  /** Calls the handler; repeats it while it throws StoreUnavailableError (intake is paused by prefetch meanwhile). */
  private async attempt(deliveries: readonly Delivery[], session: Session): Promise<Attempt> {
    for (let retry = 1; ; retry++) {
      try {
        const verdicts = await this.options.handler(deliveries);
        checkVerdicts(verdicts, deliveries.length);
        if (this.storePaused) {
          this.storePaused = false;
          this.logger.info({ retries: retry - 1 }, 'store available again; intake resumed');
        }
        return { kind: 'ok', verdicts };
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) return { kind: 'failed', error };
        this.stats.lastError = oneLine(error.message);
        if (!this.storePaused) {
          this.storePaused = true;
          this.logger.warn({ err: error }, 'store unavailable; intake paused, retrying the same batch with backoff');
        }
        if (isDead(session) || this.closeRequested) return { kind: 'abandoned' };
        this.stats.retries++;
        await this.sleep(backoffDelayMs(retry, this.storePolicy, this.random()));
        if (isDead(session) || this.closeRequested) return { kind: 'abandoned' };
      }
    }
  }

  /** A timer close() can cut short. */
  private sleep(ms: number): Promise<void> {
    if (this.closeRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** A throwing listener must not break the consumer's own state machine. */
  private safeEmit(event: 'connected' | 'disconnected', ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      this.logger.error({ err: error, event }, 'consumer event listener threw');
    }
  }

  private redact(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    const redacted = new Error(redact(message, { urls: [this.options.amqp.url] }));
    redacted.name = error instanceof Error ? error.name : 'Error';
    return redacted;
  }
}

function checkVerdicts(verdicts: readonly Verdict[], expected: number): void {
  if (!Array.isArray(verdicts) || verdicts.length !== expected) {
    throw new Error(`handler returned ${Array.isArray(verdicts) ? verdicts.length : typeof verdicts} verdicts for ${expected} deliveries`);
  }
  for (const verdict of verdicts) {
    const valid = verdict?.action === 'ack' || (verdict?.action === 'dead-letter' && typeof verdict.reason === 'string'
      && typeof verdict.detail === 'string' && typeof verdict.stage === 'string');
    // A malformed verdict is a handler bug: caught here, it goes through poison isolation instead of failing the publish.
    if (!valid) throw new Error(`handler returned an invalid verdict: ${oneLine(JSON.stringify(verdict) ?? String(verdict), 200)}`);
  }
}

function processFailed(error: unknown): Verdict {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { action: 'dead-letter', reason: 'process.failed', detail: oneLine(message), stage: 'correlate' };
}

/** A function, not an inline comparison: the state changes behind awaits, where TypeScript's narrowing is wrong. */
function isDead(session: Session): boolean {
  return session.state === 'dead';
}
