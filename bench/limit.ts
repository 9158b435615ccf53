/**
 * The physical limit: a bare amqplib consumer (prefetch, a multiple-ack every K deliveries,
 * nothing else) draining pre-published messages from a fresh queue of the service's type.
 */
import { performance } from 'node:perf_hooks';
import type { QueueType } from '../src/config/config';
import { type BenchMessage, benchTopology, declare, deleteTopology, openConnection, publishConfirmed, waitForDepth } from './broker';
import { type CpuPerEvent, type CpuSample, cpuPerEvent, findBrokerPid, sampleCpu } from './cpu';

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

export interface LimitResult extends RateResult {
  /** CPU per event over the same interval: the bare consumer's own, and the broker's. */
  readonly cpu: CpuPerEvent;
}

export function rate(messages: number, elapsedMs: number): number {
  return elapsedMs > 0 ? messages / (elapsedMs / 1000) : 0;
}

export async function measureLimit(messages: readonly BenchMessage[], options: LimitOptions): Promise<LimitResult> {
  const topology = benchTopology(options.queueType, 'limit');
  const model = await openConnection('qbl-bench-limit');
  try {
    await declare(model, topology);
    await publishConfirmed(model, topology.exchange, messages);
    await waitForDepth(model, topology.queue, messages.length);
    const channel = await model.createChannel();
    await channel.prefetch(options.prefetch);
    const brokerPid = findBrokerPid();
    let received = 0;
    let firstMs = 0;
    let lastMs = 0;
    let cpuAtFirst: CpuSample | undefined;
    let cpuAtLast: CpuSample | undefined;
    await new Promise<void>((resolve, reject) => {
      channel.on('error', reject);
      channel.consume(topology.queue, (message) => {
        if (message === null) return reject(new Error('consumer cancelled by the broker'));
        if (received === 0) {
          cpuAtFirst = sampleCpu(brokerPid);
          firstMs = performance.now();
        }
        received += 1;
        if (received % options.ackEvery === 0 || received === messages.length) channel.ack(message, true);
        if (received === messages.length) {
          lastMs = performance.now();
          cpuAtLast = sampleCpu(brokerPid);
          resolve();
        }
      }, { noAck: false }).catch(reject);
    });
    await channel.close();
    return {
      messages: received, elapsedMs: lastMs - firstMs, perS: rate(received, lastMs - firstMs),
      cpu: cpuPerEvent(cpuAtFirst!, cpuAtLast!, received),
    };
  } finally {
    await deleteTopology(model, topology);
    await model.close().catch(() => undefined);
  }
}
