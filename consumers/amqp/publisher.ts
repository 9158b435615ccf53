/**
 * The one confirming publisher: every message the service or its tools publish (dead letters,
 * `qbl dlq replay`, the simulator, the bench and tests) goes through it.
 * - Each publish resolves on the broker's answer: `confirmed`, `nacked`, or — with `mandatory` —
 *   `unroutable` when no queue took it (the broker returns it, then confirms it).
 * - A basic.return carries no delivery tag: it is matched to its publish by content id (exchange,
 *   routing key, body), and two identical mandatory messages are never in flight together, which
 *   keeps that match unambiguous without adding a header.
 * - At most `maxOutstanding` publishes await a confirm; a fast producer waits instead of
 *   buffering without limit (backpressure).
 * - `close()` is idempotent: it waits for outstanding confirms, then closes the channel (and the
 *   connection when the publisher opened it).
 * No reconnection: a closed channel fails every pending and later publish; the owner decides.
 */
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { Logger } from 'pino';
import { type ConnectOptions, connectAmqp, redactError } from './connection';
import { contentId } from './content-id';
import type { AmqpConfig } from './options';

export type PublishOutcome = 'confirmed' | 'unroutable' | 'nacked';

export interface PublisherOptions {
  /** Publishes awaiting a confirm before `publish` waits; 1000 unless told. */
  readonly maxOutstanding?: number;
  /** Told once when the channel (or the publisher's own connection) closes, with the error if it failed. */
  readonly onClosed?: (error?: Error) => void;
  /** The broker URL whose credentials must not appear in an error; set by `open`. */
  readonly amqp?: Pick<AmqpConfig, 'url'>;
}

interface Returnable {
  /** Set by the basic.return, which the broker sends before the confirm. */
  returned: boolean;
  /** Resolves when this publish is over (never rejects). */
  readonly settled: Promise<void>;
}

const DEFAULT_MAX_OUTSTANDING = 1000;
const NACKED = 'message nacked'; // amqplib's error for a basic.nack

export class ConfirmPublisher {
  private outstanding = 0;
  private readonly waiters: Array<() => void> = [];
  /** Mandatory publishes awaiting their confirm, by content id. */
  private readonly returnable = new Map<string, Returnable>();
  private closedError?: Error;
  private closing?: Promise<void>;

  private constructor(
    private readonly channel: ConfirmChannel,
    /** Closed by close() when the publisher opened it. */
    private readonly ownConnection: ChannelModel | undefined,
    private readonly options: PublisherOptions,
    private readonly maxOutstanding: number,
  ) {
    // The broker sends basic.return before the ack of the same publish.
    channel.on('return', (message: Message) => {
      const pending = this.returnable.get(contentId(message.fields.exchange, message.fields.routingKey, message.content));
      if (pending) pending.returned = true;
    });
    channel.on('error', (error: Error) => this.closed(error));
    channel.on('close', () => this.closed());
    ownConnection?.on('close', (error?: Error) => this.closed(error));
  }

  /** On a connection of its own (tools that publish and exit). */
  static async open(amqp: AmqpConfig, logger: Logger, options: PublisherOptions & ConnectOptions = {}): Promise<ConfirmPublisher> {
    const maxOutstanding = checkMaxOutstanding(options.maxOutstanding);
    const connection = await connectAmqp(amqp, logger, { connectionName: 'opensips-qbl-publisher', ...options });
    try {
      return new ConfirmPublisher(await connection.createConfirmChannel(), connection, { ...options, amqp }, maxOutstanding);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw redactError(error, amqp, 'AMQP publisher channel failed');
    }
  }

  /** On a channel of its own over a connection the caller owns (and closes). */
  static async on(connection: ChannelModel, options: PublisherOptions = {}): Promise<ConfirmPublisher> {
    const maxOutstanding = checkMaxOutstanding(options.maxOutstanding);
    return new ConfirmPublisher(await connection.createConfirmChannel(), undefined, options, maxOutstanding);
  }

  /** Publishes awaiting a confirm right now. */
  get pending(): number {
    return this.outstanding;
  }

  /**
   * Resolves with the broker's answer; rejects when the channel is gone, or synchronously-failing
   * input (e.g. a RangeError for headers too large to encode). Without `options` the message
   * carries no properties at all, exactly like OpenSIPS.
   */
  async publish(exchange: string, routingKey: string, body: Buffer, options?: Options.Publish): Promise<PublishOutcome> {
    if (!options?.mandatory) return this.send(exchange, routingKey, body, options);
    const key = contentId(exchange, routingKey, body);
    for (let same = this.returnable.get(key); same; same = this.returnable.get(key)) await same.settled;
    // Registered before any other await, so an identical publish arriving meanwhile waits for this one.
    let settle!: () => void;
    const pending: Returnable = { returned: false, settled: new Promise<void>((resolve) => { settle = resolve; }) };
    this.returnable.set(key, pending);
    try {
      const outcome = await this.send(exchange, routingKey, body, options);
      return outcome === 'confirmed' && pending.returned ? 'unroutable' : outcome;
    } finally {
      this.returnable.delete(key);
      settle();
    }
  }

  private async send(exchange: string, routingKey: string, body: Buffer, options?: Options.Publish): Promise<PublishOutcome> {
    while (this.outstanding >= this.maxOutstanding && !this.closedError) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closedError) throw this.closedError;
    this.outstanding++;
    try {
      const acked = await new Promise<boolean>((resolve, reject) => {
        try {
          this.channel.publish(exchange, routingKey, body, options, (error: unknown) => {
            if (!error) resolve(true);
            else if ((error as Error).message === NACKED) resolve(false);
            // amqplib fails every pending confirm when the channel goes.
            else reject(this.closedError ?? this.redact(error, 'publish not confirmed'));
          });
        } catch (error) {
          reject(error);
        }
      });
      return acked ? 'confirmed' : 'nacked';
    } finally {
      this.outstanding--;
      this.waiters.shift()?.();
    }
  }

  /** Idempotent: waits for outstanding confirms, then closes the channel and the connection it opened. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.closedError) await this.channel.waitForConfirms().catch(() => undefined);
      this.closed();
      await this.channel.close().catch(() => undefined);
      await this.ownConnection?.close().catch(() => undefined);
    })();
    return this.closing;
  }

  private closed(error?: Error): void {
    if (this.closedError) return;
    this.closedError = error ? this.redact(error, 'AMQP publisher closed') : new Error('publisher closed');
    // Wake waiters so they fail instead of hanging.
    for (const wake of this.waiters.splice(0)) wake();
    if (!this.closing) this.options.onClosed?.(error === undefined ? undefined : this.closedError);
  }

  private redact(error: unknown, context: string): Error {
    return this.options.amqp ? redactError(error, this.options.amqp, context) : error instanceof Error ? error : new Error(String(error));
  }
}

function checkMaxOutstanding(value = DEFAULT_MAX_OUTSTANDING): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError('maxOutstanding: expected an integer ≥ 1');
  return value;
}
