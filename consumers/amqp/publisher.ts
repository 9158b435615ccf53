/**
 * A publisher that resolves each publish on the broker's confirm, with a bound on outstanding
 * confirms so a fast producer waits instead of buffering without limit. No reconnection: it
 * serves tools (simulator, DLQ replay, benchmark, tests) that fail and are re-run.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConfig } from './options';
import { type ConnectOptions, connectAmqp, redactError } from './connection';

export interface PublisherOptions extends ConnectOptions {
  /** Publishes awaiting a confirm before `publish` waits; 1000 unless told. */
  readonly maxOutstanding?: number;
}

export class ConfirmPublisher {
  private outstanding = 0;
  private readonly waiters: Array<() => void> = [];
  private closedError?: Error;
  private closing?: Promise<void>;

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly amqp: AmqpConfig,
    private readonly maxOutstanding: number,
  ) {
    const onClosed = (error?: Error): void => {
      this.closedError ??= error ? redactError(error, amqp, 'AMQP publisher closed') : new Error('publisher closed');
      // Wake waiters so they fail instead of hanging.
      for (const wake of this.waiters.splice(0)) wake();
    };
    channel.on('error', (error: Error) => onClosed(error));
    channel.on('close', () => onClosed());
    model.on('close', (error?: Error) => onClosed(error));
  }

  static async open(amqp: AmqpConfig, logger: Logger, options: PublisherOptions = {}): Promise<ConfirmPublisher> {
    const maxOutstanding = options.maxOutstanding ?? 1000;
    if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1) throw new RangeError('maxOutstanding: expected an integer ≥ 1');
    const model = await connectAmqp(amqp, logger, { connectionName: 'opensips-qbl-publisher', ...options });
    try {
      const channel = await model.createConfirmChannel();
      return new ConfirmPublisher(model, channel, amqp, maxOutstanding);
    } catch (error) {
      await model.close().catch(() => undefined);
      throw redactError(error, amqp, 'AMQP publisher channel failed');
    }
  }

  /** Publishes confirms outstanding right now. */
  get pending(): number {
    return this.outstanding;
  }

  /**
   * Resolves when the broker confirms the message; rejects on a nack or a closed channel.
   * Without `options` the message carries no properties at all, exactly like OpenSIPS.
   */
  async publish(exchange: string, routingKey: string, body: Buffer, options?: Options.Publish): Promise<void> {
    while (this.outstanding >= this.maxOutstanding && !this.closedError) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closedError) throw this.closedError;
    this.outstanding++;
    try {
      await new Promise<void>((resolve, reject) => {
        this.channel.publish(exchange, routingKey, body, options, (error: unknown) => {
          if (error) reject(error instanceof Error ? redactError(error, this.amqp, 'publish not confirmed') : new Error('publish nacked by the broker'));
          else resolve();
        });
      });
    } finally {
      this.outstanding--;
      this.waiters.shift()?.();
    }
  }

  /** Idempotent: waits for outstanding confirms, then closes the channel and the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.closedError) await this.channel.waitForConfirms().catch(() => undefined);
      this.closedError ??= new Error('publisher closed');
      for (const wake of this.waiters.splice(0)) wake();
      await this.channel.close().catch(() => undefined);
      await this.model.close().catch(() => undefined);
    })();
    return this.closing;
  }
}
