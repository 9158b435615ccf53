/**
 * The physical limit: a bare amqplib consumer (prefetch, a multiple-ack every K deliveries,
 * nothing else) draining pre-published messages from a fresh queue of the service's type.
 */
import { performance } from 'node:perf_hooks';
import type { QueueType } from '../src/config/config';
import { type BenchMessage, benchTopology, declare, deleteTopology, openConnection, publishConfirmed, waitForDepth } from './broker';

export interface LimitOptions {
  readonly queueType: QueueType;
  readonly prefetch: number;
  readonly ackEvery: number;
}

export interface RateResult {
  readonly messages: number;
  /** From the first delivery to the last settled one. */
  readonly elapsedMs: number;
  readonly perS: number;
}

export function rate(messages: number, elapsedMs: number): number {
  return elapsedMs > 0 ? messages / (elapsedMs / 1000) : 0;
}

export async function measureLimit(messages: readonly BenchMessage[], options: LimitOptions): Promise<RateResult> {
  const topology = benchTopology(options.queueType, 'limit');
  const model = await openConnection('qbl-bench-limit');
  try {
    await declare(model, topology);
    await publishConfirmed(model, topology.exchange, messages);
    await waitForDepth(model, topology.queue, messages.length);
    const channel = await model.createChannel();
    await channel.prefetch(options.prefetch);
    let received = 0;
    let firstMs = 0;
    let lastMs = 0;
    await new Promise<void>((resolve, reject) => {
      channel.on('error', reject);
      channel.consume(topology.queue, (message) => {
        if (message === null) return reject(new Error('consumer cancelled by the broker'));
        if (received === 0) firstMs = performance.now();
        received += 1;
        if (received % options.ackEvery === 0 || received === messages.length) channel.ack(message, true);
        if (received === messages.length) {
          lastMs = performance.now();
          resolve();
        }
      }, { noAck: false }).catch(reject);
    });
    await channel.close();
    return { messages: received, elapsedMs: lastMs - firstMs, perS: rate(received, lastMs - firstMs) };
  } finally {
    await deleteTopology(model, topology);
    await model.close().catch(() => undefined);
  }
}
