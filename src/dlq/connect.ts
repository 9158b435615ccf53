/** Connection helpers for the dead-letter tools. The connection itself comes from consumers/amqp/connection.ts (connectAmqp). */
import type { ChannelModel } from 'amqplib';

export type AmqpConnection = ChannelModel;

/** Closes and ignores "already closed": clean-up must not hide the error that caused it. */
export async function closeQuietly(closable: { close(): Promise<void> } | undefined): Promise<void> {
  if (!closable) return;
  try {
    await closable.close();
  } catch {
    // already closed
  }
}
