/**
 * Passive questions to the broker about a queue or an exchange, for `qbl status`, `qbl dlq` and
 * the bench. Each asks on a throwaway channel: a name that does not exist (404) closes the
 * channel it was asked on.
 */
import type { Channel, ChannelModel } from 'amqplib';

export interface QueueStatus {
  /** Messages ready for delivery (not counting unacked ones). */
  readonly ready: number;
  readonly consumers: number;
}

/** The queue's depth and consumers, or undefined when no such queue exists. Other failures reject. */
export function checkQueue(connection: ChannelModel, queue: string): Promise<QueueStatus | undefined> {
  return onThrowawayChannel(connection, async (channel) => {
    try {
      const ok = await channel.checkQueue(queue);
      return { ready: ok.messageCount, consumers: ok.consumerCount };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
}

/** The default exchange (`''`) always exists. */
export function exchangeExists(connection: ChannelModel, exchange: string): Promise<boolean> {
  if (exchange === '') return Promise.resolve(true);
  return onThrowawayChannel(connection, async (channel) => {
    try {
      await channel.checkExchange(exchange);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  });
}

/** Runs `ask` on a fresh channel that a broker error (404, 406) may close without harm. */
export async function onThrowawayChannel<T>(connection: ChannelModel, ask: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  // The broker's channel.close for a 404 would otherwise surface as an unhandled 'error' event.
  channel.on('error', () => undefined);
  try {
    return await ask(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 404 || (typeof e?.message === 'string' && e.message.includes('NOT_FOUND'));
}
