/**
 * The physical limits: a bare amqplib consumer (prefetch, a multiple-ack every K deliveries,
 * nothing else) draining pre-published messages from a fresh queue of the service's type; and
 * the durable bare consumer, the least any consumer that acks only what it stored must do: it
 * parses each body, appends it to a file, and writes and fsyncs each batch of K before its
 * multiple-ack (one batch written at a time, in delivery order).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { QueueType } from '../src/config/config';
import { type BenchMessage, benchTopology, declare, deleteTopology, openConnection, publishConfirmed, waitForDepth } from './broker';
import { type CpuPerEvent, type CpuSample, cpuPerEvent, findBrokerPid, sampleCpu } from './cpu';

export interface LimitOptions {
  readonly queueType: QueueType;
  readonly prefetch: number;
  readonly ackEvery: number;
  /** The durable bare consumer: parse, append to a file, write + fsync each batch before its ack. */
  readonly durable?: boolean;
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
  /** Durable consumer only: batches written and fsynced (0 for the plain one). */
  readonly fsyncs: number;
}

export function rate(messages: number, elapsedMs: number): number {
  return elapsedMs > 0 ? messages / (elapsedMs / 1000) : 0;
}

const NEWLINE = Buffer.from('\n');

/** What a consumer does with each delivery; `done` once the last one is settled. */
interface Settler {
  onDelivery(message: ConsumeMessage, received: number, last: boolean, done: () => void, fail: (error: unknown) => void): void;
  readonly fsyncs: number;
}

function ackOnly(channel: Channel, ackEvery: number): Settler {
  return {
    fsyncs: 0,
    onDelivery(message, received, last, done) {
      if (received % ackEvery === 0 || last) channel.ack(message, true);
      if (last) done();
    },
  };
}

function durableAppend(channel: Channel, ackEvery: number, file: FileHandle): Settler {
  let chunk: Buffer[] = [];
  let writing: Promise<void> = Promise.resolve();
  const settler = {
    fsyncs: 0,
    onDelivery(message: ConsumeMessage, received: number, last: boolean, done: () => void, fail: (error: unknown) => void) {
      JSON.parse(message.content.toString('utf8'));
      chunk.push(message.content, NEWLINE);
      if (received % ackEvery !== 0 && !last) return;
      const data = Buffer.concat(chunk);
      chunk = [];
      writing = writing.then(async () => {
        await file.write(data);
        await file.sync();
        settler.fsyncs += 1;
        channel.ack(message, true);
        if (last) done();
      }).catch(fail);
    },
  };
  return settler;
}

export async function measureLimit(messages: readonly BenchMessage[], options: LimitOptions): Promise<LimitResult> {
  const topology = benchTopology(options.queueType, options.durable ? 'durable' : 'limit');
  const model = await openConnection(options.durable ? 'qbl-bench-durable' : 'qbl-bench-limit');
  const dir = options.durable ? mkdtempSync(join(tmpdir(), 'qbl-bench-durable-')) : null;
  const file = dir === null ? null : await open(join(dir, 'events.ndjson'), 'a');
  try {
    await declare(model, topology);
    await publishConfirmed(model, topology.exchange, messages);
    await waitForDepth(model, topology.queue, messages.length);
    const channel = await model.createChannel();
    await channel.prefetch(options.prefetch);
    const settler = file === null ? ackOnly(channel, options.ackEvery) : durableAppend(channel, options.ackEvery, file);
    const brokerPid = findBrokerPid();
    let received = 0;
    let firstMs = 0;
    let lastMs = 0;
    let cpuAtFirst: CpuSample | undefined;
    let cpuAtLast: CpuSample | undefined;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        lastMs = performance.now();
        cpuAtLast = sampleCpu(brokerPid);
        resolve();
      };
      channel.on('error', reject);
      channel.consume(topology.queue, (message) => {
        if (message === null) return reject(new Error('consumer cancelled by the broker'));
        if (received === 0) {
          cpuAtFirst = sampleCpu(brokerPid);
          firstMs = performance.now();
        }
        received += 1;
        settler.onDelivery(message, received, received === messages.length, done, reject);
      }, { noAck: false }).catch(reject);
    });
    await channel.close();
    return {
      messages: received, elapsedMs: lastMs - firstMs, perS: rate(received, lastMs - firstMs),
      cpu: cpuPerEvent(cpuAtFirst!, cpuAtLast!, received), fsyncs: settler.fsyncs,
    };
  } finally {
    await file?.close();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    await deleteTopology(model, topology);
    await model.close().catch(() => undefined);
  }
}
