/**
 * Reads a queue with basic.get and manual acks, bounded by the depth measured at the start so
 * requeued or newly arrived messages cannot make the scan loop forever. Messages the visitor
 * keeps stay unacked until the channel closes, which puts them back in the queue (also when the
 * process dies midway). Trade-off: those messages come back with `redelivered` set (and, on a
 * quorum queue, an incremented `x-delivery-count`).
 */
import type { GetMessage } from 'amqplib';
import { checkQueue } from '../../consumers/amqp/probe';
import { ConfigError } from '../errors';
import { closeQuietly, type AmqpConnection } from './connect';
import { readDeadLetter, type DeadLetterInfo } from './dead-letter';

export type ScanVerdict = 'keep' | 'ack' | 'stop';

export interface ScanResult {
  /** Ready messages when the scan started. */
  readonly depth: number;
  /** Messages read (each passed to the visitor). */
  readonly scanned: number;
}

export interface ScanHooks {
  onStart?(depth: number): void;
  /** Checked before each read: a set signal ends the scan cleanly. */
  signal?: AbortSignal;
}

export interface ScanOptions {
  /** Visits that may be pending at once (a visitor returning a promise); 1 by default. */
  readonly concurrency?: number;
}

export type Visitor = (message: GetMessage, info: DeadLetterInfo) => ScanVerdict | Promise<ScanVerdict>;

export async function scanQueue(connection: AmqpConnection, queue: string, visit: Visitor, hooks: ScanHooks = {}, options: ScanOptions = {}): Promise<ScanResult> {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const channel = await connection.createChannel();
  let failure: unknown;
  channel.on('error', (error: Error) => { failure ??= error; });
  let scanned = 0;
  let depth = 0;
  let stopping = false;
  const pending = new Set<Promise<void>>();
  const apply = (message: GetMessage, verdict: ScanVerdict) => {
    if (verdict === 'ack') channel.ack(message);
    if (verdict === 'stop') stopping = true;
  };
  try {
    const found = await checkQueue(connection, queue);
    if (!found) throw new ConfigError('QBL_DEAD_LETTER_QUEUE', 'an existing queue', queue);
    depth = found.ready;
    hooks.onStart?.(depth);
    while (scanned < depth && !stopping && failure === undefined && !hooks.signal?.aborted) {
      if (pending.size >= concurrency) {
        await Promise.race(pending);
        continue;
      }
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      scanned += 1;
      const verdict = visit(message, readDeadLetter(message.properties.headers));
      if (!(verdict instanceof Promise)) {
        apply(message, verdict);
        continue;
      }
      const settle: Promise<void> = verdict
        .then((v) => apply(message, v))
        .catch((error: unknown) => { failure ??= error; })
        .finally(() => pending.delete(settle));
      pending.add(settle);
    }
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
    return { depth, scanned };
  } finally {
    // Requeues every kept (unacked) message.
    await closeQuietly(channel);
  }
}
