/** The bench's own broker work: unique topologies, fast confirmed publishing, clean-up. */
import { randomBytes } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { QueueType, TopologyConfig } from '../src/config/config';
import { DEFAULT_AMQP_URL } from '../src/config/config';
import { checkQueue } from '../consumers/amqp/probe';
import { ConfirmPublisher } from '../consumers/amqp/publisher';
import { declareTopology } from '../consumers/amqp/topology';

export interface BenchMessage {
  readonly routingKey: string;
  readonly body: Buffer;
}

export function amqpUrl(): string {
  return process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
}

export function benchTopology(queueType: QueueType, label: string): TopologyConfig {
  const base = `bench.${label}.${queueType}.${randomBytes(4).toString('hex')}`;
  return {
    exchange: `${base}.x`, queue: `${base}.q`, queueType, bindingKey: '#', deliveryLimit: 10,
    deadLetterExchange: `${base}.dlx`, deadLetterQueue: `${base}.dead`,
  };
}

export async function openConnection(name: string): Promise<ChannelModel> {
  const model = await connect(amqpUrl(), { clientProperties: { connection_name: name } });
  model.on('error', () => undefined);
  return model;
}

export async function declare(model: ChannelModel, topology: TopologyConfig): Promise<void> {
  const channel = await model.createChannel();
  try {
    await declareTopology(channel, topology);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Deletes everything `benchTopology` named; each step on its own channel since a failure closes it. */
export async function deleteTopology(model: ChannelModel, topology: TopologyConfig): Promise<void> {
  const each = async (use: (channel: ConfirmChannel) => Promise<unknown>) => {
    const channel = await model.createConfirmChannel();
    channel.on('error', () => undefined);
    await use(channel).catch(() => undefined);
    await channel.close().catch(() => undefined);
  };
  await each((c) => c.deleteQueue(topology.queue));
  await each((c) => c.deleteQueue(topology.deadLetterQueue));
  await each((c) => c.deleteExchange(topology.exchange));
  await each((c) => c.deleteExchange(topology.deadLetterExchange));
}

/** Messages persisted on the broker (publisher confirms) in windows, with no properties: as OpenSIPS sends them. */
export async function publishConfirmed(model: ChannelModel, exchange: string, messages: readonly BenchMessage[], windowSize = 2000): Promise<void> {
  const publisher = await ConfirmPublisher.on(model, { maxOutstanding: windowSize });
  try {
    for (let i = 0; i < messages.length; i += windowSize) {
      const window = messages.slice(i, i + windowSize).map((message) => publisher.publish(exchange, message.routingKey, message.body));
      const refused = (await Promise.all(window)).filter((outcome) => outcome !== 'confirmed').length;
      if (refused > 0) throw new Error(`${refused} of ${window.length} bench messages not confirmed by the broker`);
    }
  } finally {
    await publisher.close();
  }
}

export async function queueDepth(model: ChannelModel, queue: string): Promise<number> {
  const found = await checkQueue(model, queue);
  if (!found) throw new Error(`queue ${queue} does not exist`);
  return found.ready;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Quorum queues report a confirmed message as ready a moment later: wait until all are. */
export async function waitForDepth(model: ChannelModel, queue: string, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    last = await queueDepth(model, queue);
    if (last >= count) return;
    await delay(50);
  }
  throw new Error(`queue ${queue}: expected ${count} ready messages, last saw ${last}`);
}
