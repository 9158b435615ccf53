/** Helpers for integration tests against the real RabbitMQ: unique names, temporary topology, clean-up. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import pino, { type Logger } from 'pino';
import { checkQueue } from '../../consumers/amqp/probe';
import type { AmqpConfig, IntakeConfig, QueueType, TopologyConfig } from '../../consumers/amqp/options';

const run = promisify(execFile);

export const RABBIT_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function uniqueName(prefix: string): string {
  return `test.${prefix}.${randomBytes(5).toString('hex')}`;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function testAmqpConfig(overrides: Partial<AmqpConfig> = {}): AmqpConfig {
  return { url: RABBIT_URL, urlForLogs: RABBIT_URL.replace(/:[^:@/]*@/, ':***@'), heartbeatS: 30, ...overrides };
}

export function testTopology(queueType: QueueType, overrides: Partial<TopologyConfig> = {}): TopologyConfig {
  const base = uniqueName(queueType);
  return {
    exchange: `${base}.x`,
    queue: `${base}.q`,
    queueType,
    bindingKey: '#',
    deliveryLimit: 10,
    deadLetterExchange: `${base}.dlx`,
    deadLetterQueue: `${base}.dead`,
    ...overrides,
  };
}

export function testIntake(overrides: Partial<IntakeConfig> = {}): IntakeConfig {
  return { prefetch: 100, batchSize: 10, batchWaitMs: 20, ...overrides };
}

/**
 * One admin connection per test file: inspects and deletes what tests declared. Every failing
 * broker call closes a channel, so each operation uses a fresh one.
 */
export class RabbitAdmin {
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  private constructor(readonly model: ChannelModel) {}

  static async open(): Promise<RabbitAdmin> {
    const model = await connect(RABBIT_URL, { clientProperties: { connection_name: 'qbl-test-admin' } });
    model.on('error', () => undefined);
    return new RabbitAdmin(model);
  }

  /** Remembers a topology (or single queues and exchanges) so cleanup() deletes it. */
  track(t: Partial<TopologyConfig>): void {
    for (const queue of [t.queue, t.deadLetterQueue]) if (queue !== undefined) this.queues.add(queue);
    for (const exchange of [t.exchange, t.deadLetterExchange]) if (exchange !== undefined) this.exchanges.add(exchange);
  }

  async withChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.model.createChannel();
    channel.on('error', () => undefined);
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async depth(queue: string): Promise<number> {
    const found = await checkQueue(this.model, queue);
    if (!found) throw new Error(`queue ${queue} does not exist`);
    return found.ready;
  }

  /** Polls the ready count until it equals `count`; throws with the last value after `timeoutMs`. */
  async waitForDepth(queue: string, count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      last = await this.depth(queue);
      if (last === count) return;
      await delay(50);
    }
    throw new Error(`queue ${queue}: expected ${count} ready messages, last saw ${last}`);
  }

  /** Takes every ready message off a queue (acked). */
  async drain(queue: string): Promise<GetMessage[]> {
    return this.withChannel(async (ch) => {
      const out: GetMessage[] = [];
      for (;;) {
        const message = await ch.get(queue, { noAck: true });
        if (message === false) return out;
        out.push(message);
      }
    });
  }

  async publish(exchange: string, routingKey: string, bodies: readonly Buffer[], options?: Parameters<Channel['publish']>[3]): Promise<void> {
    const channel = await this.model.createConfirmChannel();
    channel.on('error', () => undefined);
    try {
      for (const body of bodies) channel.publish(exchange, routingKey, body, options);
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async cleanup(): Promise<void> {
    for (const queue of this.queues) await this.withChannel((ch) => ch.deleteQueue(queue)).catch(() => undefined);
    for (const exchange of this.exchanges) await this.withChannel((ch) => ch.deleteExchange(exchange)).catch(() => undefined);
    this.queues.clear();
    this.exchanges.clear();
  }

  async close(): Promise<void> {
    await this.cleanup();
    await this.model.close().catch(() => undefined);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 20 ms; throws `what` after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await delay(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Server-side close of every connection whose client-provided name is `connectionName`, as an operator would. */
export async function closeConnectionByName(connectionName: string): Promise<number> {
  // The tabular listing prints pids in the form close_connection accepts (the JSON one does not).
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q']);
  const pids = stdout.split('\n')
    .filter((line) => line.includes(`{"connection_name","${connectionName}"}`))
    .map((line) => line.split('\t')[0]);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test: forced close']);
  return pids.length;
}

/** Publishes a stream on its own connection and one confirm channel (fast, and untouched by what a test does to other connections). */
export async function publishAll(exchange: string, messages: ReadonlyArray<{ routingKey: string; body: Buffer }>): Promise<void> {
  const model = await connect(RABBIT_URL);
  try {
    const channel = await model.createConfirmChannel();
    for (const m of messages) channel.publish(exchange, m.routingKey, m.body);
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await model.close();
  }
}
