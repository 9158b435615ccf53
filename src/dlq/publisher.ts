/**
 * Publishes on a confirm channel with `mandatory`, so "confirmed" means the broker routed the
 * message to at least one queue. Several publishes may be in flight (a confirm from a durable
 * queue waits for a disk sync, so one at a time would be slow); a basic.return is matched to its
 * publish by exchange, routing key and body, and two identical messages are never in flight
 * together, which keeps that match unambiguous without adding a header.
 */
import { createHash } from 'node:crypto';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { closeQuietly, type AmqpConnection } from './connect';

export type PublishOutcome = 'confirmed' | 'unroutable' | 'nacked';

interface Pending {
  returned: boolean;
  readonly settled: Promise<unknown>;
}

function keyOf(exchange: string, routingKey: string, body: Buffer): string {
  return createHash('sha1').update(`${exchange.length}:${exchange}\n${routingKey.length}:${routingKey}\n`).update(body).digest('hex');
}

export class ReplayPublisher {
  private closedError: Error | undefined;
  private readonly inFlight = new Map<string, Pending>();
  private readonly exchanges = new Map<string, Promise<boolean>>();

  private constructor(private readonly connection: AmqpConnection, private readonly channel: ConfirmChannel) {
    // The broker sends basic.return before the ack of the same publish.
    channel.on('return', (message: Message) => {
      const pending = this.inFlight.get(keyOf(message.fields.exchange, message.fields.routingKey, message.content));
      if (pending) pending.returned = true;
    });
    channel.on('error', (error: Error) => { this.closedError = error; });
    channel.on('close', () => { this.closedError ??= new Error('replay channel closed'); });
  }

  static async open(connection: AmqpConnection): Promise<ReplayPublisher> {
    return new ReplayPublisher(connection, await connection.createConfirmChannel());
  }

  /** Checked on a throwaway channel: a missing exchange closes the channel it is asked on. */
  exchangeExists(name: string): Promise<boolean> {
    if (name === '') return Promise.resolve(true); // the default exchange always exists
    let known = this.exchanges.get(name);
    if (!known) {
      known = this.probeExchange(name);
      this.exchanges.set(name, known);
    }
    return known;
  }

  private async probeExchange(name: string): Promise<boolean> {
    const probe = await this.connection.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkExchange(name);
      return true;
    } catch {
      return false;
    } finally {
      await closeQuietly(probe);
    }
  }

  /** Resolves once the broker confirmed (or nacked) this message; rejects if the channel is gone. */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<PublishOutcome> {
    const key = keyOf(exchange, routingKey, body);
    for (let same = this.inFlight.get(key); same; same = this.inFlight.get(key)) await same.settled.catch(() => undefined);
    if (this.closedError) throw this.closedError;
    let pending!: Pending;
    const acked = new Promise<boolean>((resolve, reject) => {
      try {
        this.channel.publish(exchange, routingKey, body, { ...options, mandatory: true }, (error: unknown) => {
          // amqplib fails every pending confirm with 'channel closed' when the channel goes.
          if (!error) resolve(true);
          else if ((error as Error).message === 'message nacked') resolve(false);
          else reject(this.closedError ?? error);
        });
      } catch (error) {
        reject(error);
      }
    });
    pending = { returned: false, settled: acked };
    this.inFlight.set(key, pending);
    try {
      if (!(await acked)) return 'nacked';
      return pending.returned ? 'unroutable' : 'confirmed';
    } finally {
      this.inFlight.delete(key);
    }
  }

  async close(): Promise<void> {
    await closeQuietly(this.channel);
  }
}
